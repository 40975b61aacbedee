/**
 * The bot's detection path in a process of its own, so the benchmark can read its CPU and memory apart from
 * the simulator's: event list+watch -> classification -> runbook match -> batched incident writes in Redis.
 * Protocol (stdout, one JSON object per line): {"ready":true} once the initial list is stored, then
 * {"done":true, ...figures} once `target` distinct events are stored.
 */
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { IncidentStore } from '../incidents/store.js';
import { EventStream } from '../kube/event-stream.js';
import { loadRunbooks, shippedRunbooksDir } from '../runbooks/load.js';
import { ClusterWatcher } from '../watch/cluster-watcher.js';
import { percentile, round } from './stats.js';

const [kubeconfig, redisUrl, prefix, targetArg] = process.argv.slice(2);
const target = Number(targetArg);

const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
const store = new IncidentStore({ redis, prefix });

// Only what the figures need: creation times of storm events not yet recorded (dropped once measured), and
// the uids already recorded (to count distinct events). Whole events are never kept.
const createdAt = new Map<string, number>(); // event uid -> creation time (eventTime, ms)
const recorded = new Set<string>();
const latencies: number[] = [];
let listed = false;
let firstRecordedAt = 0;

const watcher = new ClusterWatcher({
  cluster: { name: 'bench' },
  kubeConfig: kc,
  runbooks: loadRunbooks(shippedRunbooksDir()),
  store,
  onIncident: () => {},
  onRecorded: (signals) => {
    const now = Date.now();
    for (const s of signals) {
      if (recorded.has(s.eventUid)) continue;
      recorded.add(s.eventUid);
      const created = createdAt.get(s.eventUid);
      if (created !== undefined) {
        createdAt.delete(s.eventUid);
        latencies.push(now - created);
        firstRecordedAt ||= now;
      }
    }
    if (recorded.size >= target) finish(now);
  },
});

const stream = new EventStream({
  cluster: 'bench',
  kubeConfig: kc,
  fieldSelector: 'type=Warning',
  onEvent: (type, event) => {
    if (type === 'DELETED') return;
    // Latency is measured for events that arrive through the watch after the initial list (the storm).
    if (listed && type !== 'LISTED') {
      const uid = event.metadata?.uid;
      const time = event.eventTime as unknown as string | Date | undefined;
      if (uid && time && !recorded.has(uid) && !createdAt.has(uid)) {
        createdAt.set(uid, typeof time === 'string' ? Date.parse(time) : time.getTime());
      }
    }
    watcher.ingest(event);
  },
  onListed: () => {
    void watcher.flush().then(() => {
      listed = true;
      process.stdout.write(`${JSON.stringify({ ready: true, recorded: recorded.size })}\n`);
    });
  },
});
stream.start();

let finished = false;
function finish(doneAt: number): void {
  if (finished) return;
  finished = true;
  process.stdout.write(
    `${JSON.stringify({
      done: true,
      doneAt,
      firstRecordedAt,
      recorded: recorded.size,
      p50_ms: round(percentile(latencies, 0.5)),
      p99_ms: round(percentile(latencies, 0.99)),
      samples: latencies.length,
    })}\n`,
  );
  // The parent reads this process's CPU time as soon as it sees the line above: shutting the stream down
  // right away would be counted as detection work. Leave it for later (the bench kills the child anyway).
  setTimeout(() => void stream.stop().then(() => process.exit(0)), 2_000);
}
