/**
 * The check rules of issue 7/9 ("diagnosis you can trust on real clusters"), from plain facts: pod IPs against
 * podCIDRs (gap 1), Multus delegation (2), restarts vs failures (3), untolerated taints (4), a subnet.env that
 * disagrees with the podCIDR (5), node-local flanneld crashes.
 */
import { describe, expect, it } from '@jest/globals';
import { evaluatePodIps, findPodIpProblems, flannelNetworks } from '../../src/checks/api/pod-ips.js';
import { evaluateFlannelPods } from '../../src/checks/api/flannel-pods.js';
import { evaluateFlannelDaemonSet, needsFlannel } from '../../src/checks/api/flannel-daemonset.js';
import { evaluateOtherCnis } from '../../src/checks/api/other-cnis.js';
import { placeDaemonPod } from '../../src/checks/api/placement.js';
import { check as cniConfig, resolveMultusPrimary } from '../../src/checks/node/node-cni-config.js';
import { check as subnetEnv } from '../../src/checks/node/node-subnet-env.js';
import { check as devices } from '../../src/checks/node/node-devices.js';
import { actionHelps } from '../../src/remediations/applicability.js';
import { reportFlannelPodFailure } from '../../src/remediations/actions/report-flannel-pod-failure.js';
import { NO_LEFTOVERS, container, flannelDs, flannelPodOn, node } from './checks-api-fixtures.js';
import {
  CALICO_CONFLIST,
  FLANNEL_CONFLIST,
  defaultDevices,
  facts,
  nodeFacts,
  probeReport,
  subnetEnvFor,
} from './checks-node-helpers.js';

const causes = (r: { findings: Array<{ cause: string }> }) => r.findings.map((f) => f.cause);

describe('pod-ips (gap 1: a second CNI config that hands out its own addresses)', () => {
  const nodes = [
    { name: 'w1', podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] },
    { name: 'w2', podCIDRs: ['10.244.2.0/24'] },
    { name: 'w3', podCIDRs: ['10.244.3.0/24'] },
  ];
  const pod = (name: string, node: string, ...ips: string[]) => ({ namespace: 'shop', name, node, ips });

  it('passes pods inside their node podCIDR, IPv4 and IPv6', () => {
    const r = evaluatePodIps({
      nodes,
      pods: [pod('a', 'w1', '10.244.1.5', 'fd00:10:244:1::5'), pod('b', 'w2', '10.244.2.7')],
      networks: ['10.244.0.0/16', 'fd00:10:244::/56'],
      flannelPresent: true,
    });
    expect(r.status).toBe('ok');
    expect(r.findings).toEqual([]);
  });

  it('finds pods outside the Flannel Network (containerd-net 10.88.x) and their duplicates across nodes', () => {
    const problems = findPodIpProblems({
      nodes,
      pods: [pod('a', 'w2', '10.88.0.2'), pod('b', 'w3', '10.88.0.2'), pod('c', 'w1', '10.244.1.9')],
      networks: ['10.244.0.0/16'],
      flannelPresent: true,
    });
    expect(problems.map((p) => [p.node, p.outsideNetwork, p.duplicates])).toEqual([
      ['w2', ['shop/a'], ['shop/a']],
      ['w3', ['shop/b'], ['shop/b']],
    ]);
    const r = evaluatePodIps({
      nodes,
      pods: [pod('a', 'w2', '10.88.0.2'), pod('b', 'w3', '10.88.0.2')],
      networks: ['10.244.0.0/16'],
      flannelPresent: true,
    });
    expect(r.status).toBe('fail');
    expect(r.findings.map((f) => [f.cause, f.nodes])).toEqual([['cni-config-conflict', ['w2', 'w3']]]);
    // The API alone names the nodes to probe; the probe confirms which config did it.
    expect(r.findings[0].confidence).toBeLessThan(0.5);
    expect(r.evidence.join('\n')).toMatch(
      /shop\/a has IP 10\.88\.0\.2, outside the Flannel Network 10\.244\.0\.0\/16/,
    );
  });

  it('blames subnet.env for pods that took another node range inside the Network', () => {
    const r = evaluatePodIps({
      nodes,
      pods: [pod('a', 'w2', '10.244.0.7')],
      networks: ['10.244.0.0/16'],
      flannelPresent: true,
    });
    expect(r.findings.map((f) => [f.cause, f.nodes])).toEqual([['subnet-env-mismatch', ['w2']]]);
  });

  it('reads the Networks of net-conf.json, IPv6 only when enabled', () => {
    expect(flannelNetworks('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}')).toEqual([
      '10.244.0.0/16',
    ]);
    expect(
      flannelNetworks(
        '{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan"}}',
      ),
    ).toEqual(['10.244.0.0/16', 'fd00:10:244::/56']);
  });
});

describe('Multus (gap 2: what it delegates to decides, not that it is there)', () => {
  const multus = (conf: Record<string, unknown>) =>
    JSON.stringify({ cniVersion: '0.3.1', name: 'multus-cni-network', type: 'multus', ...conf });
  const report = (
    multusConf: string,
    extra: Array<[string, string]> = [['10-flannel.conflist', FLANNEL_CONFLIST]],
  ) => probeReport('w1', 1, { confs: [['00-multus.conf', multusConf], ...extra] });

  it('is fine when delegates[0] embeds the Flannel conflist (thin plugin) or clusterNetwork names it', () => {
    for (const conf of [
      multus({ delegates: [JSON.parse(FLANNEL_CONFLIST)] }),
      multus({ clusterNetwork: '/host/etc/cni/net.d/10-flannel.conflist', type: 'multus-shim' }),
      multus({ clusterNetwork: '/etc/cni/net.d/10-flannel.conflist' }),
      multus({ clusterNetwork: 'cbr0' }),
      multus({ clusterNetwork: '/etc/cni/net.d' }),
    ]) {
      const r = cniConfig.evaluate(facts([nodeFacts(report(conf))]), {});
      expect({ conf, status: r.status, causes: causes(r) }).toEqual({ conf, status: 'ok', causes: [] });
    }
  });

  it('is a conflict when Multus makes another network primary', () => {
    const leftover: Array<[string, string]> = [
      ['10-calico.conflist', CALICO_CONFLIST],
      ['10-flannel.conflist', FLANNEL_CONFLIST],
    ];
    const viaPath = cniConfig.evaluate(
      facts([
        nodeFacts(report(multus({ clusterNetwork: '/host/etc/cni/net.d/10-calico.conflist' }), leftover)),
      ]),
      {},
    );
    expect(causes(viaPath)).toEqual(['cni-config-conflict']);
    expect(viaPath.findings[0].summary).toMatch(/delegates the cluster network to 10-calico\.conflist/);
    const viaDelegate = cniConfig.evaluate(
      facts([nodeFacts(report(multus({ delegates: [JSON.parse(CALICO_CONFLIST)] }), leftover))]),
      {},
    );
    expect(causes(viaDelegate)).toEqual(['cni-config-conflict']);
  });

  it('says when it cannot tell (a NetworkAttachmentDefinition) instead of guessing', () => {
    const r = cniConfig.evaluate(facts([nodeFacts(report(multus({ clusterNetwork: 'default-net' })))]), {});
    expect(r.status).toBe('warn');
    expect(r.findings).toEqual([]);
    expect(r.evidence.join('\n')).toMatch(/network-attachment-definitions default-net/);
  });

  it('points at a missing Flannel conflist as a Flannel pod that did not install it', () => {
    const r = cniConfig.evaluate(
      facts([nodeFacts(report(multus({ clusterNetwork: '/etc/cni/net.d/10-flannel.conflist' }), []))]),
      {},
    );
    expect(causes(r)).toEqual(['flannel-pod-failing']);
    const primary = resolveMultusPrimary(
      report(multus({ clusterNetwork: '/etc/cni/net.d/10-flannel.conflist' }), []).cniConfigs[0],
      [],
      '/etc/cni/net.d',
    );
    expect(primary).toMatchObject({ kind: 'missing', target: '/etc/cni/net.d/10-flannel.conflist' });
  });

  it('reports no conflict from the API for a Multus DaemonSet, only for a competing CNI', () => {
    const multusDs = {
      cni: 'Multus',
      namespace: 'kube-system',
      daemonSet: 'kube-multus-ds',
      images: ['ghcr.io/k8snetworkplumbingwg/multus-cni:v4.1.0'],
      nodes: ['w1'],
    };
    const alone = evaluateOtherCnis({ others: [multusDs], flannelDeployed: true, embedded: false });
    expect(alone.status).toBe('ok');
    expect(alone.findings).toEqual([]);
    const calico = { ...multusDs, cni: 'Calico', daemonSet: 'calico-node', images: ['calico/node:v3.27.0'] };
    const both = evaluateOtherCnis({ others: [multusDs, calico], flannelDeployed: true, embedded: false });
    expect(both.findings.map((f) => [f.cause, f.data])).toEqual([
      ['cni-config-conflict', { cnis: ['Calico'] }],
    ]);
  });
});

describe('flannel-pods (gap 3: restarts are not failures)', () => {
  const now = '2025-09-22T10:00:00Z';
  const restarted = (finishedAt: string, reason = 'Unknown') =>
    flannelPodOn('worker-1', {
      containers: [
        container({
          restartCount: 3,
          startedAt: '2025-09-19T08:00:00Z',
          lastTerminated: { reason, exitCode: 255, finishedAt },
        }),
      ],
    });

  it('calls a Running, Ready pod with old restarts healthy, and says why', () => {
    const r = evaluateFlannelPods({ pods: [restarted('2025-09-19T07:59:00Z')], logs: {}, now });
    expect(r.status).toBe('ok');
    expect(r.findings).toEqual([]);
    expect(r.summary).toMatch(/old restarts only/);
    expect(r.evidence.join('\n')).toMatch(
      /3 restarts, last termination Unknown \(exit code 255\) 3 days ago.*not a failure/,
    );
  });

  it('warns about a Ready pod that terminated minutes ago, below the threshold', () => {
    const r = evaluateFlannelPods({ pods: [restarted('2025-09-22T09:55:00Z', 'Error')], logs: {}, now });
    expect(r.status).toBe('warn');
    expect(r.findings.map((f) => [f.cause, f.confidence])).toEqual([['flannel-pod-failing', 0.4]]);
  });

  it('still fails a pod that is not Ready, and a br_netfilter crash is a node problem no restart fixes', () => {
    const pod = flannelPodOn('worker-2', {
      ready: false,
      containers: [
        container({
          ready: false,
          restartCount: 5,
          state: 'waiting',
          reason: 'CrashLoopBackOff',
          lastTerminated: { reason: 'Error', exitCode: 1, finishedAt: '2025-09-22T09:59:00Z' },
        }),
      ],
    });
    const log = {
      container: 'kube-flannel',
      previous: true,
      lines: [
        'I0922 09:58:59.100000       1 main.go:211] CLI flags config: {...}',
        'E0922 09:58:59.200000       1 main.go:292] Failed to check br_netfilter: stat /proc/sys/net/bridge/bridge-nf-call-iptables: no such file or directory',
      ],
    };
    const r = evaluateFlannelPods({
      pods: [pod],
      logs: { 'kube-flannel/kube-flannel-ds-worker-2': log },
      now,
    });
    expect(r.status).toBe('fail');
    const failing = r.findings.filter((f) => f.cause === 'flannel-pod-failing');
    expect(Math.max(...failing.map((f) => f.confidence))).toBe(0.85);
    expect(failing[0].data?.podFailure).toEqual({ 'worker-2': 'node-config' });
    const cause = { id: 'flannel-pod-failing' as const, data: failing[0].data };
    expect(actionHelps('restart-flannel-pod', cause, 'worker-2')).toBe(false);
    expect(actionHelps('report-flannel-pod-failure', cause)).toBe(true);
  });
});

describe('flannel-daemonset (gap 4: nodes the DaemonSet never schedules a pod on)', () => {
  const tainted = node('gpu-1', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }] });
  const master = node('cp-1', {
    taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
  });

  it('knows which nodes need Flannel: pods with a pod network, or room for ordinary pods', () => {
    expect(needsFlannel(tainted, 0)).toBe(false);
    expect(needsFlannel(tainted, 2)).toBe(true);
    expect(needsFlannel(node('w1'), 0)).toBe(true);
    expect(needsFlannel(node('win', { labels: { 'kubernetes.io/os': 'windows' } }), 5)).toBe(false);
  });

  it('names the untolerated taint and the toleration to add, though desired == ready', () => {
    const r = evaluateFlannelDaemonSet({
      daemonSets: [flannelDs({ desired: 2, current: 2, ready: 2 })],
      pods: [flannelPodOn('w1'), flannelPodOn('cp-1')],
      nodes: [node('w1'), master, tainted],
      leftovers: NO_LEFTOVERS,
      stuckPods: 2,
      podNetworkPods: { w1: 4, 'gpu-1': 2 },
    });
    expect(r.status).toBe('fail');
    expect(r.findings.map((f) => [f.cause, f.nodes, f.confidence])).toEqual([
      ['flannel-pod-failing', ['gpu-1'], 0.85],
    ]);
    const data = r.findings[0].data as Record<string, Record<string, unknown>>;
    expect(data.podFailure).toEqual({ 'gpu-1': 'not-scheduled' });
    expect(data.unscheduled['gpu-1']).toMatchObject({
      taints: ['dedicated=gpu:NoExecute'],
      tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }],
    });
    expect(r.evidence.join('\n')).toMatch(
      /2 pods with a pod network run there, but DaemonSet kube-flannel\/kube-flannel-ds schedules no pod on it: taint dedicated=gpu:NoExecute not tolerated/,
    );
    const cause = { id: 'flannel-pod-failing' as const, data: r.findings[0].data };
    expect(actionHelps('restart-flannel-pod', cause, 'gpu-1')).toBe(false);
    expect(actionHelps('report-flannel-pod-failure', cause)).toBe(true);
  });

  it('honours the DaemonSet controller default tolerations, selectors and required affinity', () => {
    const base = { tolerations: [], nodeSelector: {}, hostNetwork: true };
    const cordonTaint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
    expect(placeDaemonPod(base, { name: 'a', labels: {}, taints: [cordonTaint] }).fits).toBe(true);
    const arch = placeDaemonPod(
      { ...base, nodeSelector: { 'beta.kubernetes.io/arch': 'amd64' } },
      { name: 'a', labels: { 'beta.kubernetes.io/arch': 'arm64' }, taints: [] },
    );
    expect(arch.selector).toEqual(['beta.kubernetes.io/arch=amd64 (node has beta.kubernetes.io/arch=arm64)']);
    const affinity = placeDaemonPod(
      {
        ...base,
        nodeAffinity: [
          { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] },
        ],
      },
      { name: 'a', labels: {}, taints: [] },
    );
    expect(affinity.affinity).toBe(true);
  });

  it('the report tells the person which toleration to add, as a kubectl patch', async () => {
    const preview = await reportFlannelPodFailure.preview({
      params: {
        podFailure: { 'gpu-1': 'not-scheduled' },
        podProblem: {
          'gpu-1': {
            pod: 'kube-flannel/kube-flannel-ds',
            problem: 'no Flannel pod: taint dedicated=gpu:NoExecute not tolerated',
            images: [],
          },
        },
        unscheduled: {
          'gpu-1': {
            daemonSet: 'kube-flannel/kube-flannel-ds',
            tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }],
            selector: [],
          },
        },
      },
    } as never);
    expect(preview.commands?.[0]).toBe(
      `kubectl -n kube-flannel patch ds kube-flannel-ds --type=json -p '[{"op":"add","path":"/spec/template/spec/tolerations/-","value":{"key":"dedicated","operator":"Exists","effect":"NoExecute"}}]'`,
    );
  });
});

describe('subnet.env against the podCIDR (gap 5)', () => {
  it('names subnet-env-mismatch when FLANNEL_SUBNET is another node range', () => {
    const report = probeReport('w2', 2, { subnetEnv: subnetEnvFor(0) });
    const r = subnetEnv.evaluate(facts([nodeFacts(report, { podCIDR: '10.244.2.0/24' })]), {});
    expect(causes(r)).toEqual(['subnet-env-mismatch']);
    expect(r.findings[0].confidence).toBe(0.85);
    expect(r.findings[0].summary).toMatch(
      /restart the Flannel pod on the node so flanneld rewrites it.*do not copy or hand-write/,
    );
    expect(r.findings[0].data).toEqual({
      subnetEnvMismatch: {
        w2: { subnet: '10.244.0.1/24', network: '10.244.0.0/16', podCIDR: '10.244.2.0/24' },
      },
    });
  });

  it('does not call cni0 stale when it follows the wrong subnet.env, nor when only subnet.env is wrong', () => {
    // cni0 built from the wrong subnet.env: deleting it would recreate it the same way.
    const follows = probeReport('w2', 2, {
      subnetEnv: subnetEnvFor(0),
      devices: defaultDevices(2).map((d) => (d.name === 'cni0' ? { ...d, addrs: ['10.244.0.1/24'] } : d)),
    });
    const r1 = devices.evaluate(facts([nodeFacts(follows, { podCIDR: '10.244.2.0/24' })]), {});
    expect(causes(r1)).toEqual(['subnet-env-mismatch']);
    expect(r1.evidence.join('\n')).toMatch(/deleting cni0 alone would recreate it the same way/);
    // cni0 right, subnet.env wrong: the bridge plugin refuses pods, but cni0 is not the problem.
    const right = probeReport('w2', 2, { subnetEnv: subnetEnvFor(0) });
    const r2 = devices.evaluate(facts([nodeFacts(right, { podCIDR: '10.244.2.0/24' })]), {});
    expect(causes(r2)).toEqual([]);
    expect(r2.evidence.join('\n')).toMatch(
      /cni0 carries the podCIDR gateway 10\.244\.2\.1\/24, but FLANNEL_SUBNET says 10\.244\.0\.1\/24/,
    );
    // A real stale cni0 (subnet.env and podCIDR agree) is still one.
    const stale = probeReport('w2', 2, {
      devices: defaultDevices(2).map((d) => (d.name === 'cni0' ? { ...d, addrs: ['10.244.9.1/24'] } : d)),
    });
    expect(causes(devices.evaluate(facts([nodeFacts(stale, { podCIDR: '10.244.2.0/24' })]), {}))).toEqual([
      'stale-cni0',
    ]);
  });
});
