import { describe, expect, it } from '@jest/globals';
import {
  cidrContains,
  cidrsOverlap,
  findOverlaps,
  formatIpv4,
  parseIpv4Cidr,
  usablePodIps,
} from '../../src/checks/api/cidr.js';

const c = (text: string) => {
  const parsed = parseIpv4Cidr(text);
  if (!parsed) throw new Error(`bad cidr ${text}`);
  return parsed;
};

describe('CIDR maths', () => {
  it('parses CIDRs and clears host bits', () => {
    expect(formatIpv4(c('10.244.1.7/24').base)).toBe('10.244.1.0');
    expect(c('10.244.0.0/16').prefix).toBe(16);
    expect(parseIpv4Cidr('10.244.0.0')).toBeUndefined();
    expect(parseIpv4Cidr('10.256.0.0/16')).toBeUndefined();
    expect(parseIpv4Cidr('10.244.0.0/33')).toBeUndefined();
    expect(parseIpv4Cidr('fd00::/64')).toBeUndefined();
  });

  it('tells whether a node range lies inside the Flannel Network', () => {
    expect(cidrContains(c('10.244.0.0/16'), c('10.244.9.0/24'))).toBe(true);
    expect(cidrContains(c('10.244.0.0/16'), c('10.42.1.0/24'))).toBe(false);
    expect(cidrContains(c('10.244.0.0/16'), c('10.244.0.0/15'))).toBe(false);
    expect(cidrContains(c('0.0.0.0/0'), c('255.255.255.0/24'))).toBe(true);
  });

  it('finds overlapping node ranges, each pair once and sorted', () => {
    expect(cidrsOverlap(c('10.244.1.0/24'), c('10.244.1.128/25'))).toBe(true);
    expect(cidrsOverlap(c('10.244.1.0/24'), c('10.244.2.0/24'))).toBe(false);
    const overlaps = findOverlaps([
      { name: 'w3', cidr: c('10.244.2.0/24') },
      { name: 'w1', cidr: c('10.244.1.0/24') },
      { name: 'w2', cidr: c('10.244.1.0/24') },
      { name: 'w0', cidr: c('10.244.0.0/23') },
    ]);
    expect(overlaps.map((o) => `${o.a}-${o.b}`)).toEqual(['w0-w1', 'w0-w2', 'w1-w2']);
  });

  it('counts the pod IPs host-local can hand out (network, gateway and broadcast excluded)', () => {
    expect(usablePodIps(24)).toBe(253);
    expect(usablePodIps(27)).toBe(29);
    expect(usablePodIps(31)).toBe(0);
    expect(usablePodIps(32)).toBe(0);
  });
});
