/**
 * The network report: Flannel's backend, MTU, VNI and port as the ConfigMap, the node annotations and
 * the probes show them, with warnings for settings that break traffic quietly (domain/flannel.md §4).
 * Pure: it reads check facts only. Facts it understands:
 *   flannel-configmap: { netConf?: { Backend?: { Type, MTU, VNI, Port } }, backend?|backendType?, mtu?, vni?, port? }
 *   node-annotations:  { backendTypes?: { node: type }, backendType?, backendData?: { node: { VNI } } }
 *   node-devices:      { backend: { node }, overlay: { node: { name, type, mtu, vni, port } }, nic: { node: { name, mtu } },
 *                        missingRoutes: { node: string[] } (host-gw) }
 *   node-subnet-env:   { mtu: { node: number } }
 */
import type { CheckId } from '../checks/catalog.js';
import type { CheckResult } from '../checks/types.js';
import type { NetworkReport } from './types.js';

/** vxlan's encapsulation overhead (flannel encapOverhead = 50): a 1500 NIC gives FLANNEL_MTU 1450. */
export const VXLAN_OVERHEAD = 50;

type Facts = Record<string, unknown>;

export function buildNetworkReport(results: readonly CheckResult[]): NetworkReport {
  const facts = (id: CheckId): Facts => results.find((r) => r.id === id)?.facts ?? {};
  const cm = facts('flannel-configmap');
  const ann = facts('node-annotations');
  const dev = facts('node-devices');
  const env = facts('node-subnet-env');
  const netBackend = record(record(cm.netConf).Backend);

  const cmBackend = lower(str(netBackend.Type) ?? str(cm.backend) ?? str(cm.backendType));
  const nodeBackends = new Map<string, string>();
  for (const [node, type] of Object.entries(record(ann.backendTypes))) {
    const t = lower(str(type));
    if (t) nodeBackends.set(node, t);
  }
  const annBackend = lower(str(ann.backendType));
  const overlays = perNode(dev.overlay);
  const nics = perNode(dev.nic);
  const envMtu = Object.fromEntries(
    Object.entries(record(env.mtu)).filter(([, v]) => typeof v === 'number'),
  ) as Record<string, number>;

  const backends = new Set([cmBackend, annBackend, ...nodeBackends.values()].filter((b): b is string => !!b));
  const backend =
    cmBackend ??
    annBackend ??
    [...nodeBackends.values()][0] ??
    (Object.keys(overlays).length ? 'vxlan' : undefined);
  const warnings: string[] = [];
  if (backends.has('udp')) {
    warnings.push('backend "udp" is deprecated and meant for debugging only (slow, userspace); use "vxlan"');
  }
  if (backends.size > 1) {
    warnings.push(
      `backend types differ (${[...backends].join(', ')}): the backend must not be changed at runtime; restart every Flannel pod after a change`,
    );
  }

  const firstOverlay = Object.values(overlays)[0] ?? {};
  const vni =
    num(netBackend.VNI) ?? num(cm.vni) ?? num(firstOverlay.vni) ?? firstAnnotatedVni(ann.backendData);
  const port = num(netBackend.Port) ?? num(cm.port) ?? num(firstOverlay.port);
  const cmMtu = num(netBackend.MTU) ?? num(cm.mtu);
  const mtu = Object.values(envMtu)[0] ?? num(firstOverlay.mtu) ?? cmMtu;

  if (backend === undefined || backend === 'vxlan') {
    const nodes = new Set([...Object.keys(envMtu), ...Object.keys(overlays)]);
    const checked = new Set<string>();
    for (const node of [...nodes].sort()) {
      const nic = nics[node];
      const nicMtu = num(nic?.mtu);
      const flannelMtu = envMtu[node] ?? num(overlays[node]?.mtu);
      if (nicMtu === undefined || flannelMtu === undefined) continue;
      checked.add(node);
      if (flannelMtu > nicMtu - VXLAN_OVERHEAD) {
        const source =
          envMtu[node] !== undefined ? 'FLANNEL_MTU' : `${str(overlays[node]?.name) ?? 'flannel.1'} mtu`;
        warnings.push(
          `${node}: ${source} ${flannelMtu} on a ${nicMtu}-byte NIC${nic?.name ? ` (${str(nic.name)})` : ''} leaves no room for vxlan's ${VXLAN_OVERHEAD}-byte header: use ${nicMtu - VXLAN_OVERHEAD} or less (large packets are dropped)`,
        );
      }
    }
    if (checked.size === 0 && cmMtu !== undefined && cmMtu > 1500 - VXLAN_OVERHEAD) {
      warnings.push(
        `net-conf.json Backend.MTU ${cmMtu} needs a NIC MTU of at least ${cmMtu + VXLAN_OVERHEAD} for vxlan's ${VXLAN_OVERHEAD}-byte header`,
      );
    }
  }

  // host-gw: routes to the peers' podCIDRs via their node IPs (node-devices lists the missing ones).
  const missingRoutes = Object.entries(record(dev.missingRoutes)).filter(
    ([, v]) => Array.isArray(v) && v.length > 0,
  ) as Array<[string, string[]]>;
  for (const [node, routes] of missingRoutes.slice(0, 5)) {
    warnings.push(
      `${node}: host-gw has no route for ${routes.length} peer podCIDR(s) (${routes.slice(0, 3).join(', ')}${routes.length > 3 ? ', …' : ''}): host-gw needs every node on one L2 segment; across routers or in most clouds use vxlan`,
    );
  }

  return {
    ...(backend ? { backend } : {}),
    ...(mtu !== undefined ? { mtu } : {}),
    ...(vni !== undefined ? { vni } : {}),
    ...(port !== undefined ? { port } : {}),
    warnings,
  };
}

function firstAnnotatedVni(value: unknown): number | undefined {
  for (const data of Object.values(record(value))) {
    const parsed = typeof data === 'string' ? safeJson(data) : data;
    const vni = num(record(parsed).VNI);
    if (vni !== undefined) return vni;
  }
  return undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function perNode(value: unknown): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [node, v] of Object.entries(record(value)))
    if (v && typeof v === 'object') out[node] = record(v);
  return out;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function lower(value: string | undefined): string | undefined {
  return value?.toLowerCase();
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}
