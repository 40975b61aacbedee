import { describe, expect, it } from '@jest/globals';
import type { CheckResult } from '../../src/checks/types.js';
import { buildNetworkReport } from '../../src/diagnosis/network-report.js';

const r = (id: CheckResult['id'], facts: Record<string, unknown>): CheckResult => ({
  id,
  status: 'ok',
  summary: '',
  evidence: [],
  findings: [],
  facts,
});

describe('buildNetworkReport', () => {
  it('reports vxlan with VNI, port and MTU and no warnings on a healthy node', () => {
    const report = buildNetworkReport([
      r('flannel-configmap', { netConf: { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } } }),
      r('node-devices', {
        overlay: { w1: { name: 'flannel.1', type: 'vxlan', mtu: 1450, vni: 1, port: 8472 } },
        nic: { w1: { name: 'eth0', mtu: 1500 } },
      }),
      r('node-subnet-env', { mtu: { w1: 1450 } }),
    ]);
    expect(report).toEqual({ backend: 'vxlan', mtu: 1450, vni: 1, port: 8472, warnings: [] });
  });

  it('warns when FLANNEL_MTU leaves no room for the vxlan header', () => {
    const report = buildNetworkReport([
      r('node-devices', {
        overlay: { w1: { name: 'flannel.1', mtu: 1500 } },
        nic: { w1: { name: 'eth0', mtu: 1500 } },
      }),
      r('node-subnet-env', { mtu: { w1: 1500 } }),
    ]);
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toMatch(
      /^w1: FLANNEL_MTU 1500 on a 1500-byte NIC \(eth0\).*50-byte.*use 1450/,
    );
  });

  it('warns on the deprecated udp backend and on mixed backends', () => {
    const report = buildNetworkReport([
      r('flannel-configmap', { netConf: { Backend: { Type: 'udp' } } }),
      r('node-annotations', { backendTypes: { w1: 'udp', w2: 'vxlan' } }),
    ]);
    expect(report.backend).toBe('udp');
    expect(report.warnings.join('\n')).toMatch(/udp.*deprecated.*debug/);
    expect(report.warnings.join('\n')).toMatch(/backend types differ/);
  });

  it('is empty but valid without facts', () => {
    expect(buildNetworkReport([])).toEqual({ warnings: [] });
  });
});
