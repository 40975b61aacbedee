/**
 * Node action pods against the simulator over real HTTP: pods built exactly as the action-pod contract
 * shows (privileged hostPID pods whose container nsenters into the node), with its example host scripts,
 * run against the node's simulated host and heal it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { BUILTIN_SCENARIO_DIR } from '../../src/sim/kube/scenario/load.js';
import type { Simulator } from '../../src/sim/kube/simulator.js';
import { startFast, waitFor } from './sim-cluster-helpers.js';

const NAMESPACE = 'kube-system';
const NODE = 'worker-1';

// ---- the contract's pod and scripts ---------------------------------------------------------------

function shellQuote(hostScript: string): string {
  return `'${hostScript.replace(/'/g, `'\\''`)}'`;
}

function actionPod(node: string, action: string, hostScript: string, deadlineSeconds = 120): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'flannel-ops-action-',
      namespace: NAMESPACE,
      labels: {
        'app.kubernetes.io/name': 'flannel-ops-action',
        'app.kubernetes.io/managed-by': 'flannel-ops',
        'flannel-ops/run': `test-${action}`,
      },
      annotations: { 'flannel-ops/node': node, 'flannel-ops/action': action },
    },
    spec: {
      nodeName: node,
      hostNetwork: true,
      hostPID: true,
      restartPolicy: 'Never',
      activeDeadlineSeconds: deadlineSeconds,
      terminationGracePeriodSeconds: 0,
      tolerations: [{ operator: 'Exists' }],
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      containers: [
        {
          name: 'action',
          image: 'busybox:1.36',
          command: ['/bin/sh', '-c', `exec nsenter -t 1 -m -u -i -n -p -- sh -c ${shellQuote(hostScript)}`],
          securityContext: { privileged: true },
        },
      ],
    },
  };
}

const removeLeftoverNetns = (names: string[]) => `set -u
refs=$(for id in $(crictl pods -q --no-trunc 2>/dev/null); do crictl inspectp -o json "$id" 2>/dev/null; done | grep -o '/var/run/netns/[A-Za-z0-9._-]*\\|/run/netns/[A-Za-z0-9._-]*' | sed 's#.*/##')
for ns in ${names.join(' ')}; do
  if [ ! -e "/var/run/netns/$ns" ]; then echo "absent $ns"; continue; fi
  if printf '%s\\n' "$refs" | grep -qx "$ns"; then echo "kept $ns in-use"; continue; fi
  ip netns delete "$ns" && echo "removed $ns" || echo "failed $ns"
done
`;

const releaseLeakedIps = (network: string, keep: string[], ips: string[]) => `set -u
dir=/var/lib/cni/networks/${network}
[ -d "$dir" ] || { echo "error no-ipam-dir $dir"; exit 1; }
flock "$dir/lock" sh -c '
  dir=$1; shift
  live=$(crictl pods -q --no-trunc 2>/dev/null)
  keep=" ${keep.join(' ')} "
  for ip in "$@"; do
    f="$dir/$ip"
    if [ ! -f "$f" ]; then echo "absent $ip"; continue; fi
    case "$keep" in *" $ip "*) echo "kept $ip pod-ip"; continue ;; esac
    owner=$(head -n 1 "$f" | tr -d "\\r")
    if printf "%s\\n" "$live" | grep -qx "$owner"; then echo "kept $ip live-sandbox"; continue; fi
    rm -f "$f" && echo "released $ip" || echo "failed $ip"
  done
' sh "$dir" ${ips.join(' ')}
`;

const DELETE_STALE_CNI0 = `set -u
if ! ip link show cni0 >/dev/null 2>&1; then echo "absent cni0"; exit 0; fi
ip -o -4 addr show dev cni0
ip link delete cni0 && echo "deleted cni0"
`;

const RESTART_KUBELET = `set -u
systemctl restart kubelet && echo "restarted kubelet"
systemctl is-active kubelet
`;

// ---- helpers -------------------------------------------------------------------------------------

interface ActionRun {
  pod: V1Pod;
  log: string;
}

function client(sim: Simulator): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
  return kc.makeApiClient(CoreV1Api);
}

async function runAction(core: CoreV1Api, body: V1Pod): Promise<ActionRun> {
  const created = await core.createNamespacedPod({ namespace: NAMESPACE, body });
  const name = created.metadata!.name!;
  const pod = await waitFor(
    `action pod ${name} to finish`,
    async () => {
      const p = await core.readNamespacedPod({ name, namespace: NAMESPACE });
      return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p : undefined;
    },
    30000,
  );
  const log = await core.readNamespacedPodLog({ name, namespace: NAMESPACE, container: 'action' });
  return { pod, log };
}

function terminated(pod: V1Pod) {
  return pod.status?.containerStatuses?.[0]?.state?.terminated;
}

async function podsOn(core: CoreV1Api, node: string): Promise<V1Pod[]> {
  const list = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` });
  return list.items.filter(
    (p) => !p.spec?.hostNetwork && p.metadata?.labels?.['app.kubernetes.io/name'] !== 'flannel-ops-action',
  );
}

const waitingReason = (p: V1Pod) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason;

function ownerOf(sim: Simulator, network: string, ip: string): string | undefined {
  return sim.hosts.get(NODE)!.readFile(`/var/lib/cni/networks/${network}/${ip}`)?.split(/\r?\n/)[0];
}

// ---- ipam-leak -----------------------------------------------------------------------------------

/** ipam-leak, plus 10.244.1.5 reserved by the sandbox of a pod that no longer exists (its DEL never ran). */
function ipamLeakWithOrphanSandbox(dir: string): string {
  const doc = YAML.parse(fs.readFileSync(path.join(BUILTIN_SCENARIO_DIR, 'ipam-leak.yaml'), 'utf8'));
  const node = doc.nodes.find((n: { name: string }) => n.name === NODE);
  node.host.ipam[0].reservations.push({ ip: '10.244.1.5', owner: 'shop/checkout-6d8f7b9c44-gone1' });
  const file = path.join(dir, 'ipam-leak-orphan.yaml');
  fs.writeFileSync(file, YAML.stringify(doc));
  return file;
}

describe('action pods on ipam-leak', () => {
  let sim: Simulator;
  let core: CoreV1Api;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-action-pods-'));
    sim = await startFast({ scenarioFile: ipamLeakWithOrphanSandbox(dir) });
    await sim.settle();
    core = client(sim);
  });
  afterAll(async () => {
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('release-leaked-ips frees leaked reservations under the IPAM lock, keeps the used ones, and the stuck pods start', async () => {
    const stuck = (await podsOn(core, NODE)).filter((p) => waitingReason(p) === 'ContainerCreating');
    expect(stuck.length).toBeGreaterThan(0);
    const leakedOwner = ownerOf(sim, 'cbr0', '10.244.1.6');
    const kept = ['10.244.1.2', '10.244.1.3', '10.244.1.4', '10.244.1.5'];
    const keptOwners = kept.map((ip) => ownerOf(sim, 'cbr0', ip));

    const { pod, log } = await runAction(
      core,
      actionPod(
        NODE,
        'release-leaked-ips',
        releaseLeakedIps(
          'cbr0',
          ['10.244.1.2', '10.244.1.4'],
          ['10.244.1.1', '10.244.1.2', '10.244.1.3', '10.244.1.5', '10.244.1.6', '10.244.1.7'],
        ),
      ),
    );

    expect(log).toBe(
      [
        'absent 10.244.1.1',
        'kept 10.244.1.2 pod-ip',
        'kept 10.244.1.3 live-sandbox',
        'kept 10.244.1.5 live-sandbox', // its sandbox is NotReady, but until DEL runs it owns the IP
        'released 10.244.1.6',
        'released 10.244.1.7',
        '',
      ].join('\n'),
    );
    expect(pod.status?.phase).toBe('Succeeded');
    expect(terminated(pod)).toMatchObject({ exitCode: 0, reason: 'Completed' });
    const host = sim.hosts.get(NODE)!;
    expect(kept.map((ip) => ownerOf(sim, 'cbr0', ip))).toEqual(keptOwners);
    expect(host.exists('/var/lib/cni/networks/cbr0/lock')).toBe(true);
    expect(host.exists('/var/lib/cni/networks/cbr0/last_reserved_ip.0')).toBe(true);
    expect(ownerOf(sim, 'cbr0', '10.244.1.8')).toMatch(/^[0-9a-f]{64}$/); // not in the list: untouched
    expect(ownerOf(sim, 'cbr0', '10.244.1.6')).not.toBe(leakedOwner);

    // The freed addresses go to the pods that were stuck on the node.
    const healed = await waitFor('a stuck pod on worker-1 to run with a released IP', async () => {
      const pods = await podsOn(core, NODE);
      return pods.find(
        (p) =>
          stuck.some((s) => s.metadata?.uid === p.metadata?.uid) &&
          p.status?.phase === 'Running' &&
          ['10.244.1.6', '10.244.1.7'].includes(p.status?.podIP ?? ''),
      );
    });
    expect(ownerOf(sim, 'cbr0', healed.status!.podIP!)).not.toBe(leakedOwner);
  });

  it('remove-leftover-netns removes a leftover netns and keeps one a sandbox uses', async () => {
    const host = sim.hosts.get(NODE)!;
    const leftover = 'cni-3f2a9c1e-7d4b-4e0a-9b61-2c8f5d7e1a04';
    const used = host.sandboxes().find((s) => s.podName === 'checkout-6d8f7b9c44-q9tzl')!.netns;
    const missing = 'cni-00000000-0000-4000-8000-000000000000';
    expect(host.exists(`/var/run/netns/${leftover}`)).toBe(true);

    const { pod, log } = await runAction(
      core,
      actionPod(NODE, 'remove-leftover-netns', removeLeftoverNetns([leftover, used, missing])),
    );

    expect(log).toBe(`removed ${leftover}\nkept ${used} in-use\nabsent ${missing}\n`);
    expect(pod.status?.phase).toBe('Succeeded');
    expect(host.exists(`/var/run/netns/${leftover}`)).toBe(false);
    expect(host.exists(`/run/netns/${used}`)).toBe(true);
    expect(host.exists('/var/run/netns/cni-8b7e6d5c-4a3f-4210-8e9d-0c1b2a3f4e5d')).toBe(true);
  });

  it('crictl lists a sandbox whose pod is gone as NotReady, still holding its IP', async () => {
    const orphan = sim.hosts
      .get(NODE)!
      .sandboxes()
      .find((s) => s.podName === 'checkout-6d8f7b9c44-gone1')!;
    const { log } = await runAction(
      core,
      actionPod(
        NODE,
        'inspect',
        `crictl pods -q --no-trunc --state notready --namespace shop
crictl inspectp -o json "$(crictl pods -q --no-trunc --state notready --namespace shop)"`,
      ),
    );
    const [listed, ...json] = log.split('\n');
    expect(listed).toBe(orphan.sandboxId);
    expect(JSON.parse(json.join('\n')).status).toMatchObject({
      state: 'SANDBOX_NOTREADY',
      network: { ip: '10.244.1.5' },
      metadata: { name: 'checkout-6d8f7b9c44-gone1', namespace: 'shop' },
    });
  });

  it("crictl shows the node's sandboxes as containerd does, with host paths as on a real node", async () => {
    const sandbox = sim.hosts
      .get(NODE)!
      .sandboxes()
      .find((s) => s.podName === 'checkout-6d8f7b9c44-b5xkd')!;
    const { pod, log } = await runAction(
      core,
      actionPod(
        NODE,
        'inspect',
        `crictl pods -q --no-trunc --state ready | grep -x ${sandbox.sandboxId}
crictl inspectp -o json ${sandbox.sandboxId.slice(0, 12)}`,
      ),
    );
    expect(pod.status?.phase).toBe('Succeeded');
    const [listed, ...json] = log.split('\n');
    expect(listed).toBe(sandbox.sandboxId);
    const doc = JSON.parse(json.join('\n')) as {
      status: { id: string; state: string; network: { ip: string }; metadata: { name: string } };
      info: { runtimeSpec: { linux: { namespaces: Array<{ type: string; path?: string }> } } };
    };
    expect(doc.status).toMatchObject({
      id: sandbox.sandboxId,
      state: 'SANDBOX_READY',
      network: { ip: '10.244.1.3' },
      metadata: { name: 'checkout-6d8f7b9c44-b5xkd' },
    });
    expect(doc.info.runtimeSpec.linux.namespaces.find((n) => n.type === 'network')?.path).toBe(
      `/var/run/netns/${sandbox.netns}`,
    );
  });

  it('a script that stops with an error fails the pod with its exit code and its output as the log', async () => {
    const { pod, log } = await runAction(
      core,
      actionPod(NODE, 'release-leaked-ips', releaseLeakedIps('no-such-net', [], ['10.244.1.9'])),
    );
    expect(log).toBe('error no-ipam-dir /var/lib/cni/networks/no-such-net\n');
    expect(pod.status?.phase).toBe('Failed');
    expect(terminated(pod)).toMatchObject({ exitCode: 1, reason: 'Error' });
  });

  it('activeDeadlineSeconds kills a script that runs too long: Failed, DeadlineExceeded', async () => {
    const { pod } = await runAction(core, actionPod(NODE, 'slow', 'echo started; sleep 30', 1));
    expect(pod.status).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded' });
    expect(terminated(pod)?.exitCode).toBe(137);
  });

  it('without privileged, nsenter cannot enter the node', async () => {
    const body = actionPod(NODE, 'unprivileged', 'ip link delete cni0');
    body.spec!.containers[0].securityContext = {};
    const { pod, log } = await runAction(core, body);
    expect(log).toBe("nsenter: reassociate to namespace 'ns/ipc' failed: Operation not permitted\n");
    expect(pod.status?.phase).toBe('Failed');
    expect(sim.hosts.get(NODE)!.device('cni0')).toBeDefined();
  });
});

// ---- stale-cni0 ----------------------------------------------------------------------------------

describe('action pods on stale-cni0', () => {
  let sim: Simulator;
  let core: CoreV1Api;

  beforeAll(async () => {
    sim = await startFast({ scenario: 'stale-cni0' });
    await sim.settle();
    core = client(sim);
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('delete-stale-cni0 removes the bridge; the next CNI ADD recreates it from subnet.env and the pods start', async () => {
    const stuck = (await podsOn(core, NODE)).filter((p) => waitingReason(p) === 'ContainerCreating');
    expect(stuck.length).toBeGreaterThan(0);

    const { pod, log } = await runAction(core, actionPod(NODE, 'delete-stale-cni0', DELETE_STALE_CNI0));

    expect(log).toMatch(/^\d+: cni0 {4}inet 10\.244\.9\.1\/24 brd 10\.244\.9\.255 scope global cni0\\/);
    expect(log.endsWith('\ndeleted cni0\n')).toBe(true);
    expect(pod.status?.phase).toBe('Succeeded');
    await waitFor('the stuck pods on worker-1 to run', async () => {
      const pods = await podsOn(core, NODE);
      return stuck.every((s) => {
        const now = pods.find((p) => p.metadata?.uid === s.metadata?.uid);
        return now?.status?.phase === 'Running' && now.status.podIP?.startsWith('10.244.1.');
      });
    });
    expect(sim.hosts.get(NODE)!.device('cni0')).toMatchObject({
      type: 'bridge',
      addresses: ['10.244.1.1/24'],
    });
  });

  it('ip link delete of a device the node does not have fails the script like iproute2', async () => {
    const { pod, log } = await runAction(
      core,
      actionPod(NODE, 'delete-link', 'set -e; ip link delete nosuch0'),
    );
    expect(log).toBe('Cannot find device "nosuch0"\n');
    expect(pod.status?.phase).toBe('Failed');
    expect(terminated(pod)?.exitCode).toBe(1);
  });
});

// ---- restart-kubelet -----------------------------------------------------------------------------

describe('restart-kubelet', () => {
  let sim: Simulator;
  let core: CoreV1Api;

  beforeAll(async () => {
    // Stuck pods would wait ten minutes for their next sandbox attempt: only a kubelet restart hurries them.
    sim = await startFast({ scenario: 'stale-cni0', retryIntervalMs: 600_000 });
    await sim.settle();
    core = client(sim);
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('records Starting kubelet. and retries the pods waiting for a sandbox at once', async () => {
    const stuck = (await podsOn(core, NODE)).filter((p) => waitingReason(p) === 'ContainerCreating');
    expect(stuck.length).toBeGreaterThan(0);
    await runAction(core, actionPod(NODE, 'delete-stale-cni0', DELETE_STALE_CNI0));

    const { pod, log } = await runAction(core, actionPod(NODE, 'restart-kubelet', RESTART_KUBELET));

    expect(log).toBe('restarted kubelet\nactive\n');
    expect(pod.status?.phase).toBe('Succeeded');
    const events = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.kind=Node,involvedObject.name=${NODE},reason=Starting`,
    });
    expect(events.items.map((e: CoreV1Event) => [e.type, e.message, e.source])).toEqual([
      ['Normal', 'Starting kubelet.', { component: 'kubelet', host: NODE }],
    ]);
    await waitFor(
      'the stuck pods on worker-1 to run after the restart',
      async () => {
        const pods = await podsOn(core, NODE);
        return stuck.every(
          (s) => pods.find((p) => p.metadata?.uid === s.metadata?.uid)?.status?.phase === 'Running',
        );
      },
      15000,
    );
    expect(sim.hosts.get(NODE)!.device('cni0')?.addresses).toEqual(['10.244.1.1/24']);
  });
});

describe('a work dir the stand-ins cannot use', () => {
  it('fails the action pod with a message naming the directory, and leaves the node alone', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim action pods '));
    const sim = await startFast({ scenario: 'stale-cni0', workDir: dir });
    try {
      const { pod, log } = await runAction(
        client(sim),
        actionPod(NODE, 'delete-stale-cni0', DELETE_STALE_CNI0),
      );
      expect(pod.status?.phase).toBe('Failed');
      expect(terminated(pod)?.exitCode).toBe(128);
      expect(log).toBe(
        `error: the simulator's directory ${path.join(dir, 'nodes', NODE)} has characters the action pod stand-ins cannot handle; use a --work-dir of plain path characters\n`,
      );
      expect(sim.hosts.get(NODE)!.device('cni0')).toBeDefined();
    } finally {
      await sim.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
