/** evaluate() of flannel-daemonset, flannel-pods, flannel-configmap, flannel-rbac from plain facts. */
import { describe, expect, it } from '@jest/globals';
import { evaluateFlannelDaemonSet } from '../../src/checks/api/flannel-daemonset.js';
import { evaluateFlannelPods } from '../../src/checks/api/flannel-pods.js';
import { evaluateFlannelConfigMap } from '../../src/checks/api/flannel-configmap.js';
import { evaluateFlannelRbac, type FlannelRbacFacts } from '../../src/checks/api/flannel-rbac.js';
import { classifyFlanneldLog } from '../../src/checks/api/flanneld-log.js';
import {
  configMapCandidates,
  detectEmbedded,
  embeddedUnlessLeftovers,
  flannelVersion,
  selectFlannelDaemonSets,
} from '../../src/checks/api/flannel-objects.js';
import {
  CNI_NOT_READY,
  NODES,
  NO_LEFTOVERS,
  container,
  crashLoopingPodOn,
  flannelDs,
  flannelPodOn,
  node,
} from './checks-api-fixtures.js';

const causes = (r: { findings: Array<{ cause: string }> }) => r.findings.map((f) => f.cause);

describe('finding Flannel', () => {
  it('prefers kube-flannel, then legacy kube-system, and recognises per-arch names without the label', () => {
    const picked = selectFlannelDaemonSets([
      flannelDs({ namespace: 'kube-system', name: 'kube-flannel-ds-amd64', labels: {} }),
      flannelDs({ namespace: 'kube-system', name: 'kube-proxy', labels: { 'k8s-app': 'kube-proxy' } }),
      flannelDs({ namespace: 'kube-flannel', name: 'renamed', labels: { app: 'flannel' } }),
    ]);
    expect(picked.map((d) => `${d.namespace}/${d.name}`)).toEqual([
      'kube-flannel/renamed',
      'kube-system/kube-flannel-ds-amd64',
    ]);
  });

  it('reads the flanneld version from any image generation, not the cni-plugin image', () => {
    expect(flannelVersion(flannelDs())).toBe('v0.28.9');
    expect(flannelVersion({ images: ['quay.io/coreos/flannel:v0.11.0-amd64'] })).toBe('v0.11.0');
    expect(
      flannelVersion({
        images: [
          'docker.io/rancher/mirrored-flannelcni-flannel-cni-plugin:v1.1.0',
          'docker.io/rancher/mirrored-flannelcni-flannel:v0.20.2',
        ],
      }),
    ).toBe('v0.20.2');
    expect(flannelVersion({ images: ['registry.local:5000/flannel/flannel:v0.24.0'] })).toBe('v0.24.0');
  });

  it('looks for the ConfigMap the DaemonSet mounts first', () => {
    expect(configMapCandidates(flannelDs({ namespace: 'kube-system', configMapName: 'my-cfg' }))).toEqual([
      { namespace: 'kube-system', name: 'my-cfg' },
      { namespace: 'kube-flannel', name: 'kube-flannel-cfg' },
      { namespace: 'kube-system', name: 'kube-flannel-cfg' },
    ]);
  });

  it('detects Flannel embedded in k3s and RKE2 (annotations, no pods)', () => {
    const annotated = { 'flannel.alpha.coreos.com/backend-type': 'vxlan' };
    expect(detectEmbedded([node('a', { annotations: annotated, kubeletVersion: 'v1.31.4+k3s1' })], 0)).toBe(
      'k3s',
    );
    expect(detectEmbedded([node('a', { annotations: annotated, kubeletVersion: 'v1.31.4+rke2r1' })], 0)).toBe(
      'rke2',
    );
    expect(detectEmbedded([node('a', { annotations: annotated })], 0)).toBe('unknown');
    expect(detectEmbedded([node('a', { annotations: annotated })], 3)).toBeUndefined();
    expect(detectEmbedded([node('a')], 0)).toBeUndefined();
  });
});

describe('flannel-daemonset', () => {
  const nodes = NODES.map((n) => node(n));

  it('fails with flannel-not-deployed (high confidence) when nothing is there and pods are stuck', () => {
    const notReady = NODES.map((n) =>
      node(n, {
        conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: CNI_NOT_READY }],
      }),
    );
    const r = evaluateFlannelDaemonSet({
      daemonSets: [],
      pods: [],
      nodes: notReady,
      leftovers: NO_LEFTOVERS,
      stuckPods: 9,
    });
    expect(r.status).toBe('fail');
    expect(causes(r)).toEqual(['flannel-not-deployed']);
    expect(r.findings[0].confidence).toBeGreaterThanOrEqual(0.9);
    expect(r.findings[0].nodes).toEqual(NODES);
    expect(r.evidence[0]).toContain('kubectl get ds -A -l app=flannel returned nothing');
    expect(r.evidence.join('\n')).toContain('9 pods waiting in ContainerCreating');
    const calm = evaluateFlannelDaemonSet({
      daemonSets: [],
      pods: [],
      nodes,
      leftovers: NO_LEFTOVERS,
      stuckPods: 0,
    });
    expect(calm.findings[0].confidence).toBeLessThan(r.findings[0].confidence);
  });

  it('reports flannel-partially-deployed when the DaemonSet is gone but ConfigMap and RBAC remain', () => {
    const r = evaluateFlannelDaemonSet({
      daemonSets: [],
      pods: [],
      nodes,
      stuckPods: 4,
      leftovers: {
        ...NO_LEFTOVERS,
        namespaces: ['kube-flannel'],
        configMaps: ['kube-flannel/kube-flannel-cfg'],
        clusterRoles: ['flannel'],
      },
    });
    expect(r.status).toBe('fail');
    expect(causes(r)).toEqual(['flannel-partially-deployed']);
    expect(r.evidence.join('\n')).toContain('configmap kube-flannel/kube-flannel-cfg');
  });

  it('does not mistake a deleted DaemonSet for embedded Flannel: annotations plus manifest leftovers', () => {
    const annotated = NODES.map((n) =>
      node(n, { annotations: { 'flannel.alpha.coreos.com/backend-type': 'vxlan' } }),
    );
    const leftovers = { ...NO_LEFTOVERS, configMaps: ['kube-flannel/kube-flannel-cfg'] };
    const r = evaluateFlannelDaemonSet({
      daemonSets: [],
      pods: [],
      nodes: annotated,
      stuckPods: 2,
      leftovers,
    });
    expect(r.status).toBe('fail');
    expect(causes(r)).toEqual(['flannel-partially-deployed']);
    expect(r.evidence.join('\n')).toContain('still carry flannel.alpha.coreos.com/* annotations');
    // Without leftovers the same nodes are an embedded Flannel of an unknown distribution.
    const bare = evaluateFlannelDaemonSet({
      daemonSets: [],
      pods: [],
      nodes: annotated,
      stuckPods: 0,
      leftovers: NO_LEFTOVERS,
    });
    expect(bare.status).toBe('ok');
    expect(bare.facts).toMatchObject({ embedded: 'unknown' });
    // Nodes marked as k3s stay embedded even next to a stray ConfigMap.
    const k3s = annotated.map((n) => ({ ...n, kubeletVersion: 'v1.33.4+k3s1' }));
    expect(
      evaluateFlannelDaemonSet({ daemonSets: [], pods: [], nodes: k3s, stuckPods: 0, leftovers }).facts,
    ).toMatchObject({ embedded: 'k3s' });
    expect(embeddedUnlessLeftovers('unknown', leftovers)).toBeUndefined();
    expect(embeddedUnlessLeftovers('rke2', leftovers)).toBe('rke2');
  });

  it('is ok with a note when Flannel is embedded in k3s', () => {
    const k3s = NODES.map((n) =>
      node(n, {
        kubeletVersion: 'v1.31.4+k3s1',
        annotations: { 'flannel.alpha.coreos.com/backend-type': 'vxlan' },
      }),
    );
    const r = evaluateFlannelDaemonSet({
      daemonSets: [],
      pods: [],
      nodes: k3s,
      leftovers: NO_LEFTOVERS,
      stuckPods: 0,
    });
    expect(r.status).toBe('ok');
    expect(r.findings).toEqual([]);
    expect(r.facts).toMatchObject({ embedded: 'k3s' });
    expect(r.summary).toContain('k3s');
  });

  it('fails with flannel-pod-failing, naming the nodes, when not ready or not scheduled everywhere', () => {
    const r = evaluateFlannelDaemonSet({
      daemonSets: [flannelDs({ desired: 3, ready: 1 })],
      pods: [flannelPodOn('cp-1'), crashLoopingPodOn('worker-1')],
      nodes,
      leftovers: NO_LEFTOVERS,
      stuckPods: 0,
    });
    expect(r.status).toBe('fail');
    expect(causes(r)).toEqual(['flannel-pod-failing']);
    expect(r.findings[0].nodes).toEqual(['worker-1', 'worker-2']);
    expect(r.evidence.join('\n')).toMatch(/no Flannel pod on 1 node .*worker-2/);
  });

  it('does not expect a Flannel pod on Windows nodes or behind NoExecute taints', () => {
    const r = evaluateFlannelDaemonSet({
      daemonSets: [flannelDs({ desired: 1, ready: 1 })],
      pods: [flannelPodOn('cp-1')],
      nodes: [
        node('cp-1', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }),
        node('win-1', { labels: { 'kubernetes.io/os': 'windows' } }),
        node('gone-1', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }),
      ],
      leftovers: NO_LEFTOVERS,
      stuckPods: 0,
    });
    expect(r.status).toBe('ok');
  });

  it('recognises a legacy kube-system install and reports its facts', () => {
    const legacy = flannelDs({
      namespace: 'kube-system',
      name: 'kube-flannel-ds-amd64',
      images: ['quay.io/coreos/flannel:v0.11.0-amd64'],
      desired: 3,
      ready: 3,
    });
    const r = evaluateFlannelDaemonSet({
      daemonSets: [legacy],
      pods: NODES.map((n) => flannelPodOn(n, { namespace: 'kube-system' })),
      nodes,
      leftovers: NO_LEFTOVERS,
      stuckPods: 0,
    });
    expect(r.status).toBe('ok');
    expect(r.facts).toMatchObject({
      namespace: 'kube-system',
      daemonSet: 'kube-flannel-ds-amd64',
      image: 'quay.io/coreos/flannel:v0.11.0-amd64',
      version: 'v0.11.0',
      legacy: true,
    });
    expect(r.evidence.join('\n')).toContain('legacy install recognised');
  });

  it('warns when Flannel is installed in two namespaces', () => {
    const r = evaluateFlannelDaemonSet({
      daemonSets: [flannelDs(), flannelDs({ namespace: 'kube-system' })],
      pods: NODES.map((n) => flannelPodOn(n)),
      nodes,
      leftovers: NO_LEFTOVERS,
      stuckPods: 0,
    });
    expect(r.status).toBe('warn');
    expect(r.summary).toContain('installed twice');
  });
});

describe('flannel-pods', () => {
  const log = (line: string) => ({
    container: 'kube-flannel',
    previous: true,
    lines: ['I1126 12:43:02.366384 1 match.go:211] Determining IP address of default interface', line],
  });

  it('is skipped when there are no Flannel pods and ok when all are ready', () => {
    expect(evaluateFlannelPods({ pods: [], logs: {} }).status).toBe('skipped');
    const ok = evaluateFlannelPods({ pods: NODES.map((n) => flannelPodOn(n)), logs: {} });
    expect(ok.status).toBe('ok');
    expect(ok.findings).toEqual([]);
  });

  it('turns "doesn\'t contain" into podcidr-outside-network with the nodes and the log line', () => {
    const line =
      'E1126 12:43:02.367075 1 main.go:341] Error registering network: failed to acquire lease: subnet "10.244.0.0/16" specified in the flannel net config doesn\'t contain "10.42.1.0/24" PodCIDR of the "worker-1" node';
    const r = evaluateFlannelPods({
      pods: [crashLoopingPodOn('worker-1'), flannelPodOn('worker-2')],
      logs: { 'kube-flannel/kube-flannel-ds-worker-1': log(line) },
    });
    expect(r.status).toBe('fail');
    expect(causes(r).sort()).toEqual(['flannel-pod-failing', 'podcidr-outside-network']);
    const outside = r.findings.find((f) => f.cause === 'podcidr-outside-network')!;
    expect(outside.nodes).toEqual(['worker-1']);
    expect(outside.data).toEqual({ network: '10.244.0.0/16', podCIDRs: { 'worker-1': '10.42.1.0/24' } });
    expect(r.findings.find((f) => f.cause === 'flannel-pod-failing')!.nodes).toEqual(['worker-1']);
    const text = r.evidence.join('\n');
    expect(text).toContain('CrashLoopBackOff');
    expect(text).toContain('4 restarts');
    expect(text).toContain('exit code 1');
    expect(text).toContain(
      'kubectl -n kube-flannel logs kube-flannel-ds-worker-1 -c kube-flannel --previous',
    );
    expect(text).toContain("doesn't contain");
    expect(r.facts?.lastLogLines).toEqual({ 'kube-flannel/kube-flannel-ds-worker-1': log(line).lines });
  });

  it('turns "pod cidr not assigned" into podcidr-missing and a parse error into flannel-config-corrupt', () => {
    const missing = evaluateFlannelPods({
      pods: [crashLoopingPodOn('cp-1')],
      logs: {
        'kube-flannel/kube-flannel-ds-cp-1': log(
          'E1126 main.go:341] Error registering network: failed to acquire lease: node "cp-1" pod cidr not assigned',
        ),
      },
    });
    expect(causes(missing)).toContain('podcidr-missing');
    expect(missing.findings.find((f) => f.cause === 'podcidr-missing')!.nodes).toEqual(['cp-1']);

    const corrupt = evaluateFlannelPods({
      pods: [crashLoopingPodOn('cp-1')],
      logs: {
        'kube-flannel/kube-flannel-ds-cp-1': log(
          "E1126 main.go:236] Failed to create SubnetManager: error parsing subnet config: invalid character '}' looking for beginning of object key string",
        ),
      },
    });
    expect(causes(corrupt)).toContain('flannel-config-corrupt');
  });

  it('reports a failed init container', () => {
    const r = evaluateFlannelPods({
      pods: [
        flannelPodOn('worker-2', {
          phase: 'Pending',
          ready: false,
          containers: [
            {
              name: 'kube-flannel',
              ready: false,
              restartCount: 0,
              state: 'waiting',
              reason: 'PodInitializing',
            },
          ],
          initContainers: [
            {
              name: 'install-cni-plugin',
              ready: false,
              restartCount: 3,
              state: 'waiting',
              reason: 'CrashLoopBackOff',
              lastTerminated: { exitCode: 1, reason: 'Error' },
            },
          ],
        }),
      ],
      logs: {},
    });
    expect(r.status).toBe('fail');
    expect(r.findings[0]).toMatchObject({ cause: 'flannel-pod-failing', nodes: ['worker-2'] });
    expect(r.evidence[0]).toContain(
      'init container install-cni-plugin waiting: CrashLoopBackOff, last exit code 1',
    );
  });

  it('classifies flanneld log lines F, G, I and RBAC errors', () => {
    expect(classifyFlanneldLog(['x', 'E1 kube.go] node "n1" pod cidr not assigned'])).toMatchObject({
      kind: 'podcidr-missing',
      node: 'n1',
    });
    expect(
      classifyFlanneldLog(['E1 main.go] failed to read net conf: open /etc/kube-flannel/net-conf.json'])
        ?.kind,
    ).toBe('config-corrupt');
    expect(
      classifyFlanneldLog([
        'E1 main.go] Failed to create SubnetManager: error retrieving pod spec for kube-flannel/x: pods "x" is forbidden',
      ])?.kind,
    ).toBe('rbac');
    expect(
      classifyFlanneldLog(['I1126 12:00:00.1 1 ok', 'E1126 12:00:00.2 1 main.go:99] something else broke']),
    ).toMatchObject({ kind: 'other' });
    expect(classifyFlanneldLog(['I1 all good'])).toBeUndefined();
  });
});

describe('Flannel pods still starting (minutes after kubectl apply, a node joining)', () => {
  const now = Date.parse('2026-12-06T12:00:00Z');
  const at = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString();
  const startingOn = (n: string, secondsAgo: number) =>
    flannelPodOn(n, {
      phase: 'Pending',
      ready: false,
      createdAt: at(secondsAgo),
      containers: [container({ ready: false, state: 'waiting', reason: 'PodInitializing' })],
      initContainers: [
        container({
          name: 'install-cni-plugin',
          ready: false,
          state: 'waiting',
          reason: 'ContainerCreating',
        }),
      ],
    });
  const ds = flannelDs({ desired: 3, current: 3, ready: 0, updated: 3 });

  it('are a rollout in progress: a warning to look again, no cause and nothing to restart', () => {
    const pods = evaluateFlannelPods({
      pods: NODES.map((n) => startingOn(n, 10)),
      logs: {},
      now: new Date(now).toISOString(),
    });
    expect(pods.status).toBe('warn');
    expect(pods.summary).toMatch(/3 Flannel pods still starting/);
    expect(pods.findings).toEqual([]);
    expect(pods.evidence.join('\n')).toMatch(/created 10 s ago: still starting/);
    const daemonSet = evaluateFlannelDaemonSet({
      daemonSets: [ds],
      pods: NODES.map((n) => startingOn(n, 10)),
      nodes: NODES.map((n) => node(n)),
      leftovers: NO_LEFTOVERS,
      stuckPods: 0,
      now: new Date(now).toISOString(),
    });
    expect(daemonSet.status).toBe('warn');
    expect(daemonSet.summary).toMatch(/ready 0\/3, 3 pods still starting/);
    expect(daemonSet.findings).toEqual([]);
  });

  it('are failing once they are old, or as soon as one crashed or cannot pull its image', () => {
    const old = evaluateFlannelPods({
      pods: [startingOn('worker-1', 600)],
      logs: {},
      now: new Date(now).toISOString(),
    });
    expect(old.status).toBe('fail');
    expect(causes(old)).toEqual(['flannel-pod-failing']);
    const pulling = flannelPodOn('worker-1', {
      phase: 'Pending',
      ready: false,
      createdAt: at(10),
      containers: [container({ ready: false, state: 'waiting', reason: 'ImagePullBackOff' })],
    });
    const crashed = { ...crashLoopingPodOn('worker-2'), createdAt: at(30) };
    const young = evaluateFlannelPods({
      pods: [pulling, crashed],
      logs: {},
      now: new Date(now).toISOString(),
    });
    expect(young.status).toBe('fail');
    expect(young.findings[0].nodes).toEqual(['worker-1', 'worker-2']);
    const daemonSet = evaluateFlannelDaemonSet({
      daemonSets: [flannelDs({ desired: 3, current: 3, ready: 1, updated: 3 })],
      pods: [pulling, startingOn('worker-2', 10), flannelPodOn('cp-1')],
      nodes: NODES.map((n) => node(n)),
      leftovers: NO_LEFTOVERS,
      stuckPods: 0,
      now: new Date(now).toISOString(),
    });
    expect(daemonSet.status).toBe('fail');
    expect(causes(daemonSet)).toEqual(['flannel-pod-failing']);
    expect(daemonSet.findings[0].nodes).toEqual(['worker-1']);
  });
});

describe('flannel-configmap', () => {
  const expected = { namespace: 'kube-flannel', name: 'kube-flannel-cfg' };
  const cniConf = JSON.stringify({
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap' },
    ],
  });
  const cm = (data: Record<string, string>) => ({ ...expected, data });

  it('reports flannel-partially-deployed when the ConfigMap is gone but the DaemonSet is not', () => {
    const r = evaluateFlannelConfigMap({
      daemonSet: { namespace: 'kube-flannel', name: 'kube-flannel-ds' },
      expected,
    });
    expect(r.status).toBe('fail');
    expect(causes(r)).toEqual(['flannel-partially-deployed']);
    expect(r.evidence[0]).toBe('kubectl -n kube-flannel get configmap kube-flannel-cfg: NotFound');
    expect(evaluateFlannelConfigMap({ expected }).status).toBe('skipped');
  });

  it('reports flannel-config-corrupt for invalid JSON and missing keys', () => {
    const badJson = evaluateFlannelConfigMap({
      expected,
      configMap: cm({ 'net-conf.json': '{ "Network": "10.244.0.0/16", }', 'cni-conf.json': cniConf }),
    });
    expect(badJson.status).toBe('fail');
    expect(causes(badJson)).toEqual(['flannel-config-corrupt']);
    expect(badJson.summary).toContain('net-conf.json is not valid JSON');

    const noBackend = evaluateFlannelConfigMap({
      expected,
      configMap: cm({ 'net-conf.json': '{"Network":"10.244.0.0/16"}', 'cni-conf.json': cniConf }),
    });
    expect(noBackend.findings[0].summary).toContain('"Backend"');

    const noNetwork = evaluateFlannelConfigMap({
      expected,
      configMap: cm({ 'net-conf.json': '{"Backend":{"Type":"vxlan"}}', 'cni-conf.json': cniConf }),
    });
    expect(noNetwork.findings[0].summary).toContain('no "Network"');

    const badCni = evaluateFlannelConfigMap({
      expected,
      configMap: cm({
        'net-conf.json': '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}',
        'cni-conf.json': '{"name":"cbr0","plugins":[{"type":"bridge"}]}',
      }),
    });
    expect(badCni.findings[0].summary).toContain('no plugin of type "flannel"');

    const noKey = evaluateFlannelConfigMap({ expected, configMap: cm({ 'cni-conf.json': cniConf }) });
    expect(noKey.findings[0].summary).toContain('key net-conf.json is missing');
  });

  it('reports Network, SubnetLen and the backend as facts when valid', () => {
    const r = evaluateFlannelConfigMap({
      expected,
      configMap: cm({
        'net-conf.json': JSON.stringify({
          Network: '10.244.0.0/16',
          SubnetLen: 26,
          EnableNFTables: true,
          Backend: { Type: 'vxlan', VNI: 4096, Port: 4789, MTU: 1400 },
        }),
        'cni-conf.json': cniConf,
      }),
    });
    expect(r.status).toBe('ok');
    expect(r.facts).toMatchObject({
      network: '10.244.0.0/16',
      subnetLen: 26,
      backendType: 'vxlan',
      vni: 4096,
      port: 4789,
      mtu: 1400,
      enableNFTables: true,
      netConf: { Backend: { Type: 'vxlan' } },
    });
    const udp = evaluateFlannelConfigMap({
      expected,
      configMap: cm({
        'net-conf.json': '{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}',
        'cni-conf.json': cniConf,
      }),
    });
    expect(udp.status).toBe('warn');
  });
});

describe('flannel-rbac', () => {
  const flannelRole = {
    name: 'flannel',
    rules: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
    ],
  };
  const binding = {
    name: 'flannel',
    roleRef: { kind: 'ClusterRole', name: 'flannel' },
    subjects: [{ kind: 'ServiceAccount', name: 'flannel', namespace: 'kube-flannel' }],
  };
  const base: FlannelRbacFacts = {
    daemonSet: { namespace: 'kube-flannel', name: 'kube-flannel-ds', serviceAccount: 'flannel' },
    serviceAccountExists: true,
    bindings: [binding],
    clusterRoles: [flannelRole],
  };

  it('is ok when the ServiceAccount is bound to a role with every permission', () => {
    expect(evaluateFlannelRbac(base).status).toBe('ok');
    expect(evaluateFlannelRbac({ ...base, daemonSet: undefined }).status).toBe('skipped');
  });

  it('reports flannel-partially-deployed for a missing SA, binding, role or permission', () => {
    for (const facts of [
      { ...base, serviceAccountExists: false },
      { ...base, bindings: [] },
      {
        ...base,
        bindings: [
          { ...binding, subjects: [{ kind: 'ServiceAccount', name: 'flannel', namespace: 'kube-system' }] },
        ],
      },
      { ...base, clusterRoles: [] },
      { ...base, clusterRoles: [{ name: 'flannel', rules: flannelRole.rules.slice(0, 2) }] },
    ]) {
      const r = evaluateFlannelRbac(facts);
      expect(r.status).toBe('fail');
      expect(causes(r)).toEqual(['flannel-partially-deployed']);
    }
    const noPatch = evaluateFlannelRbac({
      ...base,
      clusterRoles: [{ name: 'flannel', rules: flannelRole.rules.slice(0, 2) }],
    });
    expect(noPatch.summary).toContain('nodes/status patch');
  });

  it('accepts wildcard rules', () => {
    const admin = { name: 'flannel', rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] };
    expect(evaluateFlannelRbac({ ...base, clusterRoles: [admin] }).status).toBe('ok');
  });

  it('accepts the legacy kube-system ClusterRole (nodes list/watch without get, plus PSP use)', () => {
    const legacy = {
      name: 'flannel',
      rules: [
        { apiGroups: ['extensions'], resources: ['podsecuritypolicies'], verbs: ['use'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
        { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
      ],
    };
    const r = evaluateFlannelRbac({
      daemonSet: { namespace: 'kube-system', name: 'kube-flannel-ds', serviceAccount: 'flannel' },
      serviceAccountExists: true,
      bindings: [
        { ...binding, subjects: [{ kind: 'ServiceAccount', name: 'flannel', namespace: 'kube-system' }] },
      ],
      clusterRoles: [legacy],
    });
    expect(r.status).toBe('ok');
    expect(r.findings).toEqual([]);
    // Without list/watch flanneld cannot run, whatever its version.
    const noWatch = evaluateFlannelRbac({
      ...base,
      clusterRoles: [{ name: 'flannel', rules: [legacy.rules[1], legacy.rules[3]] }],
    });
    expect(noWatch.summary).toContain('nodes list, nodes watch');
  });
});
