/**
 * The node probe's JSON (printed by flannel-probe.sh) validated with zod, then enriched into the
 * facts the diagnosis checks use: parsed CNI configs, devices from iproute2 text, subnet.env
 * variables and host-local reservations. Pure functions: no I/O.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseDevices, type NetDevice } from './iproute.js';

export { parseDevices, parseAddrLines, parseLinkLines } from './iproute.js';
export type { NetDevice, Ipv4Address, VxlanDetails, DeviceType } from './iproute.js';

export const PROBE_VERSION = 1;
export const REQUIRED_CNI_PLUGINS = ['flannel', 'bridge', 'host-local', 'portmap', 'loopback'] as const;

const confFileSchema = z.object({
  name: z.string(),
  size: z.number().int().nonnegative().nullable(),
  readable: z.boolean(),
  truncated: z.boolean().optional(),
  content: z.string().optional(),
  looksLikeJson: z.boolean().optional(),
  netName: z.string().nullable().optional(),
  cniVersion: z.string().nullable().optional(),
  pluginTypes: z.array(z.string()).optional(),
});

const binFileSchema = z.object({
  name: z.string(),
  type: z.enum(['file', 'dir', 'other']),
  symlink: z.boolean(),
  size: z.number().int().nonnegative().nullable(),
  executable: z.boolean(),
});

const commandOutputSchema = z.object({
  command: z.string(),
  exitCode: z.number().int(),
  lines: z.array(z.string()),
});

const ipamFileSchema = z.object({
  name: z.string(),
  lines: z.array(z.string()),
  error: z.string().optional(),
});

const ipamNetworkSchema = z.object({
  name: z.string(),
  readable: z.boolean(),
  lock: z.boolean(),
  files: z.array(ipamFileSchema),
  otherEntries: z.array(z.string()),
});

/** Exactly what the script prints (unknown keys are dropped, so a newer script stays readable). */
export const probeOutputSchema = z.object({
  probeVersion: z.literal(PROBE_VERSION),
  node: z.string(),
  time: z.string(),
  hostRoot: z.string(),
  cniConf: z.object({
    dir: z.string(),
    exists: z.boolean(),
    files: z.array(confFileSchema),
    otherEntries: z.array(z.string()),
  }),
  cniBin: z.object({
    dir: z.string(),
    exists: z.boolean(),
    files: z.array(binFileSchema),
    required: z.record(z.string(), z.boolean()),
  }),
  net: z.object({
    addr: commandOutputSchema,
    link: commandOutputSchema,
    /** `ip -4 route show` (probe scripts before routes were collected leave it out). */
    route: commandOutputSchema.optional(),
    sysClassNet: z.object({ dir: z.string(), readable: z.boolean(), names: z.array(z.string()) }),
  }),
  subnetEnv: z.object({
    path: z.string(),
    present: z.boolean(),
    readable: z.boolean(),
    entries: z.array(z.object({ key: z.string(), value: z.string() })),
    otherLines: z.array(z.string()),
  }),
  ipam: z.object({
    dir: z.string(),
    exists: z.boolean(),
    networks: z.array(ipamNetworkSchema),
    otherEntries: z.array(z.string()),
  }),
  netns: z.object({ dir: z.string(), exists: z.boolean(), entries: z.array(z.string()) }),
  /** `crictl pods -o json`, null when the probe has no crictl or no runtime socket. */
  cri: commandOutputSchema.nullable().optional(),
  errors: z.array(z.string()),
});

export type ProbeOutput = z.infer<typeof probeOutputSchema>;

export interface CniPluginConf {
  type: string;
  /** flannel's `delegate` dictionary (the bridge options), when present. */
  delegate?: Record<string, unknown>;
}

export interface CniConfigFile {
  file: string;
  size: number | null;
  /** `.conflist` holds a plugin chain; `.conf`/`.json` a single plugin. */
  format: 'conflist' | 'conf';
  truncated: boolean;
  /** Whether the runtime could load it (libcni rules: JSON object, name, non-empty plugins, each with a type). */
  loadable: boolean;
  /** Why it is not loadable. */
  problem?: string;
  name?: string;
  cniVersion?: string;
  plugins: CniPluginConf[];
  content?: string;
}

export interface SubnetEnv {
  path: string;
  present: boolean;
  readable: boolean;
  vars: Record<string, string>;
  network?: string;
  subnet?: string;
  mtu?: number;
  ipmasq?: boolean;
  ipv6Network?: string;
  ipv6Subnet?: string;
  otherLines: string[];
}

export interface IpamReservation {
  network: string;
  ip: string;
  /** The pod sandbox ID that owns the IP (first line of the file). */
  containerId: string;
  /** Second line; absent in files written by old plugin versions. */
  ifname?: string;
  /** The file exists (the IP is taken) but the probe could not read its owner. */
  unreadable?: true;
}

export interface IpamNetwork {
  name: string;
  readable: boolean;
  lock: boolean;
  reservations: IpamReservation[];
  /** `last_reserved_ip.<rangeId>` -> IP. */
  lastReserved: Record<string, string>;
  /** Regular files that are neither reservations nor cursors. */
  otherFiles: string[];
  otherEntries: string[];
}

export interface ProbeReport {
  probeVersion: number;
  node: string;
  time: string;
  hostRoot: string;
  cniConf: { dir: string; exists: boolean; otherEntries: string[] };
  /** In the order the runtime reads them. */
  cniConfigs: CniConfigFile[];
  /** The first loadable config: the one the runtime uses. */
  effectiveConfig: CniConfigFile | null;
  cniBin: {
    dir: string;
    exists: boolean;
    files: ProbeOutput['cniBin']['files'];
    /** Required plugins that are absent or not executable. */
    missing: string[];
  };
  devices: NetDevice[];
  /** Device names under /sys/class/net, null when unreadable. */
  sysClassNet: string[] | null;
  subnetEnv: SubnetEnv;
  ipam: { dir: string; exists: boolean; networks: IpamNetwork[] };
  /** Every reservation of every network, flattened. */
  reservations: IpamReservation[];
  netns: { dir: string; exists: boolean; entries: string[] };
  /** Routes of the main table (`ip -4 route`), null when the probe did not list them. */
  routes: Route[] | null;
  /** The runtime's sandboxes (`crictl pods`), null when the probe could not ask the runtime. */
  sandboxes: CriSandboxView[] | null;
  errors: string[];
}

export interface Route {
  dst: string;
  via?: string;
  dev?: string;
}

export interface CriSandboxView {
  id: string;
  /** SANDBOX_READY or SANDBOX_NOTREADY. */
  state: string;
  name: string;
  namespace: string;
}

/** `ip route` lines: `DST [via GW] [dev DEV] ...`. */
export function parseRoutes(lines: readonly string[]): Route[] {
  const out: Route[] = [];
  for (const line of lines) {
    const words = line.trim().split(/\s+/);
    if (!words[0]) continue;
    const after = (key: string) => {
      const i = words.indexOf(key);
      return i >= 0 ? words[i + 1] : undefined;
    };
    const via = after('via');
    const dev = after('dev');
    out.push({ dst: words[0], ...(via ? { via } : {}), ...(dev ? { dev } : {}) });
  }
  return out;
}

/** `crictl pods -o json`: {"items": [{id, state, metadata: {name, namespace}}]}; null when it is not that. */
export function parseCrictlPods(text: string): CriSandboxView[] | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const items = (json as { items?: unknown })?.items;
  if (!Array.isArray(items)) return null;
  return items.flatMap((item) => {
    const it = item as { id?: unknown; state?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
    if (typeof it.id !== 'string') return [];
    return [
      {
        id: it.id,
        state: typeof it.state === 'string' ? it.state : 'SANDBOX_UNKNOWN',
        name: typeof it.metadata?.name === 'string' ? it.metadata.name : '',
        namespace: typeof it.metadata?.namespace === 'string' ? it.metadata.namespace : '',
      },
    ];
  });
}

/** Invalid probe output; the message names the field and the reason. */
export class ProbeOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeOutputError';
  }
}

/** Validates the probe's stdout and derives the facts. Throws ProbeOutputError naming the field. */
export function parseProbeOutput(text: string): ProbeReport {
  const trimmed = text.trim();
  if (trimmed === '') throw new ProbeOutputError('probe output is empty');
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch (err) {
    const start = trimmed.slice(0, 80).replace(/\s+/g, ' ');
    throw new ProbeOutputError(
      `probe output is not JSON (${(err as Error).message}); it starts with: ${start}`,
    );
  }
  const result = probeOutputSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ProbeOutputError(`probe output field "${formatPath(issue.path)}": ${issue.message}`);
  }
  return enrichProbeOutput(result.data);
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

export function enrichProbeOutput(out: ProbeOutput): ProbeReport {
  const cniConfigs = out.cniConf.files.map(parseCniConfigFile);
  const networks = out.ipam.networks.map(parseIpamNetwork);
  const errors = [...out.errors];
  // Report host paths (/etc/cni/net.d), not where the probe container mounted them (/host/etc/cni/net.d).
  const host = (path: string) => hostPathOf(path, out.hostRoot);
  for (const network of out.ipam.networks) {
    for (const file of network.files) {
      if (file.error)
        errors.push(`cannot read ${host(out.ipam.dir)}/${network.name}/${file.name}: ${file.error}`);
    }
  }
  return {
    probeVersion: out.probeVersion,
    node: out.node,
    time: out.time,
    hostRoot: out.hostRoot,
    cniConf: {
      dir: host(out.cniConf.dir),
      exists: out.cniConf.exists,
      otherEntries: out.cniConf.otherEntries,
    },
    cniConfigs,
    effectiveConfig: cniConfigs.find((c) => c.loadable) ?? null,
    cniBin: {
      dir: host(out.cniBin.dir),
      exists: out.cniBin.exists,
      files: out.cniBin.files,
      missing: REQUIRED_CNI_PLUGINS.filter(
        (name) => !out.cniBin.files.some((f) => f.name === name && f.type === 'file' && f.executable),
      ),
    },
    devices: parseDevices(
      out.net.addr.exitCode === 0 ? out.net.addr.lines : [],
      out.net.link.exitCode === 0 ? out.net.link.lines : [],
    ),
    sysClassNet: out.net.sysClassNet.readable ? out.net.sysClassNet.names : null,
    subnetEnv: parseSubnetEnv({ ...out.subnetEnv, path: host(out.subnetEnv.path) }),
    ipam: { dir: host(out.ipam.dir), exists: out.ipam.exists, networks },
    reservations: networks.flatMap((n) => n.reservations),
    netns: { ...out.netns, dir: host(out.netns.dir) },
    routes: out.net.route && out.net.route.exitCode === 0 ? parseRoutes(out.net.route.lines) : null,
    sandboxes: out.cri && out.cri.exitCode === 0 ? parseCrictlPods(out.cri.lines.join('\n')) : null,
    errors: [
      ...errors,
      ...(out.cri && out.cri.exitCode !== 0
        ? [`crictl pods failed (exit ${out.cri.exitCode}): ${out.cri.lines.join(' ').slice(0, 300)}`]
        : []),
    ],
  };
}

/**
 * The node's own path for a path the probe saw under its host-root mounts: `/host/run/flannel/subnet.env`
 * -> `/run/flannel/subnet.env`. Paths elsewhere (a custom mount) are returned unchanged.
 */
export function hostPathOf(path: string, hostRoot: string): string {
  const root = hostRoot.replace(/\/+$/, '');
  if (root === '') return path;
  const at = path.indexOf(`${root}/`);
  return at < 0 ? path : path.slice(at + root.length);
}

type ConfFile = z.infer<typeof confFileSchema>;

const pluginSchema = z.looseObject({ type: z.string().min(1) });

/** Mirrors what libcni (and so containerd, CRI-O and dockershim) accepts when loading a file. */
export function parseCniConfigFile(file: ConfFile): CniConfigFile {
  const format = file.name.endsWith('.conflist') ? 'conflist' : 'conf';
  const base: CniConfigFile = {
    file: file.name,
    size: file.size,
    format,
    truncated: file.truncated ?? false,
    loadable: false,
    plugins: [],
    content: file.content,
  };
  if (!file.readable || file.content === undefined) return { ...base, problem: 'not readable' };
  if (base.truncated) return { ...base, problem: `larger than the probe reads (${file.size} bytes)` };
  let json: unknown;
  try {
    json = JSON.parse(file.content);
  } catch (err) {
    return { ...base, problem: `invalid JSON: ${(err as Error).message}` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ...base, problem: 'not a JSON object' };
  }
  const obj = json as Record<string, unknown>;
  const name = typeof obj.name === 'string' ? obj.name : undefined;
  const cniVersion = typeof obj.cniVersion === 'string' ? obj.cniVersion : undefined;
  const described = { ...base, name, cniVersion };
  const rawPlugins = format === 'conflist' ? obj.plugins : [obj];
  if (format === 'conflist' && !Array.isArray(rawPlugins))
    return { ...described, problem: 'no "plugins" list' };
  const plugins: CniPluginConf[] = [];
  for (const [i, raw] of (rawPlugins as unknown[]).entries()) {
    const parsed = pluginSchema.safeParse(raw);
    if (!parsed.success) {
      const where = format === 'conflist' ? `plugins[${i}]` : 'the config';
      return { ...described, plugins, problem: `${where} has no "type"` };
    }
    const delegate = parsed.data.delegate;
    plugins.push({
      type: parsed.data.type,
      ...(isRecord(delegate) ? { delegate } : {}),
    });
  }
  if (plugins.length === 0) return { ...described, problem: 'no plugins in the list' };
  if (name === undefined || name === '') return { ...described, plugins, problem: 'no "name"' };
  return { ...described, plugins, loadable: true };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseSubnetEnv(raw: ProbeOutput['subnetEnv']): SubnetEnv {
  const vars: Record<string, string> = {};
  for (const { key, value } of raw.entries) vars[key] = stripQuotes(value.trim());
  const mtu =
    vars.FLANNEL_MTU !== undefined && /^\d+$/.test(vars.FLANNEL_MTU) ? Number(vars.FLANNEL_MTU) : undefined;
  const ipmasq = vars.FLANNEL_IPMASQ === 'true' ? true : vars.FLANNEL_IPMASQ === 'false' ? false : undefined;
  return {
    path: raw.path,
    present: raw.present,
    readable: raw.readable,
    vars,
    ...(vars.FLANNEL_NETWORK ? { network: vars.FLANNEL_NETWORK } : {}),
    ...(vars.FLANNEL_SUBNET ? { subnet: vars.FLANNEL_SUBNET } : {}),
    ...(mtu !== undefined ? { mtu } : {}),
    ...(ipmasq !== undefined ? { ipmasq } : {}),
    ...(vars.FLANNEL_IPV6_NETWORK ? { ipv6Network: vars.FLANNEL_IPV6_NETWORK } : {}),
    ...(vars.FLANNEL_IPV6_SUBNET ? { ipv6Subnet: vars.FLANNEL_IPV6_SUBNET } : {}),
    otherLines: raw.otherLines,
  };
}

function stripQuotes(v: string): string {
  const m = /^(["'])(.*)\1$/.exec(v);
  return m ? m[2] : v;
}

const LAST_RESERVED = /^last_reserved_ip\.(.+)$/;

export function parseIpamNetwork(raw: ProbeOutput['ipam']['networks'][number]): IpamNetwork {
  const reservations: IpamReservation[] = [];
  const lastReserved: Record<string, string> = {};
  const otherFiles: string[] = [];
  for (const file of raw.files) {
    const lines = file.lines.map((l) => l.replace(/\r$/, '').trim());
    const cursor = LAST_RESERVED.exec(file.name);
    if (cursor) {
      lastReserved[cursor[1]] = lines[0] ?? '';
      continue;
    }
    // host-local names files by IP; on Windows ':' becomes '_'.
    const ip = file.name.replace(/_/g, ':');
    if (isIP(ip) === 0) {
      otherFiles.push(file.name);
      continue;
    }
    reservations.push({
      network: raw.name,
      ip,
      containerId: lines[0] ?? '',
      ...(lines[1] ? { ifname: lines[1] } : {}),
      ...(file.error ? { unreadable: true as const } : {}),
    });
  }
  return {
    name: raw.name,
    readable: raw.readable,
    lock: raw.lock,
    reservations,
    lastReserved,
    otherFiles,
    otherEntries: raw.otherEntries,
  };
}
