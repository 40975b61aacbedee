/**
 * IPv4 address and CIDR arithmetic (pure), shared by the checks and the simulator. Addresses are
 * unsigned 32-bit numbers; IPv6 is recognised (isIpv6) but not computed with: Flannel's IPv4
 * `Network` only governs IPv4 ranges.
 */

export interface Ipv4Cidr {
  /** The CIDR as written, trimmed (evidence quotes what the user or the API wrote). */
  text: string;
  /** The address as written (10.244.1.1 in 10.244.1.1/24). */
  address: number;
  /** The network address, host bits cleared (10.244.1.0 in 10.244.1.1/24). */
  network: number;
  prefix: number;
}

/** `a.b.c.d` with decimal octets 0-255; undefined for anything else. */
export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
}

/** For addresses already validated (scenario files, addresses the simulator allocated itself). */
export function parseIpv4OrThrow(text: string): number {
  const ip = parseIpv4(text);
  if (ip === undefined) throw new Error(`invalid IPv4 address: ${text}`);
  return ip;
}

export function isIpv4(text: string): boolean {
  return parseIpv4(text) !== undefined;
}

/** IPv6 addresses and CIDRs are the only ones written with a colon. */
export function isIpv6(text: string): boolean {
  return text.includes(':');
}

export function formatIpv4(ip: number): string {
  return [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `a.b.c.d/len` like Go's net.ParseCIDR; undefined when it is not an IPv4 CIDR. */
export function parseIpv4Cidr(text: string | undefined): Ipv4Cidr | undefined {
  if (!text) return undefined;
  const trimmed = text.trim();
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(trimmed);
  if (!m) return undefined;
  const address = parseIpv4(m[1]);
  const prefix = Number(m[2]);
  if (address === undefined || prefix > 32) return undefined;
  return { text: trimmed, address, network: (address & maskOf(prefix)) >>> 0, prefix };
}

/** The network form, `10.244.1.0/24` (host bits cleared). */
export function formatIpv4Cidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefix}`;
}

export function cidrContainsAddress(cidr: Ipv4Cidr, ip: number): boolean {
  return (ip & maskOf(cidr.prefix)) >>> 0 === cidr.network;
}

/** True when every address of `inner` lies in `outer`. */
export function cidrContainsCidr(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrContainsAddress(outer, inner.network);
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.network <= broadcastAddress(b) && b.network <= broadcastAddress(a);
}

export function sameNetwork(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.network === b.network && a.prefix === b.prefix;
}

/** The last address of the range (all host bits set). */
export function broadcastAddress(cidr: Ipv4Cidr): number {
  return (cidr.network | (~maskOf(cidr.prefix) >>> 0)) >>> 0;
}

/** The first host address, which flannel gives the cni0 bridge (10.244.1.1 in 10.244.1.0/24). */
export function gatewayAddress(cidr: Ipv4Cidr): string {
  return formatIpv4((cidr.network + 1) >>> 0);
}

/** The bridge gateway with its prefix, as flannel writes FLANNEL_SUBNET (10.244.1.1/24). */
export function gatewayCidr(cidr: Ipv4Cidr): string {
  return `${gatewayAddress(cidr)}/${cidr.prefix}`;
}

/**
 * Pod IPs host-local hands out from a flannel node range: network, gateway (.1, cni0) and broadcast
 * are never given to pods, so a /24 holds 253 (domain/flannel.md §2).
 */
export function usablePodIps(prefix: number): number {
  return Math.max(0, 2 ** (32 - prefix) - 3);
}

/** Pairs of overlapping CIDRs among named ranges, sorted, each pair once (CIDRs quoted as written). */
export function findOverlaps(
  ranges: ReadonlyArray<{ name: string; cidr: Ipv4Cidr }>,
): Array<{ a: string; b: string; aCidr: string; bCidr: string }> {
  const sorted = [...ranges].sort((x, y) => x.cidr.network - y.cidr.network || x.name.localeCompare(y.name));
  const overlaps: Array<{ a: string; b: string; aCidr: string; bCidr: string }> = [];
  for (let i = 0; i < sorted.length; i++) {
    const end = broadcastAddress(sorted[i].cidr);
    for (let j = i + 1; j < sorted.length && sorted[j].cidr.network <= end; j++) {
      const [a, b] = [sorted[i], sorted[j]].sort((x, y) => x.name.localeCompare(y.name));
      overlaps.push({ a: a.name, b: b.name, aCidr: a.cidr.text, bCidr: b.cidr.text });
    }
  }
  return overlaps.sort((x, y) => x.a.localeCompare(y.a) || x.b.localeCompare(y.b));
}

/** Numeric order for dotted IPv4 strings (non-IPv4 strings sort last, by text). */
export function compareIps(a: string, b: string): number {
  const x = parseIpv4(a);
  const y = parseIpv4(b);
  if (x !== undefined && y !== undefined) return x - y;
  if (x !== undefined) return -1;
  if (y !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** "10.244.1.5-10.244.1.254, 10.244.1.17": consecutive IPs collapsed, for evidence lines. */
export function summarizeIps(ips: readonly string[], maxParts = 6): string {
  const sorted = [...ips].sort(compareIps);
  const parts: string[] = [];
  let start = 0;
  for (let i = 1; i <= sorted.length; i++) {
    const prev = parseIpv4(sorted[i - 1]);
    const cur = i < sorted.length ? parseIpv4(sorted[i]) : undefined;
    if (prev !== undefined && cur !== undefined && cur === prev + 1) continue;
    parts.push(i - 1 === start ? sorted[start] : `${sorted[start]}-${sorted[i - 1]}`);
    start = i;
  }
  if (parts.length <= maxParts) return parts.join(', ');
  return `${parts.slice(0, maxParts).join(', ')} and ${parts.length - maxParts} more`;
}
