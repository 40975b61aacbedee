/**
 * IPv4 and IPv6 addresses and CIDRs as BigInts (pure): parsing, formatting (RFC 5952 for IPv6),
 * containment. For dual-stack pod ranges and pod IPs; IPv4-only code keeps using ./ipv4.ts.
 * Validation is node:net's (isIPv4/isIPv6), so only well-formed addresses get this far.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface Cidr {
  family: IpFamily;
  /** As written, trimmed. */
  text: string;
  /** The address as written (host bits kept). */
  address: bigint;
  /** Host bits cleared. */
  network: bigint;
  prefix: number;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

export function ipFamily(text: string): IpFamily | undefined {
  const t = text.trim();
  return isIPv4(t) ? 4 : isIPv6(t) ? 6 : undefined;
}

/** The address as a number, undefined when it is not an IPv4 or IPv6 address. */
export function parseIp(text: string): { family: IpFamily; value: bigint } | undefined {
  const t = text.trim();
  if (isIPv4(t)) {
    return { family: 4, value: t.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) };
  }
  if (!isIPv6(t)) return undefined;
  let groupsText = t;
  // An embedded IPv4 tail (::ffff:10.0.0.1) stands for the last two groups.
  const lastColon = t.lastIndexOf(':');
  if (t.slice(lastColon + 1).includes('.')) {
    const v4 = parseIp(t.slice(lastColon + 1));
    if (!v4 || v4.family !== 4) return undefined;
    groupsText = `${t.slice(0, lastColon + 1)}${(v4.value >> 16n).toString(16)}:${(v4.value & 0xffffn).toString(16)}`;
  }
  const toGroups = (s: string) => (s === '' ? [] : s.split(':').map((g) => BigInt(parseInt(g, 16))));
  const [left, right] = groupsText.split('::');
  const l = toGroups(left);
  const r = right === undefined ? [] : toGroups(right);
  const groups = right === undefined ? l : [...l, ...Array<bigint>(8 - l.length - r.length).fill(0n), ...r];
  if (groups.length !== 8) return undefined;
  return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | g, 0n) };
}

export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - i * 16)) & 0xffffn));
  // RFC 5952: the longest run (≥ 2) of zero groups becomes "::", the first one on a tie.
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { start: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.len).join(':')}`;
}

export function parseCidr(text: string | undefined): Cidr | undefined {
  if (!text) return undefined;
  const t = text.trim();
  const slash = t.lastIndexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(t.slice(0, slash));
  const prefixText = t.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > BITS[ip.family]) return undefined;
  return {
    family: ip.family,
    text: t,
    address: ip.value,
    network: ip.value & mask(ip.family, prefix),
    prefix,
  };
}

function mask(family: IpFamily, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  const all = (1n << bits) - 1n;
  return prefix === 0 ? 0n : (all << (bits - BigInt(prefix))) & all;
}

export function cidrContainsIp(cidr: Cidr, ip: string): boolean {
  const p = parseIp(ip);
  return !!p && p.family === cidr.family && (p.value & mask(cidr.family, cidr.prefix)) === cidr.network;
}

export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    inner.prefix >= outer.prefix &&
    (inner.network & mask(outer.family, outer.prefix)) === outer.network
  );
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.family, cidr.network)}/${cidr.prefix}`;
}

/** The last address of the range (IPv4 broadcast). */
export function lastAddress(cidr: Cidr): bigint {
  return cidr.network | (((1n << BigInt(BITS[cidr.family])) - 1n) & ~mask(cidr.family, cidr.prefix));
}
