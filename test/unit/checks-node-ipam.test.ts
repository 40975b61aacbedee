import { describe, expect, it } from '@jest/globals';
import { check as ipam } from '../../src/checks/node/node-ipam.js';
import { check as netns } from '../../src/checks/node/node-netns.js';
import { facts, nodeFacts, pod, probeReport, reservations } from './checks-node-helpers.js';

const RUNNING = [
  pod('checkout-a', '10.244.1.2'),
  pod('checkout-b', '10.244.1.3'),
  pod('checkout-c', '10.244.1.4'),
];

describe('node-ipam', () => {
  it('lists exactly the leaked IPs, numerically sorted, when leaks fill the range', () => {
    const report = probeReport('worker-1', 1, { ipam: { network: 'cbr0', files: reservations(1, 2, 254) } });
    const r = ipam.evaluate(facts([nodeFacts(report, { pods: [...RUNNING, pod('stuck', undefined)] })]), {});
    expect(r.status).toBe('fail');
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f.cause).toBe('ipam-leak');
    expect(f.confidence).toBeGreaterThanOrEqual(0.9);
    const leaked = (f.data?.leakedIps as Record<string, string[]>)['worker-1'];
    const expected = Array.from({ length: 250 }, (_, i) => `10.244.1.${i + 5}`);
    expect(leaked).toEqual(expected);
    for (const p of RUNNING) expect(leaked).not.toContain(p.ips[0]);
    expect(f.data?.ipamNetwork).toEqual({ 'worker-1': 'cbr0' });
    expect(f.evidence.join('\n')).toContain('10.244.1.5-10.244.1.254');
  });

  it('sorts leaked IPs by number, not text, and reads the network name from the conflist', () => {
    const conflist = JSON.stringify({ name: 'cni0', cniVersion: '0.3.1', plugins: [{ type: 'flannel' }] });
    const files: Array<[string, string]> = [
      '10.244.1.100',
      '10.244.1.20',
      '10.244.1.3',
      '10.244.1.9',
      '10.244.1.11',
    ].map((ip) => [ip, 'f'.repeat(64)]);
    const report = probeReport('w', 1, {
      confs: [['10-flannel.conflist', conflist]],
      ipam: { network: 'cni0', files },
    });
    const r = ipam.evaluate(facts([nodeFacts(report, { pods: [pod('a', '10.244.1.11')] })]), {});
    expect(r.findings[0].data?.leakedIps).toEqual({
      w: ['10.244.1.3', '10.244.1.9', '10.244.1.20', '10.244.1.100'],
    });
  });

  it('calls a range filled by real pods exhausted, not leaked', () => {
    const files = reservations(1, 2, 254);
    const pods = files.map(([ip], i) => pod(`p${i}`, ip));
    const report = probeReport('worker-1', 1, { ipam: { network: 'cbr0', files } });
    const r = ipam.evaluate(facts([nodeFacts(report, { pods, maxPods: 300 })]), {});
    expect(r.findings.map((f) => f.cause)).toEqual(['ipam-exhausted']);
    expect(r.findings[0].evidence.join('\n')).toContain('kubelet allows 300 pods');
  });

  it('is ok when every reservation is a pod IP, and weak on one or two unmatched ones', () => {
    const report = probeReport('w', 1, { ipam: { network: 'cbr0', files: reservations(1, 2, 4) } });
    expect(ipam.evaluate(facts([nodeFacts(report, { pods: RUNNING })]), {}).status).toBe('ok');
    const one = ipam.evaluate(facts([nodeFacts(report, { pods: RUNNING.slice(0, 2) })]), {});
    expect(one.status).toBe('warn');
    expect(one.findings[0].confidence).toBeLessThan(0.5);
  });

  it('keeps reservations from an old podCIDR apart and weak', () => {
    const files: Array<[string, string]> = [
      ['10.244.9.7', 'a'.repeat(64)],
      ['10.244.9.8', 'b'.repeat(64)],
      ['10.244.1.2', 'c'.repeat(64)],
    ];
    const report = probeReport('w', 1, { ipam: { network: 'cbr0', files } });
    const r = ipam.evaluate(facts([nodeFacts(report, { pods: [pod('a', '10.244.1.2')] })]), {});
    expect(r.findings[0].confidence).toBeLessThan(0.5);
    expect(r.findings[0].data?.leakedIps).toEqual({ w: ['10.244.9.7', '10.244.9.8'] });
  });
});

describe('node-netns', () => {
  it('reports namespaces beyond the running sandboxes as weak support for ipam-leak', () => {
    const names = ['cni-1', 'cni-2', 'cni-3', 'cni-4', 'cni-5', 'cni-6'];
    const report = probeReport('worker-1', 1, { netns: names });
    const r = netns.evaluate(facts([nodeFacts(report, { pods: [...RUNNING, pod('stuck', undefined)] })]), {});
    expect(r.status).toBe('warn');
    expect(r.findings[0]).toMatchObject({
      cause: 'ipam-leak',
      data: { leftoverNetns: { 'worker-1': { count: 3, candidates: names } } },
    });
    expect(r.findings[0].confidence).toBeLessThan(0.5);
  });

  it('is ok when every namespace has a pod', () => {
    const report = probeReport('w', 1, { netns: ['cni-1', 'cni-2', 'cni-3'] });
    expect(netns.evaluate(facts([nodeFacts(report, { pods: RUNNING })]), {}).findings).toEqual([]);
  });
});
