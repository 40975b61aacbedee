/** Pure decision logic of the simulated cluster: flanneld start-up, placement, event aggregation, probe paths. */
import { describe, expect, it } from '@jest/globals';
import { COMBINED_PREFIX, EventRecorder } from '../../src/sim/kube/cluster/event-recorder.js';
import { decideFlanneld, subnetEnv } from '../../src/sim/kube/cluster/flanneld.js';
import { daemonPodFits, podFits } from '../../src/sim/kube/cluster/placement.js';
import { rewritePaths } from '../../src/sim/kube/cluster/probe-runner.js';
import { ObjectStore } from '../../src/sim/kube/store.js';

const NET_CONF = '{"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}}';
const base = { nodeName: 'worker-1', internalIP: '192.168.56.11' };

describe('decideFlanneld', () => {
  it('comes up with the lease flanneld writes to subnet.env', () => {
    const out = decideFlanneld({ ...base, podCIDR: '10.244.1.0/24', netConf: NET_CONF });
    if (out.kind !== 'up') throw new Error(out.error);
    expect(subnetEnv(out.lease)).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    );
    expect(out.log).toMatch(
      /^I\d{4} \d\d:\d\d:\d\d\.\d{6} +1 main\.go:\d+\] Wrote subnet file to \/run\/flannel\/subnet\.env$/m,
    );
  });

  it.each([
    [
      { podCIDR: '10.244.1.0/24', netConf: '{"Network": "10.244.0.0/16",}' },
      /error parsing subnet config: invalid character/,
    ],
    [
      { podCIDR: '10.244.1.0/24', netConf: undefined },
      /failed to read net conf: open \/etc\/kube-flannel\/net-conf\.json/,
    ],
    [{ podCIDR: undefined, netConf: NET_CONF }, /node "worker-1" pod cidr not assigned/],
    [
      { podCIDR: '10.42.1.0/24', netConf: NET_CONF },
      /subnet "10\.244\.0\.0\/16" specified in the flannel net config doesn't contain "10\.42\.1\.0\/24" PodCIDR of the "worker-1" node/,
    ],
  ])('crashes with the real log line for %j', (input, line) => {
    const out = decideFlanneld({ ...base, ...input });
    expect(out.kind).toBe('crash');
    expect(out.log.trim().split('\n').pop()).toMatch(/^E\d{4} /);
    expect(out.log).toMatch(line);
  });
});

describe('placement', () => {
  const node = {
    name: 'cp-1',
    labels: { 'kubernetes.io/os': 'linux' },
    unschedulable: true,
    taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
  };
  const linuxOnly = {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] },
          ],
        },
      },
    },
  };

  it('daemon pods ignore cordons but still need to tolerate taints', () => {
    expect(daemonPodFits(linuxOnly, true, node)).toBe(false);
    expect(
      daemonPodFits(
        { ...linuxOnly, tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }] },
        true,
        node,
      ),
    ).toBe(true);
    expect(
      daemonPodFits(
        { nodeSelector: { 'kubernetes.io/os': 'windows' }, tolerations: [{ operator: 'Exists' }] },
        true,
        node,
      ),
    ).toBe(false);
  });

  it('regular pods avoid cordoned and tainted nodes', () => {
    expect(podFits({ tolerations: [{ operator: 'Exists' }] }, { ...node, unschedulable: false })).toBe(true);
    expect(podFits({}, { ...node, unschedulable: false })).toBe(false);
    expect(
      podFits({ tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] }, node),
    ).toBe(false);
  });
});

describe('EventRecorder', () => {
  const ref = { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'u1', apiVersion: 'v1' };
  const src = { component: 'kubelet', host: 'worker-1' };

  it('counts exact repeats on one Event and combines the 10th distinct message', () => {
    const store = new ObjectStore();
    const recorder = new EventRecorder(store);
    recorder.record(ref, 'Warning', 'BackOff', 'same', src);
    const second = recorder.record(ref, 'Warning', 'BackOff', 'same', src);
    expect(second?.count).toBe(2);
    expect(store.list('Event')).toHaveLength(1);

    for (let i = 0; i < 9; i++)
      recorder.record(ref, 'Warning', 'FailedCreatePodSandBox', `sandbox ${i}`, src);
    const first = recorder.record(ref, 'Warning', 'FailedCreatePodSandBox', 'sandbox 9', src);
    expect(first?.message).toBe(`${COMBINED_PREFIX}sandbox 9`);
    const combined = recorder.record(ref, 'Warning', 'FailedCreatePodSandBox', 'sandbox 10', src);
    expect(combined?.metadata.name).toBe(first?.metadata.name);
    expect(combined?.message).toBe(`${COMBINED_PREFIX}sandbox 10`);
    expect(combined?.count).toBe(2);
    expect(store.list('Event', { fieldSelector: 'reason=FailedCreatePodSandBox' })).toHaveLength(10);
  });

  it('drops events beyond the per-object burst until a token is refilled', () => {
    let now = 1_000_000;
    const store = new ObjectStore();
    const recorder = new EventRecorder(store, { spamBurst: 3, spamRefillMs: 1000, now: () => now });
    const results = [1, 2, 3, 4].map(() => recorder.record(ref, 'Warning', 'BackOff', 'x', src));
    expect(results.map((r) => r?.count)).toEqual([1, 2, 3, undefined]);
    now += 1000;
    expect(recorder.record(ref, 'Warning', 'BackOff', 'x', src)?.count).toBe(4);
  });
});

describe('rewritePaths', () => {
  it('maps mountPaths at word boundaries into the container root, leaving look-alikes alone', () => {
    const text = 'cat /host/run/flannel/subnet.env; ls "/host" /hostname HOST=/host/etc';
    expect(rewritePaths(text, ['/host'], '/tmp/c')).toBe(
      'cat /tmp/c/host/run/flannel/subnet.env; ls "/tmp/c/host" /hostname HOST=/tmp/c/host/etc',
    );
  });
});
