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
  broadcastAddress,
  cidrContainsAddress,
  formatIpv4,
  formatIpv4Cidr,
  isIpv4,
  parseIpv4,
  parseIpv4Cidr,
  parseIpv4OrThrow,
  type Ipv4Cidr,
} from '../../../util/ipv4.js';

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
  | { ok: true; ip: string; network: string; netns: string }
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
}

interface HostLocalRange {
  net: Ipv4Cidr;
  start: number;
  end: number;
  gateway: number;
}

function hostLocalRange(ipam: Record<string, unknown>): HostLocalRange | string {
  let spec: Record<string, unknown> | undefined;
  if (Array.isArray(ipam.ranges)) {
    for (const set of ipam.ranges) {
      const first = Array.isArray(set)
        ? set.find((r) => isObject(r) && typeof r.subnet === 'string')
        : undefined;
      if (isObject(first) && parseIpv4Cidr(String(first.subnet))) {
        spec = first;
        break;
      }
    }
  } else if (typeof ipam.subnet === 'string') {
    spec = ipam;
  }
  const net = spec ? parseIpv4Cidr(String(spec.subnet)) : undefined;
  if (!spec || !net) return 'invalid range set 0: no subnet';
  const start = optionalIpv4(spec.rangeStart) ?? net.network + 1;
  const end = optionalIpv4(spec.rangeEnd) ?? broadcastAddress(net) - 1;
  const gateway = optionalIpv4(spec.gateway) ?? net.network + 1;
  return { net, start, end, gateway };
}

/** An optional IPAM address field; anything that is not an IPv4 string falls back to the default. */
function optionalIpv4(value: unknown): number | undefined {
  return typeof value === 'string' ? parseIpv4(value) : undefined;
}

/** host-local ADD: the next free IP after last_reserved_ip.0 (round robin), skipping the gateway. */
function runHostLocal(
  st: ChainState,
  networkName: string,
  ipam: Record<string, unknown>,
): { ip: string; range: HostLocalRange } {
  const range = hostLocalRange(ipam);
  if (typeof range === 'string') throw new PluginFailure(range, true);
  const dir = `${IPAM_DATA_DIR}/${networkName}`;
  const legacy = hostLocalIsLegacy(st.view.readFile(`${CNI_BIN_DIR}/host-local`));
  const reserved = new Set(st.view.list(dir).filter(isIpv4));
  const size = range.end - range.start + 1;
  const lastText = st.view.readFile(`${dir}/last_reserved_ip.0`)?.trim();
  const last = lastText ? parseIpv4(lastText) : undefined;
  const first = last !== undefined && last >= range.start && last < range.end ? last + 1 : range.start;
  for (let k = 0; k < size; k++) {
    const candidate = range.start + ((first - range.start + k) % size);
    const ip = formatIpv4(candidate);
    if (candidate === range.gateway || reserved.has(ip)) continue;
    const content = legacy ? st.req.sandboxId : `${st.req.sandboxId}\r\n${st.ifname}`;
    st.tx.push(
      { op: 'write', path: `${dir}/${ip}`, content, mode: 0o600 },
      { op: 'write', path: `${dir}/last_reserved_ip.0`, content: ip, mode: 0o600 },
    );
    if (st.view.readFile(`${dir}/lock`) === undefined)
      st.durable.push({ op: 'write', path: `${dir}/lock`, content: '', mode: 0o600 });
    return { ip, range };
  }
  if (legacy) throw new PluginFailure(`no IP addresses available in network: ${networkName}`, true);
  throw new PluginFailure(
    `failed to allocate for range 0: no IP addresses available in range set: ${formatIpv4(range.start)}-${formatIpv4(range.end)}`,
    true,
  );
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
  const { ip, range } = runHostLocal(st, networkName, ipam);

  const isGateway = conf.isGateway === true || conf.isDefaultGateway === true;
  let addresses = bridge.addresses;
  if (isGateway) {
    const gw = `${formatIpv4(range.gateway)}/${range.net.prefix}`;
    const others = bridge.addresses.filter((a) => a !== gw);
    if (others.length > 0 && conf.forceAddress !== true) {
      throw new PluginFailure(
        `failed to set bridge addr: "${brName}" already has an IP address different from ${gw}`,
        true,
      );
    }
    addresses = [gw];
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
  st.ip = ip;
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

  const delegateType = typeof delegate.type === 'string' ? delegate.type : 'bridge';
  const delegateConf: Record<string, unknown> = {
    cniVersion: list.cniVersion,
    ...delegate,
    name: list.name,
    type: delegateType,
    ipMasq: env.FLANNEL_IPMASQ !== 'true',
    mtu: Number(env.FLANNEL_MTU),
    ...(delegateType === 'bridge' && delegate.isGateway === undefined ? { isGateway: true } : {}),
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: formatIpv4Cidr(subnet) }]],
      routes: network ? [{ dst: formatIpv4Cidr(network) }] : [],
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

/** Plans a sandbox network ADD on the host the view shows. */
export function planCniAdd(view: HostView, req: CniAddRequest, names: SandboxNames): CniAddPlan {
  const selected = selectConfig(view);
  if (selected.kind === 'none') {
    return { result: { ok: false, pluginError: notInitializedError(view.runtime) }, effects: [] };
  }
  if (selected.kind === 'error') return { result: { ok: false, pluginError: selected.message }, effects: [] };
  const { list } = selected;
  const st: ChainState = { view, req, names, ifname: 'eth0', durable: [], tx: [] };
  for (const conf of list.plugins) {
    const type = String(conf.type);
    try {
      if (!binaryPresent(view, type)) throw new PluginFailure(findPluginError(type), false);
      const pluginConf = { cniVersion: list.cniVersion, name: list.name, ...conf };
      if (type === 'flannel') runFlannel(st, pluginConf, list);
      else if (type === 'bridge') runBridge(st, pluginConf);
      else if (type in FOREIGN_PLUGIN_ERRORS) throw new PluginFailure(FOREIGN_PLUGIN_ERRORS[type], true);
      // portmap, loopback, tuning, bandwidth, firewall...: chained plugins that do not change the outcome.
    } catch (err) {
      if (!(err instanceof PluginFailure)) throw err;
      return {
        result: { ok: false, pluginError: err.message, pluginType: type, network: list.name },
        effects: st.durable,
      };
    }
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
    result: { cniVersion: list.cniVersion, ips: [{ address: `${ip}/${prefixOf(view, ip)}` }] },
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
  return { result: { ok: true, ip, network: list.name, netns: names.netns }, effects, sandbox: record };
}

function prefixOf(view: HostView, ip: string): number {
  const n = parseIpv4OrThrow(ip);
  for (const d of view.devices) {
    for (const a of d.addresses) {
      const p = parseIpv4Cidr(a);
      if (p && d.type === 'bridge' && cidrContainsAddress(p, n)) return p.prefix;
    }
  }
  return 24;
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
      if (!isIpv4(f)) continue;
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
