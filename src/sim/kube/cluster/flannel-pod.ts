import path from 'node:path';
import type { NodeHost } from '../host/node-host.js';
import { pluginBinaryStub } from '../host/cni-versions.js';
import type { KubeObject, ObjectStore } from '../store.js';
import {
  decideFlanneld,
  type FlanneldOutcome,
  type FlannelLease,
  SUBNET_FILE,
  subnetEnv,
  vtepMac,
} from './flanneld.js';
import { isoSeconds } from './names.js';
import { authorize, serviceAccountUser } from '../api/rbac.js';
import { rbacState } from '../api/rbac-state.js';
import {
  type Container,
  controllerOf,
  nodeInternalIP,
  nodePodCIDR,
  podSpec,
  type Volume,
} from './objects.js';

/**
 * The kube-flannel pod on one node: its volumes, the two init containers (copy the flannel CNI binary
 * and the CNI config onto the host) and flanneld itself, with the host and Node effects of a
 * successful start (subnet.env, flannel.1, annotations, NetworkUnavailable=False).
 */

const DEFAULT_FLANNEL_PLUGIN_VERSION = 'v1.9.1-flannel3';
export const FLANNEL_CONTAINER = 'kube-flannel';

/** A pod of a DaemonSet labelled app=flannel, found by label in any namespace. */
export function isFlannelPod(store: ObjectStore, pod: KubeObject): boolean {
  const owner = controllerOf(pod);
  if (owner?.kind !== 'DaemonSet') return false;
  const ds = store.get('DaemonSet', pod.metadata.namespace, owner.name);
  return ds?.metadata.labels?.app === 'flannel' || pod.metadata.labels?.app === 'flannel';
}

/** The flanneld container: named kube-flannel, else the one running flanneld, else the first. */
export function flanneldContainer(pod: KubeObject): Container {
  const containers = podSpec(pod).containers;
  return (
    containers.find((c) => c.name === FLANNEL_CONTAINER) ??
    containers.find((c) => [...(c.command ?? []), ...(c.args ?? [])].some((a) => a.includes('flanneld'))) ??
    containers[0]
  );
}

/** ConfigMap files as a container sees them: mountPath/key -> content (undefined map = ConfigMap missing). */
interface MountedConfig {
  mountPath: string;
  files: Map<string, string>;
}

export type VolumeCheck = { ok: true } | { ok: false; message: string };

/** kubelet's MountVolume.SetUp for configMap volumes (missing ConfigMap -> FailedMount). */
export function checkConfigMapVolumes(store: ObjectStore, pod: KubeObject): VolumeCheck {
  for (const v of podSpec(pod).volumes ?? []) {
    if (!v.configMap) continue;
    const optional = (v.configMap as { optional?: boolean }).optional;
    if (!optional && !store.get('ConfigMap', pod.metadata.namespace, v.configMap.name))
      return {
        ok: false,
        message: `MountVolume.SetUp failed for volume "${v.name}" : configmap "${v.configMap.name}" not found`,
      };
  }
  return { ok: true };
}

function configMapFiles(
  store: ObjectStore,
  namespace: string | undefined,
  volume: Volume,
): Map<string, string> {
  const cm = store.get('ConfigMap', namespace, volume.configMap?.name ?? '');
  const data = (cm?.data ?? {}) as Record<string, string>;
  const files = new Map<string, string>();
  if (volume.configMap?.items) {
    for (const item of volume.configMap.items)
      if (data[item.key] !== undefined) files.set(item.path, data[item.key]);
  } else for (const [k, v] of Object.entries(data)) files.set(k, v);
  return files;
}

function mountedConfigs(store: ObjectStore, pod: KubeObject, container: Container): MountedConfig[] {
  const volumes = podSpec(pod).volumes ?? [];
  const out: MountedConfig[] = [];
  for (const m of container.volumeMounts ?? []) {
    const v = volumes.find((x) => x.name === m.name);
    if (v?.configMap)
      out.push({ mountPath: m.mountPath, files: configMapFiles(store, pod.metadata.namespace, v) });
  }
  return out;
}

/** Maps a path inside the container to the host path through its hostPath mounts. */
function hostPathFor(pod: KubeObject, container: Container, containerPath: string): string | undefined {
  const volumes = podSpec(pod).volumes ?? [];
  const mounts = [...(container.volumeMounts ?? [])].sort((a, b) => b.mountPath.length - a.mountPath.length);
  for (const m of mounts) {
    const rel = path.posix.relative(m.mountPath, containerPath);
    if (rel.startsWith('..') || path.posix.isAbsolute(rel)) continue;
    const v = volumes.find((x) => x.name === m.name);
    if (!v?.hostPath) return undefined;
    return rel === '' ? v.hostPath.path : path.posix.join(v.hostPath.path, rel);
  }
  return undefined;
}

function readContainerFile(configs: MountedConfig[], containerPath: string): string | undefined {
  for (const c of configs) {
    const rel = path.posix.relative(c.mountPath, containerPath);
    if (!rel.startsWith('..') && c.files.has(rel)) return c.files.get(rel);
  }
  return undefined;
}

function imageVersion(image: string | undefined): string {
  const tag = /:([^/:]+)$/.exec(image ?? '')?.[1];
  return tag && /^v\d+\.\d+\.\d+/.test(tag) ? tag : DEFAULT_FLANNEL_PLUGIN_VERSION;
}

/**
 * Runs the init containers' copy commands (`cp -f SRC DST`, `/opt/bin/install-conf SRC DST`): SRC is the
 * image's /flannel binary or a file from a mounted ConfigMap, DST is mapped onto the host.
 */
export function runInitContainers(store: ObjectStore, host: NodeHost, pod: KubeObject): void {
  for (const c of podSpec(pod).initContainers ?? []) {
    const argv = [...(c.command ?? []), ...(c.args ?? [])];
    const shellWords =
      argv.length >= 3 && /(^|\/)(sh|bash)$/.test(argv[0]) && argv[1] === '-c' ? argv[2].split(/\s+/) : argv;
    let src: string | undefined;
    let dst: string | undefined;
    const cp = shellWords.indexOf('cp');
    if (cp >= 0) {
      const operands = shellWords.slice(cp + 1).filter((w) => !w.startsWith('-'));
      [src, dst] = operands;
    } else {
      const installer = shellWords.findIndex((w) => w.endsWith('install-conf'));
      if (installer >= 0) [src, dst] = shellWords.slice(installer + 1);
    }
    if (!src || !dst) continue;
    const hostDst = hostPathFor(pod, c, dst);
    if (!hostDst) continue;
    if (src === '/flannel') {
      host.writeFile(hostDst, pluginBinaryStub('flannel', imageVersion(c.image)), 0o755);
      continue;
    }
    const content = readContainerFile(mountedConfigs(store, pod, c), src);
    if (content !== undefined) host.writeFile(hostDst, content, 0o644);
  }
}

/** `--flag=value` and `--flag value` occurrences of a flag in argv. */
function flagValues(argv: readonly string[], flag: string): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a.startsWith(`${flag}=`)) out.push(a.slice(flag.length + 1));
    else if (a === flag && argv[i + 1] !== undefined) out.push(argv[i + 1]);
  });
  return out;
}

/**
 * Whether the pod's ServiceAccount may `get` the pod itself (kube.go NewSubnetManager does that first): the
 * API server's 403 message when not.
 */
function forbiddenToReadOwnPod(store: ObjectStore, pod: KubeObject): string | undefined {
  const namespace = pod.metadata.namespace ?? 'default';
  const sa = String(podSpec(pod).serviceAccountName ?? 'default');
  const user = serviceAccountUser(namespace, sa);
  const allowed = authorize(rbacState(store), user, {
    verb: 'get',
    group: '',
    resource: 'pods',
    namespace,
    name: pod.metadata.name,
  });
  return allowed
    ? undefined
    : `pods "${pod.metadata.name}" is forbidden: User "${user.name}" cannot get resource "pods" in API group "" in the namespace "${namespace}"`;
}

/** Runs flanneld once with the current ConfigMap, Node, RBAC and host: the outcome decides crash-loop or up. */
export function startFlanneld(
  store: ObjectStore,
  pod: KubeObject,
  nodeName: string,
  host?: NodeHost,
): FlanneldOutcome {
  const container = flanneldContainer(pod);
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  const netConfFlag = argv.find((a) => a.startsWith('--net-config-path='));
  const netConfPath = netConfFlag?.split('=')[1] ?? '/etc/kube-flannel/net-conf.json';
  const node = store.get('Node', undefined, nodeName);
  const podCIDRs = (node?.spec as { podCIDRs?: string[] } | undefined)?.podCIDRs;
  const forbidden = forbiddenToReadOwnPod(store, pod);
  return decideFlanneld({
    nodeName,
    internalIP: node ? nodeInternalIP(node) : '',
    podCIDR: node ? nodePodCIDR(node) : undefined,
    ...(podCIDRs?.length ? { podCIDRs } : {}),
    netConf: readContainerFile(mountedConfigs(store, pod, container), netConfPath),
    netConfPath,
    pod: {
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name,
      ...(forbidden ? { forbidden } : {}),
    },
    ...(host
      ? {
          brNetfilter: host.brNetfilter,
          interfaces: host
            .devices()
            .filter((d) => d.type !== 'loopback' && d.type !== 'veth')
            .map((d) => ({ name: d.name, addresses: d.addresses })),
        }
      : {}),
    ifaces: flagValues(argv, '--iface'),
    ifaceRegexes: flagValues(argv, '--iface-regex'),
  });
}

/**
 * What a running flanneld leaves behind: subnet.env, its backend (vxlan: flannel.1 and, dual-stack,
 * flannel-v6.1, with routes to the peers' podCIDRs through them; host-gw: routes to the peers' podCIDRs via
 * their node IPs, no device), the node annotations and NetworkUnavailable=False.
 */
export function applyFlannelUp(
  store: ObjectStore,
  host: NodeHost,
  pod: KubeObject,
  lease: FlannelLease,
): void {
  const container = flanneldContainer(pod);
  host.writeFile(hostPathFor(pod, container, SUBNET_FILE) ?? SUBNET_FILE, subnetEnv(lease), 0o644);
  const node = store.get('Node', undefined, host.name);
  const mac = vtepMac(host.name);
  const [podNet] = lease.podNetwork.split('/');
  const peers = store
    .list('Node')
    .filter((n) => n.metadata.name !== host.name)
    .map((n) => ({
      ip: nodeInternalIP(n),
      cidrs:
        (n.spec as { podCIDRs?: string[] } | undefined)?.podCIDRs ??
        (nodePodCIDR(n) ? [nodePodCIDR(n)!] : []),
    }))
    .filter((p) => p.ip && p.cidrs.length > 0);
  let backendData: string;
  if (lease.backendType === 'host-gw') {
    // Plain routes: every peer must be on the same L2 segment (backends.md).
    host.setRoutesVia(
      lease.iface,
      peers.flatMap((p) =>
        p.cidrs.filter((c) => !c.includes(':')).map((c) => ({ dst: c, via: p.ip, dev: lease.iface })),
      ),
    );
    backendData = 'null';
  } else {
    const dev = `flannel.${lease.vni}`;
    host.setDevice({
      name: dev,
      type: 'vxlan',
      mtu: lease.mtu,
      mac,
      state: 'UNKNOWN',
      addresses: [`${podNet}/32`],
      vxlan: { vni: lease.vni, port: lease.port, local: lease.publicIP, dev: lease.iface, learning: false },
    });
    host.setRoutesVia(
      dev,
      peers.flatMap((p) =>
        p.cidrs
          .filter((c) => !c.includes(':'))
          .map((c) => ({ dst: c, via: c.split('/')[0], dev, onlink: true })),
      ),
    );
    if (lease.ipv6PodNetwork) {
      const dev6 = `flannel-v6.${lease.vni}`;
      host.setDevice({
        name: dev6,
        type: 'vxlan',
        mtu: lease.mtu - 20,
        mac: vtepMac(`${host.name}/v6`),
        state: 'UNKNOWN',
        addresses: [`${lease.ipv6PodNetwork.split('/')[0]}/128`],
        vxlan: { vni: lease.vni, port: lease.port, dev: lease.iface, learning: false },
      });
      host.setRoutesVia(
        dev6,
        peers.flatMap((p) =>
          p.cidrs
            .filter((c) => c.includes(':'))
            .map((c) => ({ dst: c, via: c.split('/')[0], dev: dev6, onlink: true })),
        ),
      );
    }
    backendData = JSON.stringify({ VNI: lease.vni, VtepMAC: mac });
  }
  if (!node) return;
  store.mutate('Node', undefined, host.name, (n) => {
    n.metadata.annotations = {
      ...(n.metadata.annotations ?? {}),
      'flannel.alpha.coreos.com/backend-data': backendData,
      'flannel.alpha.coreos.com/backend-type': lease.backendType,
      'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
      'flannel.alpha.coreos.com/public-ip': lease.publicIP,
      ...(lease.ipv6PodNetwork && lease.backendType !== 'host-gw'
        ? {
            'flannel.alpha.coreos.com/backend-v6-data': JSON.stringify({
              VNI: lease.vni,
              VtepMAC: vtepMac(`${host.name}/v6`),
            }),
          }
        : {}),
    };
    const status = (n.status ?? {}) as { conditions?: Array<Record<string, unknown>> };
    const conditions = status.conditions ?? [];
    const old = conditions.find((c) => c.type === 'NetworkUnavailable');
    if (old?.status === 'False' && old.reason === 'FlannelIsUp') return;
    const now = isoSeconds();
    const next = {
      type: 'NetworkUnavailable',
      status: 'False',
      reason: 'FlannelIsUp',
      message: 'Flannel is running on this node',
      lastHeartbeatTime: now,
      lastTransitionTime: old?.status === 'False' ? old.lastTransitionTime : now,
    };
    status.conditions = old ? conditions.map((c) => (c === old ? next : c)) : [next, ...conditions];
    n.status = status;
  });
}
