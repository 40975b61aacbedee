/**
 * Pure decision logic of the simulated CNI stack: given a read-only view of a node's host (files and
 * devices), what the runtime + CNI plugins would do for a pod sandbox ADD/DEL, as a result plus a list
 * of host effects. The node host (./node-host.ts) applies the effects; tests can use an in-memory view.
 *
 * Modelled on containerd's go-cni / kubelet's dockershim config loading, libcni, the flannel cni-plugin,
 * and the bridge + host-local plugins (domain/flannel.md §1.3, §2, §4). Error texts are theirs.
 */
import type { Device, Runtime } from '../scenario/schema.js';
import { flannelGeneration, hostLocalIsLegacy } from './cni-versions.js';
import {
  cidrContainsIp,
  formatCidr,
  formatIp,
  ipFamily,
  lastAddress,
  parseCidr,
  parseIp,
  type Cidr,
  type IpFamily,
} from '../../../util/ip.js';
import { formatIpv4Cidr, parseIpv4Cidr } from '../../../util/ipv4.js';

export const CNI_CONF_DIR = '/etc/cni/net.d';
export const CNI_BIN_DIR = '/opt/cni/bin';
export const IPAM_DATA_DIR = '/var/lib/cni/networks';
export const FLANNEL_DATA_DIR = '/var/lib/cni/flannel';
export const CNI_CACHE_DIR = '/var/lib/cni/results';
export const NETNS_DIR = '/var/run/netns';
const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
const CONF_EXTENSIONS = ['.conf', '.conflist', '.json'];

/** A read-only look at one node's host. */
export interface HostView {
  runtime: Runtime;
  /** Entry names of a directory, sorted; [] when absent. */
  list(dir: string): string[];
  readFile(path: string): string | undefined;
  devices: readonly Device[];
}

export type HostEffect =
  | { op: 'write'; path: string; content: string; mode?: number }
  | { op: 'remove'; path: string }
  | { op: 'setDevice'; device: Device }
  | { op: 'removeDevice'; name: string };

export interface CniAddRequest {
  sandboxId: string;
  podName: string;
  namespace: string;
  podUid: string;
  /** The kubelet's sandbox attempt for the pod (CRI metadata.attempt). */
  attempt?: number;
}

export type CniAddResult =
  | { ok: true; ip: string; ips: string[]; network: string; netns: string }
  | {
      ok: false;
      /** The plugin's own error text (domain/flannel.md §1.3), not yet wrapped by the runtime. */
      pluginError: string;
      /** The plugin type libcni reports as failing (`plugin type="X" failed (add)`); absent for config errors. */
      pluginType?: string;
      /** The CNI network (conflist `name`) the failure happened in. */
      network?: string;
    };

/** What the node host remembers about a sandbox with a network (like the runtime's sandbox store). */
export interface SandboxRecord {
  sandboxId: string;
  namespace?: string;
  podName?: string;
  podUid?: string;
  attempt?: number;
  /** When the runtime created the sandbox (ISO 8601); the node host stamps it when it saves the record. */
  createdAt?: string;
  ip: string;
  /** Dual-stack: every address (ip is the first). */
  ips?: string[];
  network: string;
  ifname: string;
  netns: string;
  veth?: string;
}

export interface CniAddPlan {
  result: CniAddResult;
  effects: HostEffect[];
  sandbox?: SandboxRecord;
}

export type NetworkStatus = { ready: true } | { ready: false; message: string };

/** Names the runtime/plugins would pick at random; the caller supplies them so planning stays pure. */
export interface SandboxNames {
  netns: string;
  veth: string;
  mac: string;
}

// ---------------------------------------------------------------- config loading

interface NetConfList {
  file: string;
  name: string;
  cniVersion: string;
  plugins: Record<string, unknown>[];
}

type ConfigSelection =
  { kind: 'none' } | { kind: 'error'; message: string } | { kind: 'ok'; list: NetConfList };

/** V8 JSON.parse message fragments -> Go encoding/json's context for `invalid character 'c' <context>`. */
const GO_JSON_CONTEXTS: Array<[RegExp, string]> = [
  [/':' after property name/i, 'after object key'],
  [/property name in JSON/i, 'looking for beginning of object key string'],
  [/after property value/i, 'after object key:value pair'],
  [/after array element/i, 'after array element'],
  [/after JSON/i, 'after top-level value'],
  [/control character/i, 'in string literal'],
];

/** Approximates Go encoding/json's syntax error text for a document JSON.parse rejects. */
export function goJsonError(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    const msg = (err as Error).message;
    if (/end of JSON input|Unterminated/i.test(msg)) return 'unexpected end of JSON input';
    const pos = /position (\d+)/.exec(msg);
    const token = /Unexpected token '(.)'/.exec(msg);
    const at = pos ? Number(pos[1]) : token ? text.indexOf(token[1]) : -1;
    if (at < 0 || at >= text.length) return 'unexpected end of JSON input';
    const context = GO_JSON_CONTEXTS.find(([re]) => re.test(msg))?.[1] ?? 'looking for beginning of value';
    const ch = text[at] === '\n' ? '\\n' : text[at];
    return `invalid character '${ch}' ${context}`;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** libcni ConfListFromBytes / ConfFromBytes plus go-cni's checks; returns the list or the load error text. */
export function loadNetConf(file: string, content: string): NetConfList | string {
  const path = `${CNI_CONF_DIR}/${file}`;
  const isList = file.endsWith('.conflist');
  const jsonError = goJsonError(content);
  if (isList) {
    const fail = (why: string) =>
      `failed to load CNI config list file ${path}: error parsing configuration list: ${why}`;
    if (jsonError) return fail(jsonError);
    const raw: unknown = JSON.parse(content);
    if (!isObject(raw)) return fail('json: cannot unmarshal into Go value of type map[string]interface {}');
    if (typeof raw.name !== 'string' || raw.name === '') return fail('no name');
    if (!('plugins' in raw)) return fail("no 'plugins' key");
    if (!Array.isArray(raw.plugins)) return fail("error parsing 'plugins' key");
    if (raw.plugins.length === 0) {
      return `CNI config list in config file ${path} has no networks, skipping: invalid cni config`;
    }
    const plugins: Record<string, unknown>[] = [];
    for (const p of raw.plugins) {
      if (!isObject(p)) return fail('failed to marshal plugin config');
      if (typeof p.type !== 'string' || p.type === '') {
        return `failed to load CNI config list file ${path}: error parsing configuration: missing 'type'`;
      }
      plugins.push(p);
    }
    return { file, name: raw.name, cniVersion: String(raw.cniVersion ?? ''), plugins };
  }
  const fail = (why: string) => `failed to load CNI config file ${path}: error parsing configuration: ${why}`;
  if (jsonError) return fail(jsonError);
  const raw: unknown = JSON.parse(content);
  if (!isObject(raw)) return fail('json: cannot unmarshal into Go value of type map[string]interface {}');
  if (typeof raw.type !== 'string' || raw.type === '') {
    return `network type not found in ${path}: invalid cni config`;
  }
  return { file, name: String(raw.name ?? ''), cniVersion: String(raw.cniVersion ?? ''), plugins: [raw] };
}

export function configFiles(view: HostView): string[] {
  return view
    .list(CNI_CONF_DIR)
    .filter((f) => CONF_EXTENSIONS.some((ext) => f.endsWith(ext)))
    .sort();
}

function binaryPresent(view: HostView, type: string): boolean {
  return view.list(CNI_BIN_DIR).includes(type);
}

/** Plugin types a list needs, including flannel's delegate (bridge) and the delegate's IPAM. */
function requiredBinaries(list: NetConfList): string[] {
  const types: string[] = [];
  for (const p of list.plugins) {
    types.push(String(p.type));
    if (p.type === 'flannel') {
      const delegate = isObject(p.delegate) ? p.delegate : {};
      types.push(typeof delegate.type === 'string' ? delegate.type : 'bridge', 'host-local');
    } else if (isObject(p.ipam) && typeof p.ipam.type === 'string') {
      types.push(p.ipam.type);
    }
  }
  return types;
}

/**
 * Which network config the runtime uses. containerd/CRI-O: the lexicographically first file, and a file
 * that fails to load is an error. dockershim (kubelet's CNI plugin): the first file that loads and whose
 * plugin binaries all exist; the others are skipped.
 */
export function selectConfig(view: HostView): ConfigSelection {
  const files = configFiles(view);
  if (view.runtime === 'dockershim') {
    for (const f of files) {
      const loaded = loadNetConf(f, view.readFile(`${CNI_CONF_DIR}/${f}`) ?? '');
      if (typeof loaded === 'string') continue;
      if (requiredBinaries(loaded).every((t) => binaryPresent(view, t))) return { kind: 'ok', list: loaded };
    }
    return { kind: 'none' };
  }
  const first = files[0];
  if (first === undefined) return { kind: 'none' };
  const loaded = loadNetConf(first, view.readFile(`${CNI_CONF_DIR}/${first}`) ?? '');
  return typeof loaded === 'string' ? { kind: 'error', message: loaded } : { kind: 'ok', list: loaded };
}

/** The runtime's own text when it has no usable network config. */
export function notInitializedError(runtime: Runtime): string {
  switch (runtime) {
    case 'dockershim':
      return 'cni config uninitialized';
    case 'cri-o':
      return `No CNI configuration file in ${CNI_CONF_DIR}/. Has your network provider started?`;
    default:
      return 'cni plugin not initialized';
  }
}

/** Node Ready=False message the kubelet reports for the runtime (domain/flannel.md §1.3 E, §7). */
export function networkNotReadyMessage(runtime: Runtime): string {
  if (runtime === 'dockershim') {
    return 'runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:docker: network plugin is not ready: cni config uninitialized';
  }
  return `container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: ${notInitializedError(runtime)}`;
}

/** NetworkReady as the runtime reports it: false when no config can be loaded. */
export function networkStatus(view: HostView): NetworkStatus {
  return selectConfig(view).kind === 'ok'
    ? { ready: true }
    : { ready: false, message: networkNotReadyMessage(view.runtime) };
}

// ---------------------------------------------------------------- plugin chain

class PluginFailure extends Error {
  constructor(
    message: string,
    /** true when the error came back from a plugin process (a typed CNI error), not from exec/find. */
    readonly typed: boolean,
  ) {
    super(message);
  }
}

function findPluginError(type: string): string {
  return `failed to find plugin "${type}" in path [${CNI_BIN_DIR}]`;
}

interface ChainState {
  view: HostView;
  req: CniAddRequest;
  names: SandboxNames;
  ifname: string;
  /** Effects that stay even when the ADD fails (the bridge the bridge plugin created). */
  durable: HostEffect[];
  /** Effects undone by the runtime's teardown when the ADD fails. */
  tx: HostEffect[];
  ip?: string;
  /** Every address the ADD took (one per host-local range set: IPv4 then IPv6 when dual-stack). */
  ips?: string[];
}

/** One range of a host-local range set (numbers as BigInt so IPv6 ranges work alike). */
interface HostLocalRange {
  family: IpFamily;
  net: Cidr;
  start: bigint;
  end: bigint;
  gateway: bigint;
}

function rangeOf(spec: Record<string, unknown>): HostLocalRange | undefined {
  const net = parseCidr(String(spec.subnet ?? ''));
  if (!net) return undefined;
  const parsed = (v: unknown) => {
    const p = typeof v === 'string' ? parseIp(v) : undefined;
    return p && p.family === net.family ? p.value : undefined;
  };
  // host-local: the first address after the network (IPv4 also skips the broadcast), gateway .1 by default.
  const last = lastAddress(net) - (net.family === 4 ? 1n : 0n);
  return {
    family: net.family,
    net,
    start: parsed(spec.rangeStart) ?? net.network + 1n,
    end: parsed(spec.rangeEnd) ?? last,
    gateway: parsed(spec.gateway) ?? net.network + 1n,
  };
}

/**
 * host-local's range sets: `ranges` is a list of sets, each a list of ranges; one IP is taken from each set
 * (the first range with room). The legacy form is a single `subnet`.
 */
function hostLocalRangeSets(ipam: Record<string, unknown>): HostLocalRange[][] | string {
  const sets: HostLocalRange[][] = [];
  if (Array.isArray(ipam.ranges)) {
    for (const [i, set] of ipam.ranges.entries()) {
      const ranges = (Array.isArray(set) ? set : []).filter(isObject).map(rangeOf);
      if (ranges.length === 0 || ranges.some((r) => r === undefined))
        return `invalid range set ${i}: no subnet`;
      sets.push(ranges as HostLocalRange[]);
    }
  } else if (typeof ipam.subnet === 'string') {
    const r = rangeOf(ipam);
    if (r) sets.push([r]);
  }
  return sets.length ? sets : 'invalid range set 0: no subnet';
}

function rangeText(r: HostLocalRange): string {
  return `${formatIp(r.family, r.start)}-${formatIp(r.family, r.end)}`;
}

/** host-local ADD: per range set, the next free IP after last_reserved_ip.<set> (round robin), skipping the gateway. */
function runHostLocal(
  st: ChainState,
  networkName: string,
  ipam: Record<string, unknown>,
): Array<{ ip: string; range: HostLocalRange }> {
  const sets = hostLocalRangeSets(ipam);
  if (typeof sets === 'string') throw new PluginFailure(sets, true);
  const dir = `${IPAM_DATA_DIR}/${networkName}`;
  const legacy = hostLocalIsLegacy(st.view.readFile(`${CNI_BIN_DIR}/host-local`));
  const reserved = new Set(st.view.list(dir).filter((f) => ipFamily(f.replace(/_/g, ':')) !== undefined));
  const taken: Array<{ ip: string; range: HostLocalRange }> = [];
  for (const [setIndex, ranges] of sets.entries()) {
    const lastText = st.view.readFile(`${dir}/last_reserved_ip.${setIndex}`)?.trim();
    const last = lastText ? parseIp(lastText) : undefined;
    let found: { ip: string; range: HostLocalRange } | undefined;
    for (const range of ranges) {
      const size = range.end - range.start + 1n;
      const inRange =
        last && last.family === range.family && last.value >= range.start && last.value < range.end;
      const first = inRange ? last.value + 1n : range.start;
      // Bounded scan: a /64 is never full in practice; the first free address comes quickly.
      const limit = size > 65536n ? 65536n : size;
      for (let k = 0n; k < limit; k++) {
        const candidate = range.start + ((first - range.start + k) % size);
        const ip = formatIp(range.family, candidate);
        if (candidate === range.gateway || reserved.has(ip) || taken.some((t) => t.ip === ip)) continue;
        found = { ip, range };
        break;
      }
      if (found) break;
    }
    if (!found) {
      if (legacy) throw new PluginFailure(`no IP addresses available in network: ${networkName}`, true);
      throw new PluginFailure(
        `failed to allocate for range ${setIndex}: no IP addresses available in range set: ${ranges.map(rangeText).join(',')}`,
        true,
      );
    }
    const content = legacy ? st.req.sandboxId : `${st.req.sandboxId}\r\n${st.ifname}`;
    st.tx.push(
      { op: 'write', path: `${dir}/${found.ip}`, content, mode: 0o600 },
      { op: 'write', path: `${dir}/last_reserved_ip.${setIndex}`, content: found.ip, mode: 0o600 },
    );
    taken.push(found);
  }
  if (st.view.readFile(`${dir}/lock`) === undefined)
    st.durable.push({ op: 'write', path: `${dir}/lock`, content: '', mode: 0o600 });
  return taken;
}

/** bridge ADD: ensure the bridge, attach a veth, get an IP from IPAM, then ensure the gateway address. */
function runBridge(st: ChainState, conf: Record<string, unknown>): void {
  const networkName = String(conf.name ?? '');
  const brName = typeof conf.bridge === 'string' ? conf.bridge : 'cni0';
  const mtu = typeof conf.mtu === 'number' ? conf.mtu : 1500;
  let bridge = st.view.devices.find((d) => d.name === brName);
  if (bridge && bridge.type !== 'bridge') {
    throw new PluginFailure(
      `failed to create bridge "${brName}": "${brName}" already exists but is not a bridge`,
      true,
    );
  }
  if (!bridge) {
    bridge = { name: brName, type: 'bridge', mtu, mac: st.names.mac.replace(/^..:/, '0e:'), addresses: [] };
    st.durable.push({ op: 'setDevice', device: bridge });
  }
  const ipam = isObject(conf.ipam) ? conf.ipam : undefined;
  if (!ipam || typeof ipam.type !== 'string') throw new PluginFailure('IPAM config missing', true);
  if (!binaryPresent(st.view, ipam.type)) throw new PluginFailure(findPluginError(ipam.type), true);
  if (ipam.type !== 'host-local')
    throw new PluginFailure(`unsupported IPAM plugin "${ipam.type}" in the simulator`, true);
  const taken = runHostLocal(st, networkName, ipam);

  const isGateway = conf.isGateway === true || conf.isDefaultGateway === true;
  let addresses = bridge.addresses;
  if (isGateway) {
    const gateways = taken.map(({ range }) => `${formatIp(range.family, range.gateway)}/${range.net.prefix}`);
    // The bridge plugin refuses an IPv4 bridge address other than the gateway (IPv6 keeps several).
    const gw4 = gateways.find((g) => !g.includes(':'));
    const others = bridge.addresses.filter((a) => !a.includes(':') && a !== gw4);
    if (gw4 && others.length > 0 && conf.forceAddress !== true) {
      throw new PluginFailure(
        `failed to set bridge addr: "${brName}" already has an IP address different from ${gw4}`,
        true,
      );
    }
    addresses = [
      ...new Set([
        ...(gw4 ? [gw4] : bridge.addresses.filter((a) => !a.includes(':'))),
        ...bridge.addresses.filter((a) => a.includes(':')),
        ...gateways.filter((g) => g.includes(':')),
      ]),
    ];
  }
  st.tx.push(
    { op: 'setDevice', device: { ...bridge, addresses } },
    {
      op: 'setDevice',
      device: {
        name: st.names.veth,
        type: 'veth',
        mtu,
        mac: st.names.mac,
        addresses: [],
        master: brName,
        linkNetns: st.names.netns,
      },
    },
  );
  st.ips = taken.map((t) => t.ip);
  st.ip = st.ips[0];
}

function parseSubnetEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2].trim();
  }
  return env;
}

/** flannel cni-plugin ADD: read subnet.env, build the delegate config, delegate to bridge. */
function runFlannel(st: ChainState, conf: Record<string, unknown>, list: NetConfList): void {
  const gen = flannelGeneration(st.view.readFile(`${CNI_BIN_DIR}/flannel`));
  const subnetFile = typeof conf.subnetFile === 'string' ? conf.subnetFile : DEFAULT_SUBNET_FILE;
  const dataDir = typeof conf.dataDir === 'string' ? conf.dataDir : FLANNEL_DATA_DIR;
  const wrapEnv = (err: string) => {
    if (gen.subnetEnvWording === 'bare') return err;
    if (gen.subnetEnvWording === 'loadFlannelSubnetEnv') return `loadFlannelSubnetEnv failed: ${err}`;
    return `failed to load flannel 'subnet.env' file: ${err}. Check the flannel pod log for this node.`;
  };
  const delegate = isObject(conf.delegate) ? { ...conf.delegate } : {};
  if ('name' in delegate)
    throw new PluginFailure(
      "'delegate' dictionary must not have 'name' field, it'll be set by flannel",
      true,
    );
  if ('ipam' in delegate)
    throw new PluginFailure(
      "'delegate' dictionary must not have 'ipam' field, it'll be set by flannel",
      true,
    );

  const text = st.view.readFile(subnetFile);
  if (text === undefined)
    throw new PluginFailure(wrapEnv(`open ${subnetFile}: no such file or directory`), true);
  const env = parseSubnetEnv(text);
  const missing: string[] = [];
  if (!env.FLANNEL_NETWORK && !env.FLANNEL_IPV6_NETWORK)
    missing.push('FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK');
  if (!env.FLANNEL_SUBNET && !env.FLANNEL_IPV6_SUBNET) missing.push('FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET');
  if (!env.FLANNEL_MTU) missing.push('FLANNEL_MTU');
  if (!env.FLANNEL_IPMASQ) missing.push('FLANNEL_IPMASQ');
  if (missing.length)
    throw new PluginFailure(wrapEnv(`${subnetFile} is missing ${missing.join(', ')}`), true);
  const subnet = parseIpv4Cidr(env.FLANNEL_SUBNET ?? '');
  if (!subnet) throw new PluginFailure(wrapEnv(`invalid CIDR address: ${env.FLANNEL_SUBNET ?? ''}`), true);
  const network = env.FLANNEL_NETWORK ? parseIpv4Cidr(env.FLANNEL_NETWORK) : undefined;
  const subnet6 = env.FLANNEL_IPV6_SUBNET ? parseCidr(env.FLANNEL_IPV6_SUBNET) : undefined;
  const network6 = env.FLANNEL_IPV6_NETWORK ? parseCidr(env.FLANNEL_IPV6_NETWORK) : undefined;

  const delegateType = typeof delegate.type === 'string' ? delegate.type : 'bridge';
  const delegateConf: Record<string, unknown> = {
    cniVersion: list.cniVersion,
    ...delegate,
    name: list.name,
    type: delegateType,
    ipMasq: env.FLANNEL_IPMASQ !== 'true',
    mtu: Number(env.FLANNEL_MTU),
    ...(delegateType === 'bridge' && delegate.isGateway === undefined ? { isGateway: true } : {}),
    // flannel-io/cni-plugin: one range set per family, IPv4 first.
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: formatIpv4Cidr(subnet) }], ...(subnet6 ? [[{ subnet: formatCidr(subnet6) }]] : [])],
      routes: [
        ...(network ? [{ dst: formatIpv4Cidr(network) }] : []),
        ...(network6 ? [{ dst: formatCidr(network6) }] : []),
      ],
    },
  };
  if (!binaryPresent(st.view, delegateType)) {
    throw new PluginFailure(`failed to delegate add: ${findPluginError(delegateType)}`, false);
  }
  st.tx.push({
    op: 'write',
    path: `${dataDir}/${st.req.sandboxId}`,
    content: JSON.stringify(delegateConf),
    mode: 0o600,
  });
  try {
    if (delegateType !== 'bridge')
      throw new PluginFailure(`unsupported delegate type "${delegateType}" in the simulator`, true);
    runBridge(st, delegateConf);
  } catch (err) {
    if (!(err instanceof PluginFailure)) throw err;
    // Newer plugin builds unwrap the delegate's typed CNI error; older ones keep the prefix.
    throw new PluginFailure(
      gen.delegatePrefixOnTypedErrors ? `failed to delegate add: ${err.message}` : err.message,
      true,
    );
  }
}

/** Known non-Flannel plugins that fail when their control plane is absent. */
const FOREIGN_PLUGIN_ERRORS: Record<string, string> = {
  calico: 'error getting ClusterInformation: connection is unauthorized: Unauthorized',
  cilium:
    'unable to connect to Cilium daemon: failed to create cilium agent client after 30.000000 seconds timeout',
  'weave-net':
    'unable to allocate IP address: Post "http://127.0.0.1:6784/ip/": dial tcp 127.0.0.1:6784: connect: connection refused',
};

interface ChainFailure {
  type: string;
  message: string;
  /** Set by a Multus plugin: the cluster network whose chain runs instead. */
  delegateTo?: NetConfList;
}

/** Runs a plugin chain; the failure (plugin type and its error) or undefined when every plugin succeeded. */
function runChain(st: ChainState, list: NetConfList): ChainFailure | undefined {
  for (const conf of list.plugins) {
    const type = String(conf.type);
    try {
      if (!binaryPresent(st.view, type)) throw new PluginFailure(findPluginError(type), false);
      const pluginConf = { cniVersion: list.cniVersion, name: list.name, ...conf };
      if (type === 'multus' || type === 'multus-shim') {
        return { type, message: '', delegateTo: multusClusterNetwork(st, pluginConf, list) };
      }
      if (type === 'flannel') runFlannel(st, pluginConf, list);
      else if (type === 'bridge') runBridge(st, pluginConf);
      else if (type in FOREIGN_PLUGIN_ERRORS) throw new PluginFailure(FOREIGN_PLUGIN_ERRORS[type], true);
      // portmap, loopback, tuning, bandwidth, firewall...: chained plugins that do not change the outcome.
    } catch (err) {
      if (!(err instanceof PluginFailure)) throw err;
      return { type, message: err.message };
    }
  }
  return undefined;
}

/**
 * The network Multus delegates the pod's primary interface to (multus-cni pkg/k8sclient getNetDelegate):
 * `clusterNetwork` (a config file path, a directory whose first config counts, or the `name` of a config in
 * confDir — NetworkAttachmentDefinitions are not simulated), else `delegates[0]`. The thick plugin's daemon
 * reads the host's /etc/cni/net.d as /host/etc/cni/net.d.
 */
function multusClusterNetwork(st: ChainState, conf: Record<string, unknown>, own: NetConfList): NetConfList {
  const { view, req } = st;
  const prefix = `Multus: [${req.namespace}/${req.podName}/${req.podUid}]: `;
  const fail = (why: string): never => {
    throw new PluginFailure(`${prefix}${why}`, true);
  };
  const cluster = typeof conf.clusterNetwork === 'string' ? conf.clusterNetwork.trim() : '';
  const hostPath = (p: string) =>
    conf.type === 'multus-shim' &&
    p.startsWith('/host/') &&
    view.readFile(p) === undefined &&
    !view.list(p).length
      ? p.slice('/host'.length)
      : p;
  const load = (dir: string, file: string): NetConfList => {
    const loaded = loadNetConf(file, view.readFile(`${dir}/${file}`) ?? '');
    if (typeof loaded === 'string') return fail(`failed to get clusterNetwork/defaultNetworks: ${loaded}`);
    return loaded;
  };
  if (cluster !== '') {
    if (cluster.includes('/')) {
      const path = hostPath(cluster.replace(/\/+$/, ''));
      const files = view
        .list(path)
        .filter((f) => CONF_EXTENSIONS.some((e) => f.endsWith(e)) && !f.startsWith('00-multus'));
      if (files.length > 0) return load(path, files.sort()[0]);
      const dir = path.slice(0, path.lastIndexOf('/'));
      const file = path.slice(path.lastIndexOf('/') + 1);
      if (view.readFile(path) === undefined)
        return fail(
          `failed to get clusterNetwork/defaultNetworks: stat ${cluster}: no such file or directory`,
        );
      return load(dir, file);
    }
    const confDir = typeof conf.confDir === 'string' ? conf.confDir : '/etc/cni/multus/net.d';
    for (const file of view
      .list(confDir)
      .filter((f) => CONF_EXTENSIONS.some((e) => f.endsWith(e)))
      .sort()) {
      const loaded = loadNetConf(file, view.readFile(`${confDir}/${file}`) ?? '');
      if (typeof loaded !== 'string' && loaded.name === cluster) return loaded;
    }
    return fail(
      `failed to get clusterNetwork/defaultNetworks: failed to get network "${cluster}": no network attachment definition or CNI config named "${cluster}" in ${confDir}`,
    );
  }
  const delegates = Array.isArray(conf.delegates) ? conf.delegates.filter(isObject) : [];
  if (delegates.length === 0)
    return fail('error loading netconf: must have either Delegates or ClusterNetwork');
  const first = delegates[0];
  const plugins = Array.isArray(first.plugins) ? first.plugins.filter(isObject) : [first];
  return {
    file: own.file,
    name: typeof first.name === 'string' ? first.name : own.name,
    cniVersion: String(first.cniVersion ?? own.cniVersion),
    plugins,
  };
}

/** Plans a sandbox network ADD on the host the view shows. */
export function planCniAdd(view: HostView, req: CniAddRequest, names: SandboxNames): CniAddPlan {
  const selected = selectConfig(view);
  if (selected.kind === 'none') {
    return { result: { ok: false, pluginError: notInitializedError(view.runtime) }, effects: [] };
  }
  if (selected.kind === 'error') return { result: { ok: false, pluginError: selected.message }, effects: [] };
  let list = selected.list;
  const st: ChainState = { view, req, names, ifname: 'eth0', durable: [], tx: [] };
  let failure = runChain(st, list);
  let outer: { type: string; list: NetConfList } | undefined;
  // Multus (thin `multus` or thick `multus-shim`) is a meta-plugin: it runs the chain of the cluster network.
  if (failure?.delegateTo) {
    outer = { type: failure.type, list };
    list = failure.delegateTo;
    failure = runChain(st, list);
    if (failure && !failure.delegateTo) {
      const ref = `[${req.namespace}/${req.podName}/${req.podUid}:${list.name}]`;
      const inner = failure.type
        ? `plugin type="${failure.type}" failed (add): ${failure.message}`
        : failure.message;
      failure = {
        type: outer.type,
        message: `${ref}: error adding container to network "${list.name}": ${inner}`,
      };
    }
  }
  if (failure) {
    return {
      result: {
        ok: false,
        pluginError: failure.message,
        ...(failure.type ? { pluginType: failure.type } : {}),
        network: outer?.list.name ?? list.name,
      },
      effects: st.durable,
    };
  }
  if (st.ip === undefined) {
    return {
      result: {
        ok: false,
        pluginError: `no IP address assigned by CNI network "${list.name}"`,
        network: list.name,
      },
      effects: st.durable,
    };
  }
  const ip = st.ip;
  const record: SandboxRecord = {
    sandboxId: req.sandboxId,
    namespace: req.namespace,
    podName: req.podName,
    podUid: req.podUid,
    attempt: req.attempt ?? 0,
    ip,
    ...(st.ips && st.ips.length > 1 ? { ips: st.ips } : {}),
    network: list.name,
    ifname: st.ifname,
    netns: names.netns,
    veth: names.veth,
  };
  const cache = {
    kind: 'cniCacheV1',
    containerId: req.sandboxId,
    config: list.name,
    ifName: st.ifname,
    networkName: list.name,
    result: {
      cniVersion: list.cniVersion,
      ips: (st.ips ?? [ip]).map((a) => ({ address: `${a}/${prefixOf(view, a)}` })),
    },
  };
  const effects: HostEffect[] = [
    ...st.durable,
    { op: 'write', path: `${NETNS_DIR}/${names.netns}`, content: '' },
    ...st.tx,
    {
      op: 'write',
      path: `${CNI_CACHE_DIR}/${list.name}-${req.sandboxId}-${st.ifname}`,
      content: JSON.stringify(cache),
      mode: 0o600,
    },
  ];
  return {
    result: { ok: true, ip, ips: st.ips ?? [ip], network: list.name, netns: names.netns },
    effects,
    sandbox: record,
  };
}

function prefixOf(view: HostView, ip: string): number {
  for (const d of view.devices) {
    for (const a of d.addresses) {
      const p = parseCidr(a);
      if (p && d.type === 'bridge' && cidrContainsIp(p, ip)) return p.prefix;
    }
  }
  return ip.includes(':') ? 64 : 24;
}

/**
 * Plans a sandbox network DEL: host-local files naming the sandbox (in every network dir, so a DEL after
 * the config changed still releases), flannel's scratch file, the result cache, the netns and the veth.
 */
export function planCniDel(view: HostView, sandboxId: string, record?: SandboxRecord): HostEffect[] {
  const effects: HostEffect[] = [];
  for (const network of view.list(IPAM_DATA_DIR)) {
    const dir = `${IPAM_DATA_DIR}/${network}`;
    for (const f of view.list(dir)) {
      if (ipFamily(f.replace(/_/g, ':')) === undefined) continue;
      const owner = view.readFile(`${dir}/${f}`)?.split(/\r?\n/)[0]?.trim();
      if (owner === sandboxId) effects.push({ op: 'remove', path: `${dir}/${f}` });
    }
    for (const f of view.list(CNI_CACHE_DIR)) {
      if (f.startsWith(`${network}-${sandboxId}-`))
        effects.push({ op: 'remove', path: `${CNI_CACHE_DIR}/${f}` });
    }
  }
  effects.push({ op: 'remove', path: `${FLANNEL_DATA_DIR}/${sandboxId}` });
  if (record) {
    effects.push({ op: 'remove', path: `${NETNS_DIR}/${record.netns}` });
    if (record.veth) effects.push({ op: 'removeDevice', name: record.veth });
  }
  return effects;
}
