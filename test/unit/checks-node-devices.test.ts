import { describe, expect, it } from '@jest/globals';
import { check as devices } from '../../src/checks/node/node-devices.js';
import { check as subnetEnv } from '../../src/checks/node/node-subnet-env.js';
import { defaultDevices, facts, nodeFacts, probeReport, subnetEnvFor } from './checks-node-helpers.js';

describe('node-devices', () => {
  it('is ok with cni0 on the podCIDR gateway and flannel.1 present, and records vxlan facts', () => {
    const r = devices.evaluate(facts([nodeFacts(probeReport('worker-1', 1))]), {});
    expect(r.status).toBe('ok');
    expect(r.findings).toEqual([]);
    expect(r.facts?.overlay).toEqual({
      'worker-1': {
        name: 'flannel.1',
        type: 'vxlan',
        mtu: 1450,
        vni: 1,
        port: 8472,
        addresses: ['10.244.1.0/32'],
      },
    });
    expect(r.facts?.nic).toEqual({ 'worker-1': { name: 'eth0', mtu: 1500 } });
  });

  it('finds a stale cni0 and shows both addresses', () => {
    const devs = defaultDevices(1).map((d) => (d.name === 'cni0' ? { ...d, addrs: ['10.244.9.1/24'] } : d));
    const r = devices.evaluate(facts([nodeFacts(probeReport('worker-1', 1, { devices: devs }))]), {});
    expect(r.status).toBe('fail');
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({
      cause: 'stale-cni0',
      nodes: ['worker-1'],
      data: { staleCni0: { 'worker-1': { addresses: ['10.244.9.1/24'], expected: '10.244.1.1/24' } } },
    });
    expect(f.evidence.join(' ')).toMatch(/10\.244\.9\.1\/24.*10\.244\.1\.1\/24/);
  });

  it('reports flannel.1 missing where the Flannel pod runs', () => {
    const devs = defaultDevices(1).filter((d) => d.name !== 'flannel.1');
    const r = devices.evaluate(facts([nodeFacts(probeReport('worker-1', 1, { devices: devs }))]), {});
    expect(r.status).toBe('fail');
    expect(r.findings.map((f) => f.cause)).toEqual(['flannel-pod-failing']);
    expect(r.summary).toContain('flannel.1 missing');
  });

  it('points at the missing deployment when neither cni0 nor flannel.1 exist and Flannel is not deployed', () => {
    const report = probeReport('cp-1', 0, {
      devices: [{ name: 'eth0', mtu: 1500, addrs: ['192.168.56.10/24'] }],
    });
    const r = devices.evaluate(
      facts([nodeFacts(report, { flannelPod: null, backendType: undefined })], false),
      {},
    );
    expect(r.findings.map((f) => f.cause)).toEqual(['flannel-not-deployed']);
    expect(r.findings[0].summary).toContain('no flannel.1 and no cni0');
  });

  it('expects no overlay device with the host-gw backend', () => {
    const devs = defaultDevices(1).filter((d) => d.name !== 'flannel.1');
    const r = devices.evaluate(
      facts([nodeFacts(probeReport('w', 1, { devices: devs }), { backendType: 'host-gw' })]),
      {},
    );
    expect(r.status).toBe('ok');
  });
});

describe('node-subnet-env', () => {
  it('is ok when FLANNEL_SUBNET is the podCIDR gateway', () => {
    const r = subnetEnv.evaluate(facts([nodeFacts(probeReport('worker-1', 1))]), {});
    expect(r.status).toBe('ok');
    expect(r.facts?.mtu).toEqual({ 'worker-1': 1450 });
  });

  it('reports a missing subnet.env, with less weight when Flannel is not deployed', () => {
    const report = probeReport('worker-1', 1, { subnetEnv: null });
    const deployed = subnetEnv.evaluate(facts([nodeFacts(report)], true), {});
    expect(deployed.status).toBe('fail');
    expect(deployed.findings[0]).toMatchObject({ cause: 'subnet-env-missing' });
    expect(deployed.findings[0].confidence).toBeGreaterThanOrEqual(0.7);
    expect(deployed.findings[0].summary).toMatch(/do not copy or hand-write/);
    const notDeployed = subnetEnv.evaluate(facts([nodeFacts(report, { flannelPod: null })], false), {});
    expect(notDeployed.findings[0].confidence).toBeLessThan(deployed.findings[0].confidence);
    expect(notDeployed.findings[0].confidence).toBeLessThan(0.5);
  });

  it('reports incomplete keys', () => {
    const env = subnetEnvFor(1);
    delete (env as Record<string, string | undefined>).FLANNEL_MTU;
    const r = subnetEnv.evaluate(facts([nodeFacts(probeReport('w', 1, { subnetEnv: env }))]), {});
    expect(r.findings[0]).toMatchObject({ cause: 'subnet-env-missing' });
    expect(r.summary).toContain('FLANNEL_MTU');
  });

  it('reports FLANNEL_SUBNET not matching the podCIDR', () => {
    const report = probeReport('w', 1, { subnetEnv: subnetEnvFor(7) });
    const r = subnetEnv.evaluate(facts([nodeFacts(report, { podCIDR: '10.244.1.0/24' })]), {});
    expect(r.status).toBe('fail');
    expect(r.summary).toBe('w: FLANNEL_SUBNET 10.244.7.1/24 does not match podCIDR 10.244.1.0/24');
  });

  it('reports a podCIDR outside FLANNEL_NETWORK', () => {
    const report = probeReport('w', 1);
    const r = subnetEnv.evaluate(facts([nodeFacts(report, { podCIDR: '10.42.1.0/24' })]), {});
    expect(r.findings.map((f) => f.cause)).toEqual(['podcidr-outside-network']);
  });
});
