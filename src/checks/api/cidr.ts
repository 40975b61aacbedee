/**
 * IPv4 CIDR maths for podCIDR checks (pure). IPv6 ranges are recognised and left out: Flannel's
 * IPv4 `Network` only governs IPv4 podCIDRs.
 */

export interface Ipv4Cidr {
  /** The CIDR as written. */
  text: string;
  /** Network address as an unsigned 32-bit number (host bits cleared). */
  base: number;
  prefix: number;
}

export function parseIpv4(text: string): number | undefined {
  const parts = text.trim().split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Parses `a.b.c.d/n`; host bits are cleared (the kernel and Kubernetes do the same). */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const m = /^\s*([0-9.]+)\/(\d{1,2})\s*$/.exec(text);
  if (!m) return undefined;
  const ip = parseIpv4(m[1]);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  return { text: text.trim(), base: Math.floor(ip / size) * size, prefix };
}

export function isIpv6Cidr(text: string): boolean {
  return text.includes(':');
}

function lastAddress(c: Ipv4Cidr): number {
  return c.base + 2 ** (32 - c.prefix) - 1;
}

/** True when every address of `inner` lies in `outer`. */
export function cidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  return inner.prefix >= outer.prefix && inner.base >= outer.base && lastAddress(inner) <= lastAddress(outer);
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.base <= lastAddress(b) && b.base <= lastAddress(a);
}

/**
 * Pod IPs host-local hands out from a flannel node range: network, gateway (.1, cni0) and broadcast
 * are never given to pods, so a /24 holds 253 (domain/flannel.md §2).
 */
export function usablePodIps(prefix: number): number {
  return Math.max(0, 2 ** (32 - prefix) - 3);
}

/** Pairs of overlapping CIDRs among named ranges, sorted, each pair once. */
export function findOverlaps(
  ranges: ReadonlyArray<{ name: string; cidr: Ipv4Cidr }>,
): Array<{ a: string; b: string; aCidr: string; bCidr: string }> {
  const sorted = [...ranges].sort((x, y) => x.cidr.base - y.cidr.base || x.name.localeCompare(y.name));
  const overlaps: Array<{ a: string; b: string; aCidr: string; bCidr: string }> = [];
  for (let i = 0; i < sorted.length; i++) {
    const end = lastAddress(sorted[i].cidr);
    for (let j = i + 1; j < sorted.length && sorted[j].cidr.base <= end; j++) {
      const [a, b] = [sorted[i], sorted[j]].sort((x, y) => x.name.localeCompare(y.name));
      overlaps.push({ a: a.name, b: b.name, aCidr: a.cidr.text, bCidr: b.cidr.text });
    }
  }
  return overlaps.sort((x, y) => x.a.localeCompare(y.a) || x.b.localeCompare(y.b));
}
