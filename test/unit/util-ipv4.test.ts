import { describe, expect, it } from '@jest/globals';
import {
  broadcastAddress,
  cidrContainsAddress,
  cidrContainsCidr,
  cidrsOverlap,
  compareIps,
  findOverlaps,
  formatIpv4,
  formatIpv4Cidr,
  gatewayAddress,
  gatewayCidr,
  isIpv4,
  isIpv6,
  parseIpv4,
  parseIpv4Cidr,
  parseIpv4OrThrow,
  sameNetwork,
  summarizeIps,
  usablePodIps,
} from '../../src/util/ipv4.js';

const c = (text: string) => {
  const parsed = parseIpv4Cidr(text);
  if (!parsed) throw new Error(`bad cidr ${text}`);
  return parsed;
};

describe('IPv4 addresses', () => {
  it('parses dotted quads to unsigned numbers and formats them back', () => {
    expect(parseIpv4('10.244.1.5')).toBe(0x0af40105);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIpv4(' 10.0.0.1 ')).toBe(0x0a000001);
    expect(formatIpv4(0x0af40105)).toBe('10.244.1.5');
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
  });

  it('rejects what is not an IPv4 address', () => {
    for (const bad of ['10.244.1', '10.244.1.256', '10..1.2', 'a.b.c.d', '10.244.1.5/24', 'fd00::1', '']) {
      expect(parseIpv4(bad)).toBeUndefined();
      expect(isIpv4(bad)).toBe(false);
    }
    expect(() => parseIpv4OrThrow('10.244.1')).toThrow('invalid IPv4 address: 10.244.1');
    expect(parseIpv4OrThrow('192.168.56.10')).toBe(0xc0a8380a);
  });

  it('recognises IPv6 by its colons', () => {
    expect(isIpv6('fd00::/64')).toBe(true);
    expect(isIpv6('10.244.0.0/16')).toBe(false);
  });

  it('sorts numerically, non-IPv4 last', () => {
    expect(['10.244.1.10', 'x', '10.244.1.9', '10.244.0.200'].sort(compareIps)).toEqual([
      '10.244.0.200',
      '10.244.1.9',
      '10.244.1.10',
      'x',
    ]);
  });

  it('summarizes runs of consecutive IPs', () => {
    expect(summarizeIps(['10.244.1.7', '10.244.1.5', '10.244.1.6', '10.244.1.17'])).toBe(
      '10.244.1.5-10.244.1.7, 10.244.1.17',
    );
    expect(summarizeIps(['10.0.0.1', '10.0.0.3', '10.0.0.5'], 2)).toBe('10.0.0.1, 10.0.0.3 and 1 more');
    expect(summarizeIps([])).toBe('');
  });
});

describe('CIDR maths', () => {
  it('parses CIDRs and clears host bits', () => {
    expect(formatIpv4(c('10.244.1.7/24').network)).toBe('10.244.1.0');
    expect(c('10.244.0.0/16').prefix).toBe(16);
    expect(parseIpv4Cidr('10.244.0.0')).toBeUndefined();
    expect(parseIpv4Cidr('10.256.0.0/16')).toBeUndefined();
    expect(parseIpv4Cidr('10.244.0.0/33')).toBeUndefined();
    expect(parseIpv4Cidr('fd00::/64')).toBeUndefined();
    expect(parseIpv4Cidr(undefined)).toBeUndefined();
  });

  it('keeps the address and the text as written', () => {
    const cidr = c(' 10.244.1.7/24 ');
    expect(formatIpv4(cidr.address)).toBe('10.244.1.7');
    expect(cidr.text).toBe('10.244.1.7/24');
    expect(formatIpv4Cidr(cidr)).toBe('10.244.1.0/24');
  });

  it('tells whether a node range lies inside the Flannel Network', () => {
    expect(cidrContainsCidr(c('10.244.0.0/16'), c('10.244.9.0/24'))).toBe(true);
    expect(cidrContainsCidr(c('10.244.0.0/16'), c('10.42.1.0/24'))).toBe(false);
    expect(cidrContainsCidr(c('10.244.0.0/16'), c('10.244.0.0/15'))).toBe(false);
    expect(cidrContainsCidr(c('0.0.0.0/0'), c('255.255.255.0/24'))).toBe(true);
  });

  it('tells whether an address lies in a range', () => {
    expect(cidrContainsAddress(c('10.244.1.0/24'), parseIpv4OrThrow('10.244.1.254'))).toBe(true);
    expect(cidrContainsAddress(c('10.244.1.0/24'), parseIpv4OrThrow('10.244.2.1'))).toBe(false);
  });

  it('compares networks, ignoring the host bits as written', () => {
    expect(sameNetwork(c('10.244.1.1/24'), c('10.244.1.0/24'))).toBe(true);
    expect(sameNetwork(c('10.244.1.0/24'), c('10.244.1.0/25'))).toBe(false);
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
    expect(overlaps[0]).toMatchObject({ aCidr: '10.244.0.0/23', bCidr: '10.244.1.0/24' });
  });

  it('gives the cni0 gateway and the broadcast address of a node range', () => {
    expect(gatewayAddress(c('10.244.1.0/24'))).toBe('10.244.1.1');
    expect(gatewayCidr(c('10.244.1.0/24'))).toBe('10.244.1.1/24');
    expect(formatIpv4(broadcastAddress(c('10.244.1.0/24')))).toBe('10.244.1.255');
    expect(formatIpv4(broadcastAddress(c('0.0.0.0/0')))).toBe('255.255.255.255');
  });

  it('counts the pod IPs host-local can hand out (network, gateway and broadcast excluded)', () => {
    expect(usablePodIps(24)).toBe(253);
    expect(usablePodIps(27)).toBe(29);
    expect(usablePodIps(31)).toBe(0);
    expect(usablePodIps(32)).toBe(0);
  });
});
