import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  kubectl,
  namespace,
  pod,
  spawnKubectl,
  startFixture,
  waitFor,
  type SimFixture,
} from './sim-api-helpers.js';

const runningStatus = {
  phase: 'Running',
  podIP: '10.244.1.7',
  containerStatuses: [
    { name: 'app', ready: true, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } },
  ],
};

let fx: SimFixture;

beforeAll(async () => {
  fx = await startFixture((store) => {
    for (const ns of ['default', 'kube-flannel']) store.create(namespace(ns));
    store.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1' },
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.33.4' } },
    });
    store.create(pod('web-1', 'default', 'node-1', runningStatus));
    store.create(
      pod('web-2', 'default', 'node-1', {
        phase: 'Pending',
        containerStatuses: [
          { name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } },
        ],
      }),
    );
    store.create(
      pod('crash-1', 'default', 'node-1', {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 7,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: {
              terminated: { exitCode: 1, finishedAt: new Date(Date.now() - 120000).toISOString() },
            },
          },
        ],
      }),
    );
    for (const [name, reason] of [
      ['web-2.1', 'FailedCreatePodSandBox'],
      ['crash-1.1', 'BackOff'],
    ]) {
      store.create({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: 'default' },
        involvedObject: { kind: 'Pod', name: name.split('.')[0], namespace: 'default' },
        reason,
        message: `${reason} happened`,
        type: 'Warning',
        count: 1,
        source: { component: 'kubelet', host: 'node-1' },
      });
    }
    store.create({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'kube-flannel-ds', namespace: 'kube-flannel' },
      spec: {
        selector: { matchLabels: { app: 'flannel' } },
        template: {
          metadata: { labels: { app: 'flannel' } },
          spec: { containers: [{ name: 'kube-flannel', image: 'flannel' }] },
        },
      },
      status: { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2 },
    });
    store.podLogs.set('default', 'web-1', 'app', 'starting\nlistening on :8080\nready\n');
  });
});

afterAll(async () => {
  await fx.close();
});

/** The whitespace-separated cells of the table row whose NAME column is `name`. */
function row(output: string, name: string): string[] {
  const line = output.split('\n').find((l) => l.split(/\s+/).includes(name));
  if (!line) throw new Error(`no row for ${name} in:\n${output}`);
  return line.trim().split(/\s{2,}/);
}

describe('kubectl against the simulated API server', () => {
  it('get pods -A prints STATUS, RESTARTS and NODE as kubectl computes them', async () => {
    const r = await kubectl(fx, ['get', 'pods', '-A']);
    expect(r.code).toBe(0);
    const header = r.stdout.split('\n')[0].trim().split(/\s+/);
    expect(header).toEqual(['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE']);
    expect(row(r.stdout, 'web-1')).toEqual(
      expect.arrayContaining(['1/1', 'Running', '0', '10.244.1.7', 'node-1']),
    );
    expect(row(r.stdout, 'web-2')).toEqual(expect.arrayContaining(['0/1', 'ContainerCreating', '<none>']));
    // The last termination was 2 minutes before the fixture started; kubectl adds the seconds since then.
    expect(row(r.stdout, 'crash-1')).toEqual(
      expect.arrayContaining(['CrashLoopBackOff', expect.stringMatching(/^7 \(2m(\d+s)? ago\)$/)]),
    );
  });

  it('get events -A with a field selector returns only the matching reason', async () => {
    const r = await kubectl(fx, ['get', 'events', '-A', '--field-selector', 'reason=FailedCreatePodSandBox']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('FailedCreatePodSandBox');
    expect(r.stdout).toContain('pod/web-2');
    expect(r.stdout).not.toContain('BackOff happened');
  });

  it('an unsupported field selector is a 400 from the server', async () => {
    const r = await kubectl(fx, ['get', 'events', '-A', '--field-selector', 'color=red']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('field label not supported: color');
  });

  it('get ds -A resolves the short name and prints the DaemonSet columns', async () => {
    const r = await kubectl(fx, ['get', 'ds', '-A']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(
      /DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE/,
    );
    expect(row(r.stdout, 'kube-flannel-ds').slice(0, 5)).toEqual([
      'kube-flannel',
      'kube-flannel-ds',
      '3',
      '3',
      '2',
    ]);
  });

  it('get pods -w prints a change made in the store', async () => {
    const child = spawnKubectl(fx, ['get', 'pods', '-n', 'default', '-w']);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('web-2'), 'the initial listing');
      fx.store.mutate('Pod', 'default', 'web-2', (p) => {
        p.status = runningStatus;
      });
      await waitFor(
        () => out.split('\n').some((l) => /^web-2\s+1\/1\s+Running/.test(l)),
        'the watched change',
      );
    } finally {
      child.kill();
    }
  });

  it('logs prints the pod log that was set, and --tail limits it', async () => {
    expect((await kubectl(fx, ['logs', 'web-1'])).stdout).toBe('starting\nlistening on :8080\nready\n');
    expect((await kubectl(fx, ['logs', 'web-1', '--tail=1'])).stdout).toBe('ready\n');
  });

  it('apply --server-side creates then updates a ConfigMap; --dry-run=server changes nothing', async () => {
    const file = join(fx.dir, 'cm.yaml');
    const write = (value: string): void =>
      writeFileSync(
        file,
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  namespace: default\ndata:\n  mode: "${value}"\n`,
      );
    write('one');
    const created = await kubectl(fx, ['apply', '--server-side', '-f', file]);
    expect(created.stderr).toBe('');
    expect(created.stdout).toContain('configmap/demo serverside-applied');
    expect(fx.store.get('ConfigMap', 'default', 'demo')?.data).toEqual({ mode: 'one' });

    write('two');
    const rvBefore = fx.store.resourceVersion;
    const dry = await kubectl(fx, ['apply', '--server-side', '--dry-run=server', '-f', file]);
    expect(dry.stdout).toContain('(server dry run)');
    expect(fx.store.get('ConfigMap', 'default', 'demo')?.data).toEqual({ mode: 'one' });
    expect(fx.store.resourceVersion).toBe(rvBefore);

    await kubectl(fx, ['apply', '--server-side', '-f', file]);
    const cm = fx.store.get('ConfigMap', 'default', 'demo');
    expect(cm?.data).toEqual({ mode: 'two' });
    expect(cm?.metadata.managedFields).toEqual([
      expect.objectContaining({
        manager: 'kubectl',
        operation: 'Apply',
        fieldsV1: { 'f:data': { 'f:mode': {} } },
      }),
    ]);
  });

  it('delete pod --grace-period=0 --force removes it', async () => {
    const r = await kubectl(fx, ['delete', 'pod', 'crash-1', '--grace-period=0', '--force']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pod "crash-1" force deleted');
    expect(fx.store.get('Pod', 'default', 'crash-1')).toBeUndefined();
  });

  it('getting a missing pod reports NotFound', async () => {
    const r = await kubectl(fx, ['get', 'pod', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error from server (NotFound): pods "nope" not found');
  });
});
