/** The API checks (scope 'api' in CHECK_IDS), in catalog order. */
import type { CheckDefinition } from '../types.js';
import { check as flannelDaemonSet } from './flannel-daemonset.js';
import { check as flannelPods } from './flannel-pods.js';
import { check as flannelConfigMap } from './flannel-configmap.js';
import { check as flannelRbac } from './flannel-rbac.js';
import { check as nodePodCidrs } from './node-podcidrs.js';
import { check as nodeConditions } from './node-conditions.js';
import { check as nodeAnnotations } from './node-annotations.js';
import { check as stuckPods } from './stuck-pods.js';
import { check as otherCnis } from './other-cnis.js';
import { check as versionCompat } from './version-compat.js';
import { check as podIps } from './pod-ips.js';

export const API_CHECKS: readonly CheckDefinition[] = [
  flannelDaemonSet,
  flannelPods,
  flannelConfigMap,
  flannelRbac,
  nodePodCidrs,
  nodeConditions,
  nodeAnnotations,
  stuckPods,
  otherCnis,
  podIps,
  versionCompat,
] as CheckDefinition[];
