/**
 * Parsers for the iproute2 text the node probe collects: `ip -o addr show` (one line per address)
 * and `ip -d link show` (a block per device, the kind details on the continuation lines).
 * Pure functions.
 */

export type DeviceType =
  | 'loopback'
  | 'vxlan'
  | 'bridge'
  | 'veth'
  | 'tun'
  | 'wireguard'
  | 'dummy'
  | 'vlan'
  | 'macvlan'
  | 'ipvlan'
  | 'bond'
  | 'geneve'
  | 'ipip'
  | 'gre'
  | 'other';

const KINDS: ReadonlySet<string> = new Set([
  'vxlan',
  'bridge',
  'veth',
  'tun',
  'wireguard',
  'dummy',
  'vlan',
  'macvlan',
  'ipvlan',
  'bond',
  'geneve',
  'ipip',
  'gre',
]);

export interface Ipv4Address {
  address: string;
  prefix: number;
  /** address/prefix as configured, e.g. 10.244.1.1/24. */
  cidr: string;
}

export interface VxlanDetails {
  id: number;
  dstport?: number;
  local?: string;
  dev?: string;
  learning?: boolean;
}

export interface NetDevice {
  name: string;
  index?: number;
  type: DeviceType;
  /** The part after `@` in `veth1@if3`. */
  peer?: string;
  flags: string[];
  mtu?: number;
  state?: string;
  master?: string;
  /** From the `link/<type>` line: ether, loopback, none... */
  linkType?: string;
  mac?: string;
  ipv4: Ipv4Address[];
  ipv6: string[];
  vxlan?: VxlanDetails;
}

export interface AddrEntry {
  index: number;
  name: string;
  family: 'inet' | 'inet6';
  /** address/prefix; prefix defaults to the host length when iproute2 prints none (peer addresses). */
  cidr: string;
  address: string;
  prefix: number;
}

const ADDR_LINE = /^(\d+):\s+(\S+?)(?:@\S+)?\s+(inet6?)\s+(\S+)/;

/** `ip -o addr show` lines -> one entry per address. Unknown lines are ignored. */
export function parseAddrLines(lines: readonly string[]): AddrEntry[] {
  const entries: AddrEntry[] = [];
  for (const raw of lines) {
    // In -o output a `\` joins what would have been continuation lines.
    const line = raw.split('\\')[0];
    const m = ADDR_LINE.exec(line.trim());
    if (!m) continue;
    const family = m[3] as 'inet' | 'inet6';
    const [address, prefixText] = m[4].split('/');
    const prefix = prefixText !== undefined ? Number(prefixText) : family === 'inet' ? 32 : 128;
    if (!Number.isInteger(prefix)) continue;
    entries.push({ index: Number(m[1]), name: m[2], family, address, prefix, cidr: `${address}/${prefix}` });
  }
  return entries;
}

/** What the link lines say of a device; `kind` (from `-d`) becomes the device type. */
type LinkEntry = Pick<
  NetDevice,
  'name' | 'peer' | 'flags' | 'mtu' | 'state' | 'master' | 'linkType' | 'mac' | 'vxlan'
> & {
  index: number;
  kind?: string;
};

const LINK_HEADER = /^(\d+):\s+([^\s:@]+)(?:@([^\s:]+))?:\s+<([^>]*)>(.*)$/;

/** `ip -d link show` (or `ip link show`, or `ip -o link show`) -> one entry per device. */
export function parseLinkLines(lines: readonly string[]): LinkEntry[] {
  const entries: LinkEntry[] = [];
  let current: LinkEntry | undefined;
  for (const physical of lines) {
    for (const line of physical.split(/\\(?=\s)/)) {
      const header = LINK_HEADER.exec(line.trim());
      if (header) {
        current = {
          index: Number(header[1]),
          name: header[2],
          ...(header[3] ? { peer: header[3] } : {}),
          flags: header[4] ? header[4].split(',') : [],
        };
        const rest = header[5];
        const mtu = /\bmtu (\d+)/.exec(rest);
        if (mtu) current.mtu = Number(mtu[1]);
        const state = /\bstate (\S+)/.exec(rest);
        if (state) current.state = state[1];
        const master = /\bmaster (\S+)/.exec(rest);
        if (master) current.master = master[1];
        entries.push(current);
        continue;
      }
      if (!current) continue;
      describeDetailLine(current, line.trim());
    }
  }
  return entries;
}

function describeDetailLine(entry: LinkEntry, line: string): void {
  const linkMatch = /^link\/(\S+)(?:\s+(\S+))?/.exec(line);
  if (linkMatch) {
    entry.linkType = linkMatch[1];
    if (linkMatch[2] && /^[0-9a-f]{2}(:[0-9a-f]{2})+$/i.test(linkMatch[2])) entry.mac = linkMatch[2];
    return;
  }
  const first = line.split(/\s+/)[0];
  if (entry.kind || !KINDS.has(first)) return;
  entry.kind = first;
  if (first === 'vxlan') {
    const id = /\bid (\d+)/.exec(line);
    if (!id) return;
    const vxlan: VxlanDetails = { id: Number(id[1]) };
    const dstport = /\bdstport (\d+)/.exec(line);
    if (dstport) vxlan.dstport = Number(dstport[1]);
    const local = /\blocal (\S+)/.exec(line);
    if (local) vxlan.local = local[1];
    const dev = /\bdev (\S+)/.exec(line);
    if (dev) vxlan.dev = dev[1];
    if (/\bnolearning\b/.test(line)) vxlan.learning = false;
    else if (/\blearning\b/.test(line)) vxlan.learning = true;
    entry.vxlan = vxlan;
  }
}

/** Joins link and address information into one record per device, in ifindex order. */
export function parseDevices(addrLines: readonly string[], linkLines: readonly string[]): NetDevice[] {
  const byName = new Map<string, NetDevice>();
  for (const link of parseLinkLines(linkLines)) {
    const type: DeviceType =
      link.kind && KINDS.has(link.kind)
        ? (link.kind as DeviceType)
        : link.linkType === 'loopback'
          ? 'loopback'
          : 'other';
    byName.set(link.name, {
      name: link.name,
      index: link.index,
      type,
      ...(link.peer ? { peer: link.peer } : {}),
      flags: link.flags,
      ...(link.mtu !== undefined ? { mtu: link.mtu } : {}),
      ...(link.state ? { state: link.state } : {}),
      ...(link.master ? { master: link.master } : {}),
      ...(link.linkType ? { linkType: link.linkType } : {}),
      ...(link.mac ? { mac: link.mac } : {}),
      ipv4: [],
      ipv6: [],
      ...(link.vxlan ? { vxlan: link.vxlan } : {}),
    });
  }
  for (const addr of parseAddrLines(addrLines)) {
    let device = byName.get(addr.name);
    if (!device) {
      device = { name: addr.name, index: addr.index, type: 'other', flags: [], ipv4: [], ipv6: [] };
      byName.set(addr.name, device);
    }
    if (addr.family === 'inet')
      device.ipv4.push({ address: addr.address, prefix: addr.prefix, cidr: addr.cidr });
    else device.ipv6.push(addr.cidr);
  }
  return [...byName.values()].sort((a, b) => (a.index ?? Infinity) - (b.index ?? Infinity));
}
