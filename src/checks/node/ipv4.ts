/** IPv4 arithmetic the node checks need: podCIDR gateways, host-local range sizes, numeric sorting. */

export interface Ipv4Cidr {
  /** The address as written (10.244.1.1 in 10.244.1.1/24). */
  ip: number;
  /** The network address (10.244.1.0 in 10.244.1.1/24). */
  network: number;
  prefix: number;
}

export function parseIpv4(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `a.b.c.d/len` like Go's net.ParseCIDR; undefined when it is not an IPv4 CIDR. */
export function parseCidr(cidr: string | undefined): Ipv4Cidr | undefined {
  if (!cidr) return undefined;
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) return undefined;
  const ip = parseIpv4(m[1]);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  return { ip, network: (ip & maskOf(prefix)) >>> 0, prefix };
}

export function networkString(c: Ipv4Cidr): string {
  return `${formatIpv4(c.network)}/${c.prefix}`;
}

export function cidrContains(c: Ipv4Cidr, ip: number): boolean {
  return (ip & maskOf(c.prefix)) >>> 0 === c.network;
}

/** Whether `inner` lies entirely inside `outer`. */
export function cidrWithin(inner: Ipv4Cidr, outer: Ipv4Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrContains(outer, inner.network);
}

export function sameNetwork(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.network === b.network && a.prefix === b.prefix;
}

/** The bridge gateway flannel gives cni0 (FLANNEL_SUBNET): the first host address, e.g. 10.244.1.1/24. */
export function gatewayCidr(podCidr: Ipv4Cidr): string {
  return `${formatIpv4(podCidr.network + 1)}/${podCidr.prefix}`;
}

/**
 * Pod IPs host-local hands out from a flannel subnet: the network, the gateway (.1) and the broadcast
 * address are never given, so a /24 holds 253 (domain/flannel.md §2).
 */
export function hostLocalRangeSize(podCidr: Ipv4Cidr): number {
  return Math.max(0, 2 ** (32 - podCidr.prefix) - 3);
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
