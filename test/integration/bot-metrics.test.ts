/**
 * GET /metrics during an end-to-end run (issue 8/9 item 2), and the queue board (item 8): two replicas of the
 * bot share one Redis key prefix against the Kubernetes simulator (flannel-missing) and the Slack emulator.
 * /metrics is scraped once both run, and again once the incident was diagnosed, its steps approved (or
 * rejected), run, verified and resolved: the named series must have moved. Counters of work (checks, probes, Slack calls) are summed over both
 * replicas, as Prometheus would: either replica's workers may take a job. Replica B has the queue board on.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startBot, type Bot } from '../../src/bot/start-bot.js';
import { parseClustersConfig } from '../../src/config/clusters.js';
import { loadEnv } from '../../src/config/env.js';
import { loadRunbooks, shippedRunbooksDir } from '../../src/runbooks/load.js';
import type { EmulatorMessage } from '../../src/sim/slack/index.js';
import { has, scrape, total, type Sample } from '../helpers/prometheus.js';
import { waitFor } from '../helpers/wait.js';
import {
  answerText,
  BOT_TOKEN,
  planMessage,
  SIGNING_SECRET,
  startStack,
  type Stack,
} from './lifecycle-helpers.js';

const CH = 'C0DEMO';
const ADMIN = { user: 'queue-admin', password: 'correct horse battery staple' };
let stack: Stack;
let replicaB: Bot;
let before: Sample[];

/** Both replicas' samples, as one list (counters add up). */
const scrapeAll = async () => [...(await scrape(stack.bot.healthUrl)), ...(await scrape(replicaB.healthUrl))];

beforeAll(async () => {
  stack = await startStack([{ name: 'demo', channel: CH, scenario: 'flannel-missing' }]);
  const env = loadEnv(
    {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_MODE: 'http',
      SLACK_API_URL: stack.slack.apiUrl,
      REDIS_URL: process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379',
      FLANNEL_OPS_KEY_PREFIX: stack.prefix,
      LOG_LEVEL: 'error',
      FLANNEL_OPS_ADMIN_USER: ADMIN.user,
      FLANNEL_OPS_ADMIN_PASSWORD: ADMIN.password,
    },
    { require: ['slack'] },
  );
  const clusters = parseClustersConfig({
    clusters: [
      {
        name: 'demo',
        kubeconfig: stack.sims.get('demo')!.kubeconfigPath,
        channel: CH,
        approvals: { approvers: { groups: ['oncall'] } },
        verification: { quietPeriodSeconds: 1 },
      },
    ],
  }).clusters;
  replicaB = await startBot({
    env,
    clusters,
    runbooks: loadRunbooks(shippedRunbooksDir()),
    httpPort: 0,
    httpHost: '127.0.0.1',
    watch: { flushIntervalMs: 20, streamOptions: { backoff: { baseMs: 100, maxMs: 1000 } } },
    outbox: { updateIntervalMs: 200, channelPacing: { intervalMs: 50, burst: 20 }, backoffMs: 200 },
    diagnosis: { probeDeadlineSeconds: 30 },
  });
  before = await scrapeAll();
}, 90_000);

afterAll(async () => {
  await replicaB?.stop();
  await stack?.stop();
});

describe('GET /metrics during an incident', () => {
  it('serves the Prometheus text format with the process metrics of each replica', async () => {
    const res = await fetch(`${stack.bot.healthUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('# TYPE flannel_ops_events_ingested_total counter');
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(has(before, 'flannel_ops_redis_up')).toBe(true);
    expect(total(before, 'flannel_ops_redis_up')).toBe(2);
  });

  it('exactly one replica leads the cluster (sum by cluster of flannel_ops_cluster_leader is 1)', async () => {
    const samples = await waitFor('one leader', async () => {
      const s = await scrapeAll();
      return total(s, 'flannel_ops_cluster_leader', { cluster: 'demo' }) === 1 ? s : undefined;
    });
    expect(samples.filter((s) => s.name === 'flannel_ops_cluster_leader')).toHaveLength(2);
    // The second replica may take the cluster over when it joins (its share of the hub): every hand-over is
    // one replica ceasing and another becoming the leader, so the changes net to one leader.
    const changes = (to: string) =>
      total(samples, 'flannel_ops_leader_changes_total', { cluster: 'demo', to });
    expect(changes('leader') - changes('follower')).toBe(1);
  });

  it('moves the detection, watch, incident, diagnosis, Slack, approval and step series', async () => {
    // The API server expires the watch (410): the leader relists and opens a new watch.
    const sim = stack.sims.get('demo')!;
    sim.store.compact();
    sim.api.faults.expireNextWatch();
    sim.api.faults.dropWatches();
    // A fresh sandbox failure after the first scrape: read and classified whatever happened before.
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    sim.store.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'metrics-test.1', namespace: 'default' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-metrics', apiVersion: 'v1' },
      reason: 'FailedCreatePodSandBox',
      message:
        'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "0123abcd": plugin type="flannel" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory',
      source: { component: 'kubelet', host: 'worker-1' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type: 'Warning',
    });
    const plan = await waitFor('the plan in the thread', () => planMessage(stack.slack, CH), {
      timeoutMs: 90_000,
    });
    const waiting = await scrape(stack.bot.healthUrl);
    expect(total(waiting, 'flannel_ops_incidents', { cluster: 'demo', state: 'awaiting-approval' })).toBe(1);

    const click = async (user: string, actionId: string) =>
      answerText(
        await stack.slack.click({ user, channel: CH, ts: (plan as EmulatorMessage).ts, action_id: actionId }),
      );
    expect(await click('UMALLORY', 'approve-1')).toMatch(/You may not approve/);
    expect(await click('UALICE', 'approve-1')).toMatch(/recorded \(1\/2\)/);
    expect(await click('UBOB', 'approve-1')).toMatch(/Step 1 approved/);
    expect(await click('UALICE', 'reject-2')).toMatch(/Step 2 rejected/);
    expect(await click('UALICE', 'approve-3')).toMatch(/Step 3 approved/);
    // Slack answers the next outbox calls with a 429, then a 500: both are retried.
    stack.slack.faults.rateLimitNext(1, 1);
    stack.slack.faults.failNext(1, 500);

    const after = await waitFor(
      'the incident to resolve in the metrics',
      async () => {
        const s = await scrapeAll();
        return total(s, 'flannel_ops_incident_transitions_total', { cluster: 'demo', state: 'resolved' }) >= 1
          ? s
          : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 500 },
    );
    const moved = (name: string, labels: Record<string, string> = {}) =>
      total(after, name, labels) - total(before, name, labels);

    // Detection: the event above (at least) was read and classified.
    expect(moved('flannel_ops_events_ingested_total', { cluster: 'demo' })).toBeGreaterThan(0);
    expect(
      moved('flannel_ops_events_classified_total', {
        cluster: 'demo',
        reason: 'FailedCreatePodSandBox',
        error_class: 'subnet-env-missing',
      }),
    ).toBeGreaterThan(0);
    // The watch: restarted after the 410 and relisted.
    expect(
      moved('flannel_ops_watch_restarts_total', { cluster: 'demo', reason: 'expired' }),
    ).toBeGreaterThanOrEqual(1);
    expect(moved('flannel_ops_watch_relists_total', { cluster: 'demo' })).toBeGreaterThanOrEqual(1);
    // The incident: opened (before or after the first scrape), verified after the fix, resolved.
    expect(total(after, 'flannel_ops_incident_transitions_total', { cluster: 'demo', state: 'open' })).toBe(
      1,
    );
    expect(moved('flannel_ops_incident_transitions_total', { cluster: 'demo', state: 'verifying' })).toBe(1);
    expect(moved('flannel_ops_incident_transitions_total', { cluster: 'demo', state: 'resolved' })).toBe(1);
    expect(total(after, 'flannel_ops_incidents', { cluster: 'demo' })).toBe(0);
    // Diagnoses: the incident's (problems found) and the verification's (healthy), with their checks and probes.
    expect(
      total(after, 'flannel_ops_diagnoses_total', {
        cluster: 'demo',
        purpose: 'incident',
        outcome: 'problems',
      }),
    ).toBe(1);
    expect(
      moved('flannel_ops_diagnoses_total', { cluster: 'demo', purpose: 'verification', outcome: 'healthy' }),
    ).toBe(1);
    expect(moved('flannel_ops_diagnosis_duration_seconds_count', { purpose: 'verification' })).toBe(1);
    expect(
      total(after, 'flannel_ops_check_duration_seconds_count', {
        check: 'flannel-daemonset',
        status: 'fail',
      }),
    ).toBe(1);
    expect(
      moved('flannel_ops_check_duration_seconds_count', { check: 'flannel-daemonset', status: 'ok' }),
    ).toBe(1);
    expect(moved('flannel_ops_probe_pods_total', { cluster: 'demo', outcome: 'ok' })).toBeGreaterThanOrEqual(
      1,
    );
    // Slack: the step results, the verification and the resolution went out through the outbox.
    expect(moved('flannel_ops_slack_calls_total', { outcome: 'ok' })).toBeGreaterThan(3);
    expect(moved('flannel_ops_slack_calls_total', { outcome: 'rate_limited' })).toBe(1);
    expect(moved('flannel_ops_slack_calls_total', { outcome: 'error' })).toBe(1);
    expect(moved('flannel_ops_slack_retries_total', { reason: 'rate_limited' })).toBe(1);
    expect(moved('flannel_ops_slack_retries_total', { reason: 'error' })).toBe(1);
    // People: a refusal, a recorded approval, two approvals that let steps run, a rejection.
    expect(moved('flannel_ops_approvals_total', { outcome: 'refused', reason: 'not-approver' })).toBe(1);
    expect(moved('flannel_ops_approvals_total', { outcome: 'recorded' })).toBe(1);
    expect(moved('flannel_ops_approvals_total', { outcome: 'approved' })).toBe(2);
    expect(moved('flannel_ops_approvals_total', { outcome: 'rejected' })).toBe(1);
    // Steps: the install and the pod deletion ran, the kubelet restart was rejected.
    expect(moved('flannel_ops_steps_total', { action: 'restart-kubelet', outcome: 'rejected' })).toBe(1);
    expect(moved('flannel_ops_steps_total', { action: 'delete-stuck-pods', outcome: 'done' })).toBe(1);
    expect(moved('flannel_ops_steps_total', { action: 'reapply-flannel-manifest', outcome: 'started' })).toBe(
      1,
    );
    expect(moved('flannel_ops_steps_total', { action: 'reapply-flannel-manifest', outcome: 'done' })).toBe(1);
    expect(moved('flannel_ops_steps_total', { outcome: 'done' })).toBe(2);
    expect(moved('flannel_ops_steps_total', { outcome: 'rejected' })).toBe(1);
    // Queue depths are reported for every queue of the bot.
    for (const queue of ['diagnosis', 'diagnosis-checks', 'diagnosis-probes', 'lifecycle', 'slack-outbox']) {
      expect(has(after, 'flannel_ops_queue_jobs', { queue, state: 'waiting' })).toBe(true);
      expect(has(after, 'flannel_ops_queue_oldest_waiting_seconds', { queue })).toBe(true);
    }
  }, 300_000);
});

describe('the queue board (/admin/queues)', () => {
  const board = () => `${replicaB.healthUrl}/admin/queues`;
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('is off unless FLANNEL_OPS_ADMIN_USER and FLANNEL_OPS_ADMIN_PASSWORD are set (404)', async () => {
    const res = await fetch(`${stack.bot.healthUrl}/admin/queues`, {
      headers: { authorization: basic(ADMIN.user, ADMIN.password) },
    });
    expect(res.status).toBe(404);
    await res.body?.cancel();
  });

  it('answers 401 with a basic-auth challenge without or with wrong credentials', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: basic(ADMIN.user, 'wrong password!!') },
      { authorization: basic('someone-else', ADMIN.password) },
      { authorization: 'Bearer xyz' },
    ]) {
      for (const path of ['', '/api/queues']) {
        const res = await fetch(`${board()}${path}`, { headers });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="flannel-ops queues"/);
        expect(await res.text()).not.toContain('slack-outbox');
      }
    }
  });

  it("serves the board with the credentials and lists the bot's queues, read-only", async () => {
    const authorization = basic(ADMIN.user, ADMIN.password);
    const page = await fetch(board(), { headers: { authorization } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<base href="/admin/queues/"');
    const asset = await fetch(`${board()}/static/favicon-32x32.png`, { headers: { authorization } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('image/png');
    await asset.body?.cancel();
    const api = await fetch(`${board()}/api/queues`, { headers: { authorization } });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
    expect(body.queues.map((q) => q.name).sort()).toEqual(
      ['diagnosis', 'diagnosis-checks', 'diagnosis-probes', 'lifecycle', 'slack-outbox'].sort(),
    );
    expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);
  });
});
