/**
 * Validation of Flannel's ConfigMap keys (domain/flannel.md §3): net-conf.json (Network, SubnetLen,
 * Backend...) and cni-conf.json (the conflist install-cni copies to /etc/cni/net.d). Pure.
 */
import { parseIpv4Cidr } from '../../util/ipv4.js';

export interface NetConf {
  network?: string;
  subnetLen?: number;
  enableIPv4: boolean;
  enableIPv6: boolean;
  ipv6Network?: string;
  enableNFTables?: boolean;
  backendType?: string;
  port?: number;
  vni?: number;
  mtu?: number;
  /** The parsed JSON as written (network-report reads Backend.* from it). */
  raw: Record<string, unknown>;
}

export type Parsed<T> = { ok: true; value: T; warnings: string[] } | { ok: false; problems: string[] };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(
  text: string,
  what: string,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, problem: `${what} is not valid JSON: ${(err as Error).message}` };
  }
}

export function parseNetConf(text: string | undefined): Parsed<NetConf> {
  if (text === undefined) return { ok: false, problems: ['key net-conf.json is missing'] };
  if (text.trim() === '') return { ok: false, problems: ['net-conf.json is empty'] };
  const json = parseJson(text, 'net-conf.json');
  if (!json.ok) return { ok: false, problems: [json.problem] };
  if (!isRecord(json.value)) return { ok: false, problems: ['net-conf.json is not a JSON object'] };
  const raw = json.value;
  const problems: string[] = [];
  const warnings: string[] = [];
  const enableIPv4 = raw.EnableIPv4 !== false;
  const enableIPv6 = raw.EnableIPv6 === true;
  const network = raw.Network;
  if (enableIPv4) {
    if (network === undefined) problems.push('net-conf.json has no "Network"');
    else if (typeof network !== 'string' || !parseIpv4Cidr(network))
      problems.push(`net-conf.json "Network" ${JSON.stringify(network)} is not an IPv4 CIDR`);
  }
  if (
    raw.SubnetLen !== undefined &&
    (typeof raw.SubnetLen !== 'number' || raw.SubnetLen < 1 || raw.SubnetLen > 32)
  ) {
    problems.push(`net-conf.json "SubnetLen" ${JSON.stringify(raw.SubnetLen)} is not a prefix length`);
  }
  const backend = raw.Backend;
  let backendType: string | undefined;
  if (!isRecord(backend)) problems.push('net-conf.json has no "Backend" object');
  else if (typeof backend.Type !== 'string' || backend.Type === '')
    problems.push('net-conf.json has no "Backend.Type"');
  else backendType = backend.Type;
  if (problems.length > 0) return { ok: false, problems };
  if (backendType === 'udp') warnings.push('backend "udp" is deprecated (debugging only)');
  const b = backend as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const value: NetConf = { enableIPv4, enableIPv6, raw };
  if (typeof network === 'string') value.network = network;
  if (typeof raw.SubnetLen === 'number') value.subnetLen = raw.SubnetLen;
  if (typeof raw.IPv6Network === 'string') value.ipv6Network = raw.IPv6Network;
  if (typeof raw.EnableNFTables === 'boolean') value.enableNFTables = raw.EnableNFTables;
  if (backendType) value.backendType = backendType;
  const port = num(b.Port);
  const vni = num(b.VNI);
  const mtu = num(b.MTU);
  if (port !== undefined) value.port = port;
  if (vni !== undefined) value.vni = vni;
  if (mtu !== undefined) value.mtu = mtu;
  return { ok: true, value, warnings };
}

export interface CniConf {
  name: string;
  cniVersion?: string;
  pluginTypes: string[];
}

export function parseCniConf(text: string | undefined): Parsed<CniConf> {
  if (text === undefined) return { ok: false, problems: ['key cni-conf.json is missing'] };
  const json = parseJson(text, 'cni-conf.json');
  if (!json.ok) return { ok: false, problems: [json.problem] };
  if (!isRecord(json.value)) return { ok: false, problems: ['cni-conf.json is not a JSON object'] };
  const raw = json.value;
  const problems: string[] = [];
  if (typeof raw.name !== 'string' || raw.name === '') problems.push('cni-conf.json has no "name"');
  // A conflist (plugins[]) or, in very old manifests, a single .conf with type flannel.
  const plugins: unknown[] = Array.isArray(raw.plugins) ? raw.plugins : raw.type !== undefined ? [raw] : [];
  if (!Array.isArray(raw.plugins) && raw.type === undefined)
    problems.push('cni-conf.json has no "plugins" list');
  const types = plugins.map((p) => (isRecord(p) && typeof p.type === 'string' ? p.type : ''));
  const flannel = plugins.find((p) => isRecord(p) && p.type === 'flannel') as
    Record<string, unknown> | undefined;
  if (plugins.length > 0 && !flannel) problems.push('cni-conf.json has no plugin of type "flannel"');
  if (flannel && isRecord(flannel.delegate)) {
    for (const key of ['ipam', 'name']) {
      if (key in flannel.delegate)
        problems.push(`cni-conf.json flannel "delegate" must not set "${key}" (flannel sets it)`);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      name: raw.name as string,
      ...(typeof raw.cniVersion === 'string' ? { cniVersion: raw.cniVersion } : {}),
      pluginTypes: types,
    },
    warnings: [],
  };
}
