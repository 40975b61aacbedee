/** IPv4 arithmetic for the simulated CNI plugins (host-local ranges, bridge gateways). */

export interface Ipv4Net {
  /** Network address as an unsigned 32-bit integer. */
  network: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`invalid IPv4 address: ${ip}`);
  }
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIpv4(s: string): boolean {
  try {
    ipToInt(s);
    return true;
  } catch {
    return false;
  }
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses `a.b.c.d/len` like Go's net.ParseCIDR: returns the address and its network; undefined when invalid. */
export function parseCidr(cidr: string): { ip: number; net: Ipv4Net } | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr.trim());
  if (!m || !isIpv4(m[1]) || Number(m[2]) > 32) return undefined;
  const ip = ipToInt(m[1]);
  const prefix = Number(m[2]);
  return { ip, net: { network: (ip & maskOf(prefix)) >>> 0, prefix } };
}

export function netToString(net: Ipv4Net): string {
  return `${intToIp(net.network)}/${net.prefix}`;
}

export function netContains(net: Ipv4Net, ip: number): boolean {
  return (ip & maskOf(net.prefix)) >>> 0 === net.network;
}

export function broadcastOf(net: Ipv4Net): number {
  return (net.network | (~maskOf(net.prefix) >>> 0)) >>> 0;
}
