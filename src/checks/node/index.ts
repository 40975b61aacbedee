/** The node-scoped diagnosis checks (they evaluate the probe report of each affected node). */
import type { CheckDefinition } from '../types.js';
import { check as nodeCniConfig } from './node-cni-config.js';
import { check as nodeCniPlugins } from './node-cni-plugins.js';
import { check as nodeDevices } from './node-devices.js';
import { check as nodeIpam } from './node-ipam.js';
import { check as nodeNetns } from './node-netns.js';
import { check as nodeSubnetEnv } from './node-subnet-env.js';

export const NODE_CHECKS: readonly CheckDefinition[] = [
  nodeCniConfig,
  nodeCniPlugins,
  nodeDevices,
  nodeSubnetEnv,
  nodeIpam,
  nodeNetns,
];
