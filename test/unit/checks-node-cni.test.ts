import { describe, expect, it } from '@jest/globals';
import { check as cniConfig } from '../../src/checks/node/node-cni-config.js';
import { check as cniPlugins } from '../../src/checks/node/node-cni-plugins.js';
import { CALICO_CONFLIST, FLANNEL_CONFLIST, facts, nodeFacts, probeReport } from './checks-node-helpers.js';

const PARAMS = { plugins: ['flannel', 'bridge', 'host-local', 'portmap', 'loopback'] };

describe('node-cni-config', () => {
  it('is ok when Flannel conflist is the first loadable config and reports its IPAM network name', () => {
    const r = cniConfig.evaluate(facts([nodeFacts(probeReport('worker-1', 1))]), {});
    expect(r.status).toBe('ok');
    expect(r.findings).toEqual([]);
    expect(r.facts).toEqual({
      files: { 'worker-1': ['10-flannel.conflist'] },
      effective: { 'worker-1': '10-flannel.conflist' },
      ipamNetwork: { 'worker-1': 'cbr0' },
    });
  });

  it('names the conflicting configs in runtime order when another CNI sorts first', () => {
    const report = probeReport('worker-2', 2, {
      confs: [
        ['10-calico.conflist', CALICO_CONFLIST],
        ['10-flannel.conflist', FLANNEL_CONFLIST],
      ],
    });
    const r = cniConfig.evaluate(facts([nodeFacts(report)]), {});
    expect(r.status).toBe('fail');
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ cause: 'cni-config-conflict', nodes: ['worker-2'] });
    expect(f.confidence).toBeGreaterThanOrEqual(0.8);
    expect(f.data).toEqual({
      conflicts: {
        'worker-2': {
          files: ['10-calico.conflist', '10-flannel.conflist'],
          effective: '10-calico.conflist',
          flannel: '10-flannel.conflist',
        },
      },
    });
    expect(f.evidence.join('\n')).toContain('10-calico.conflist, 10-flannel.conflist');
  });

  it('treats containerd sample config and a non-delegating Multus config as conflicts', () => {
    const containerdNet = JSON.stringify({
      name: 'containerd-net',
      cniVersion: '1.0.0',
      plugins: [{ type: 'bridge' }],
    });
    const multus = JSON.stringify({
      name: 'multus-cni-network',
      type: 'multus',
      delegates: [{ type: 'calico' }],
    });
    for (const [file, content] of [
      ['10-containerd-net.conflist', containerdNet],
      ['00-multus.conf', multus],
    ]) {
      const report = probeReport('w', 1, {
        confs: [
          [file, content],
          ['10-flannel.conflist', FLANNEL_CONFLIST],
        ],
      });
      const r = cniConfig.evaluate(facts([nodeFacts(report)]), {});
      expect(r.findings.map((x) => x.cause)).toEqual(['cni-config-conflict']);
    }
  });

  it('accepts a Multus config first when it delegates to Flannel', () => {
    const multus = JSON.stringify({
      name: 'multus-cni-network',
      type: 'multus',
      delegates: [JSON.parse(FLANNEL_CONFLIST) as unknown],
    });
    const report = probeReport('w', 1, {
      confs: [
        ['00-multus.conf', multus],
        ['10-flannel.conflist', FLANNEL_CONFLIST],
      ],
    });
    expect(cniConfig.evaluate(facts([nodeFacts(report)]), {}).status).toBe('ok');
  });

  it('reports a corrupt Flannel conflist on the node', () => {
    const report = probeReport('worker-1', 1, {
      confs: [['10-flannel.conflist', '{"name": "cbr0", "plugins": [']],
    });
    const r = cniConfig.evaluate(facts([nodeFacts(report)]), {});
    expect(r.status).toBe('fail');
    expect(r.findings).toEqual([
      expect.objectContaining({ cause: 'flannel-config-corrupt', nodes: ['worker-1'] }),
    ]);
  });

  it('blames the missing deployment when there is no CNI config and no Flannel DaemonSet', () => {
    const report = probeReport('cp-1', 0, { confs: [] });
    const r = cniConfig.evaluate(facts([nodeFacts(report, { flannelPod: null })], false), {});
    expect(r.status).toBe('fail');
    expect(r.findings.map((f) => f.cause)).toEqual(['flannel-not-deployed']);
    // With Flannel deployed, the missing conflist is the Flannel pod's failure instead.
    const deployed = cniConfig.evaluate(facts([nodeFacts(report)], true), {});
    expect(deployed.findings.map((f) => f.cause)).toEqual(['flannel-pod-failing']);
  });

  it('turns a failed probe into an error for that node only', () => {
    const bad = {
      ...nodeFacts(probeReport('worker-2', 2)),
      probe: { ok: false as const, error: 'probe pod cannot start: ImagePullBackOff' },
    };
    const r = cniConfig.evaluate(facts([nodeFacts(probeReport('worker-1', 1)), bad]), {});
    expect(r.status).toBe('error');
    expect(r.summary).toContain('worker-2: probe failed: probe pod cannot start: ImagePullBackOff');
    expect(r.evidence).toContain('worker-2: probe failed: probe pod cannot start: ImagePullBackOff');
    expect(r.evidence.some((l) => l.startsWith('worker-1: '))).toBe(true);
  });
});

describe('node-cni-plugins', () => {
  it('is ok when every required plugin is an executable file', () => {
    expect(cniPlugins.evaluate(facts([nodeFacts(probeReport('w', 1))]), PARAMS).status).toBe('ok');
  });

  it('says the install-cni-plugin init container did not run when only flannel is missing', () => {
    const report = probeReport('worker-1', 1, { bins: ['bridge', 'host-local', 'loopback', 'portmap'] });
    const r = cniPlugins.evaluate(facts([nodeFacts(report)]), PARAMS);
    expect(r.status).toBe('fail');
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({
      cause: 'cni-plugin-missing',
      data: { missingPlugins: { 'worker-1': ['flannel'] } },
    });
    expect(r.findings[0].summary).toContain('install-cni-plugin init container');
  });

  it('says to install the containernetworking plugins when upstream ones are missing', () => {
    const report = probeReport('worker-1', 1, { bins: ['flannel', 'loopback'] });
    const r = cniPlugins.evaluate(facts([nodeFacts(report)]), PARAMS);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0].summary).toMatch(/install the containernetworking plugins/);
    expect(r.findings[0].data).toEqual({
      missingPlugins: { 'worker-1': ['bridge', 'host-local', 'portmap'] },
    });
  });

  it('honours the runbook plugin list', () => {
    const report = probeReport('w', 1, { bins: ['flannel', 'bridge', 'host-local', 'loopback'] });
    expect(cniPlugins.evaluate(facts([nodeFacts(report)]), { plugins: ['flannel', 'bridge'] }).status).toBe(
      'ok',
    );
    expect(cniPlugins.evaluate(facts([nodeFacts(report)]), PARAMS).status).toBe('fail');
  });

  it('gives the flannel binary little weight when Flannel is not deployed', () => {
    const report = probeReport('cp-1', 0, { bins: ['bridge', 'host-local', 'loopback', 'portmap'] });
    const r = cniPlugins.evaluate(facts([nodeFacts(report, { flannelPod: null })], false), PARAMS);
    expect(r.findings[0].confidence).toBeLessThan(0.5);
  });
});
