/**
 * Node action pods (label app.kubernetes.io/name=flannel-ops-action, see src/sim/kube/README.md, "Action
 * pods"): the privileged hostPID pods flannel-ops creates for remediation steps on a node, whose container runs
 * `nsenter -t 1 -m ... -- sh -c '<host script>'`. They run as real processes like probe pods; what
 * differs is how the container reaches the node (host/node-paths.ts) and the node tools it gets.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeHost } from '../host/node-host.js';
import { isSafeRoot, rewriteContainerPaths, type StandInDirs } from '../host/node-paths.js';
import type { KubeObject, ObjectStore } from '../store.js';
import type { NodeAgentAccess } from './node-agent.js';
import { type Container, podSpec } from './objects.js';
import { prepareProbe, PROBE_LABEL, SIM_BIN_DIR, type ProbeSetup } from './probe-runner.js';

export const ACTION_LABEL_VALUE = 'flannel-ops-action';
const HOST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../host');
/** systemctl and crictl: only on the host, so only after nsenter -m. */
export const HOST_BIN_DIR = path.join(HOST_DIR, 'node-bin');
export const AGENT_CLIENT = path.join(HOST_DIR, 'agent-client.mjs');
export const STAND_IN_DIRS: StandInDirs = { containerBin: SIM_BIN_DIR, hostBin: HOST_BIN_DIR };

export function isActionPod(pod: KubeObject): boolean {
  return pod.metadata.labels?.[PROBE_LABEL] === ACTION_LABEL_VALUE;
}

/** What nsenter may do in this pod: enter the node (privileged + hostPID), only itself, or nothing. */
export function nsenterMode(pod: KubeObject, container: Container): 'node' | 'self' | 'denied' {
  if (container.securityContext?.privileged !== true) return 'denied';
  return podSpec(pod).hostPID === true ? 'node' : 'self';
}

export interface ActionSetup extends ProbeSetup {
  /** Directories to map back to `/` in the pod's output (node root, container root). */
  roots: string[];
}

/**
 * Builds the action pod's container root (its own, empty filesystem) and the process's argv/env.
 * Throws when a root cannot be spliced safely into shell text (the kubelet reports it as the pod's failure).
 */
export function prepareAction(
  store: ObjectStore,
  pod: KubeObject,
  container: Container,
  host: NodeHost,
  containerRoot: string,
  agent: NodeAgentAccess | undefined,
): ActionSetup {
  for (const root of [host.root, containerRoot])
    if (!isSafeRoot(root))
      throw new Error(
        `the simulator's directory ${root} has characters the action pod stand-ins cannot handle; use a --work-dir of plain path characters`,
      );
  const base = prepareProbe(store, pod, container, host, containerRoot);
  const rewrite = (text: string) => rewriteContainerPaths(text, containerRoot, STAND_IN_DIRS);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base.env))
    env[k] = k.startsWith('FLANNEL_OPS_SIM_') || k === 'PATH' || k === 'HOME' ? v : rewrite(v);
  // The stand-ins must win whatever the pod's env says: the real nsenter would enter this machine.
  if (!env.PATH.startsWith(`${SIM_BIN_DIR}:`)) env.PATH = `${SIM_BIN_DIR}:${env.PATH}`;
  Object.assign(env, {
    FLANNEL_OPS_SIM_NODE_ROOT: host.root,
    FLANNEL_OPS_SIM_NSENTER: nsenterMode(pod, container),
    FLANNEL_OPS_SIM_CONTAINER_ROOT: containerRoot,
    FLANNEL_OPS_SIM_HOST_BIN: HOST_BIN_DIR,
    FLANNEL_OPS_SIM_NODE_JS: process.execPath,
    FLANNEL_OPS_SIM_AGENT_CLIENT: AGENT_CLIENT,
    ...(agent ? { FLANNEL_OPS_SIM_AGENT_URL: agent.url, FLANNEL_OPS_SIM_AGENT_TOKEN: agent.token } : {}),
  });
  return { argv: base.argv.map(rewrite), env, cwd: base.cwd, roots: [host.root, containerRoot] };
}
