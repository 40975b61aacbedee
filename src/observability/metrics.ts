/**
 * The bot's Prometheus metrics (`GET /metrics` on the health server). One Registry per bot instance, never
 * prom-client's global one: tests and the demo run several bots in one process.
 *
 * Fed without importing metrics into the pipeline: a lifecycle sink (incident states, approvals, steps), the
 * optional observers of WatchService, DiagnosisService and the outbox, the lifecycle's click hook, and, at
 * scrape time, reads of Redis (active incidents by state, BullMQ queue depths, Redis reachability) and of the
 * watchers' statuses (who leads which cluster). The series and the alerts built on them:
 * deploy/components/monitoring/README.md.
 */
import type { Queue } from 'bullmq';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DiagnosisObserver } from '../diagnosis/workers.js';
import type { Incident } from '../incidents/types.js';
import { INCIDENT_STATES, isTerminalState } from '../incidents/transitions.js';
import type { Outcome } from '../lifecycle/outcomes.js';
import type { LifecycleEvent, LifecycleSink } from '../lifecycle/types.js';
import type { WatchObserver } from '../watch/cluster-watcher.js';
import type { ClusterWatchStatus } from '../watch/watch-service.js';

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** BullMQ job states reported per queue. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** Read at scrape time; each source is optional (a missing one leaves its series out). */
export interface MetricsSources {
  /** Clusters and states of the non-terminal incidents. */
  activeIncidents?(): Promise<Array<Pick<Incident, 'cluster' | 'state'>>>;
  /** The BullMQ queues whose depths are reported. */
  queues?: readonly Queue[];
  /** Undefined when Redis answers, else why not. */
  redisProblem?(): Promise<string | undefined>;
  /** This replica's role per cluster. */
  statuses?(): readonly ClusterWatchStatus[];
}

/** How long a scrape waits for Redis before leaving a series out (a scrape must not hang on an outage). */
const SCRAPE_READ_TIMEOUT_MS = 2000;

const MAX_TRACKED_INCIDENTS = 10_000;

const seconds = (ms: number) => Math.max(0, ms) / 1000;

export class BotMetrics {
  readonly registry = new Registry();
  private sources: MetricsSources = {};
  private readonly leaderNow = new Map<string, boolean>();
  /** The last state counted per incident (bounded, oldest forgotten first). */
  private readonly lastState = new Map<string, string>();
  /** Step outcomes already counted (bounded). */
  private readonly stepsSeen = new Map<string, string>();

  private readonly incidents = new Gauge({
    name: 'flannel_ops_incidents',
    help: 'Non-terminal incidents by cluster and state (read from Redis at scrape time; the same value on every replica).',
    labelNames: ['cluster', 'state'] as const,
    registers: [this.registry],
    collect: async () => {
      const read = this.sources.activeIncidents;
      if (!read) return;
      const list = await withTimeout(read());
      this.incidents.reset();
      if (!list) return;
      const configured = this.sources.statuses?.().map((st) => st.cluster) ?? [];
      const clusters = new Set([...configured, ...list.map((i) => i.cluster)]);
      // Every non-terminal state is present (0 included), so a rule can tell "none" from "not scraped".
      for (const cluster of clusters) {
        for (const state of INCIDENT_STATES) {
          if (!isTerminalState(state)) this.incidents.set({ cluster, state }, 0);
        }
      }
      for (const i of list) this.incidents.inc({ cluster: i.cluster, state: i.state });
    },
  });

  private readonly transitions = new Counter({
    name: 'flannel_ops_incident_transitions_total',
    help: 'Incidents entering a state (opened and re-opened incidents enter "open"), counted by the replica that moved them.',
    labelNames: ['cluster', 'state'] as const,
    registers: [this.registry],
  });

  /**
   * Per-event counts are kept as plain numbers and added to their counters when Prometheus scrapes (prom-client's
   * `collect`): an event storm is thousands of events a second, and a labelled `inc` per event was a visible share
   * of the bot's CPU per event.
   */
  private readonly eventCounts = new Map<
    string,
    { cluster: string; reason?: string; errorClass?: string; n: number }
  >();

  private readonly eventsIngested = new Counter({
    name: 'flannel_ops_events_ingested_total',
    help: 'Kubernetes Warning events read from the cluster (list and watch; a relist reads them again).',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
    collect: () => this.addEventCounts(),
  });

  private readonly eventsClassified = new Counter({
    name: 'flannel_ops_events_classified_total',
    help: 'Events recognised as pod sandbox failures, by the error class detection gave them.',
    labelNames: ['cluster', 'reason', 'error_class'] as const,
    registers: [this.registry],
    collect: () => this.addEventCounts(),
  });

  private countEvent(cluster: string, reason?: string, errorClass?: string): void {
    const key = reason === undefined ? cluster : `${cluster}\0${reason}\0${errorClass}`;
    const entry = this.eventCounts.get(key);
    if (entry) entry.n++;
    else this.eventCounts.set(key, { cluster, reason, errorClass, n: 1 });
  }

  private addEventCounts(): void {
    for (const e of this.eventCounts.values()) {
      if (e.n === 0) continue;
      if (e.reason === undefined) this.eventsIngested.inc({ cluster: e.cluster }, e.n);
      else
        this.eventsClassified.inc(
          { cluster: e.cluster, reason: e.reason, error_class: e.errorClass ?? '' },
          e.n,
        );
      e.n = 0;
    }
  }

  private readonly watchRestarts = new Counter({
    name: 'flannel_ops_watch_restarts_total',
    help: 'Event watches opened again: closed (server timeout, idle), expired (410, relist follows) or error (backoff, relist follows).',
    labelNames: ['cluster', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly relists = new Counter({
    name: 'flannel_ops_watch_relists_total',
    help: 'Full lists of the cluster events after the first one (after a 410 Expired or an error).',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  private readonly leader = new Gauge({
    name: 'flannel_ops_cluster_leader',
    help: '1 when this replica watches the cluster (holds its leader lock), else 0. sum by (cluster) == 0: nobody watches it.',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
    collect: () => {
      const statuses = this.sources.statuses?.();
      if (!statuses) return;
      for (const s of statuses) this.leader.set({ cluster: s.cluster }, s.role === 'leader' ? 1 : 0);
    },
  });

  private readonly leaderChanges = new Counter({
    name: 'flannel_ops_leader_changes_total',
    help: 'This replica becoming (to="leader") or ceasing to be (to="follower") the watcher of a cluster.',
    labelNames: ['cluster', 'to'] as const,
    registers: [this.registry],
  });

  private readonly diagnoses = new Counter({
    name: 'flannel_ops_diagnoses_total',
    help: 'Diagnoses finished by this replica, by purpose and outcome (healthy, problems, failed).',
    labelNames: ['cluster', 'purpose', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly diagnosisDuration = new Histogram({
    name: 'flannel_ops_diagnosis_duration_seconds',
    help: 'From a diagnosis starting to its verdict (or final failure).',
    labelNames: ['purpose', 'outcome'] as const,
    buckets: [1, 2.5, 5, 10, 20, 30, 60, 120, 300],
    registers: [this.registry],
  });

  private readonly checkDuration = new Histogram({
    name: 'flannel_ops_check_duration_seconds',
    help: 'Diagnosis checks run by this replica, by check and status (pass, warn, fail, error, skipped); _count counts runs.',
    labelNames: ['check', 'status'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly probes = new Counter({
    name: 'flannel_ops_probe_pods_total',
    help: 'Node probe pods run by this replica, by outcome (ok, failed).',
    labelNames: ['cluster', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly probeDuration = new Histogram({
    name: 'flannel_ops_probe_duration_seconds',
    help: 'From creating a probe pod to its result (pod deleted).',
    buckets: [1, 2.5, 5, 10, 20, 30, 60, 120],
    registers: [this.registry],
  });

  private readonly approvals = new Counter({
    name: 'flannel_ops_approvals_total',
    help: 'Approve/Reject clicks by outcome (recorded: waits for more approvals, approved, rejected, refused) and refusal reason.',
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly steps = new Counter({
    name: 'flannel_ops_steps_total',
    help: 'Remediation steps by outcome: started, done, failed, skipped, rejected.',
    labelNames: ['cluster', 'action', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly queueJobs = new Gauge({
    name: 'flannel_ops_queue_jobs',
    help: 'BullMQ jobs per queue and state (shared by every replica: the same value on each).',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
    collect: async () => {
      const queues = this.sources.queues ?? [];
      this.queueJobs.reset();
      await Promise.all(
        queues.map(async (q) => {
          const counts = await withTimeout(q.getJobCounts(...QUEUE_STATES));
          if (!counts) return;
          for (const state of QUEUE_STATES) this.queueJobs.set({ queue: q.name, state }, counts[state] ?? 0);
        }),
      );
    },
  });

  private readonly oldestWaiting = new Gauge({
    name: 'flannel_ops_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting for a worker, per queue (0 when none waits). A stuck outbox shows here.',
    labelNames: ['queue'] as const,
    registers: [this.registry],
    collect: async () => {
      const queues = this.sources.queues ?? [];
      this.oldestWaiting.reset();
      const now = Date.now();
      await Promise.all(
        queues.map(async (q) => {
          const jobs = await withTimeout(q.getJobs(['waiting'], 0, 0, true));
          if (!jobs) return;
          const oldest = jobs[0]?.timestamp;
          this.oldestWaiting.set({ queue: q.name }, oldest ? seconds(now - oldest) : 0);
        }),
      );
    },
  });

  private readonly slackCalls = new Counter({
    name: 'flannel_ops_slack_calls_total',
    help: 'Slack Web API calls of the outbox by method and outcome (ok, rate_limited: a 429, error).',
    labelNames: ['method', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly slackRetries = new Counter({
    name: 'flannel_ops_slack_retries_total',
    help: 'Outbox jobs to be tried again: after a 429 (rate_limited, delayed by its Retry-After) or a 5xx/network error.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  private readonly redisUp = new Gauge({
    name: 'flannel_ops_redis_up',
    help: '1 when Redis answers a PING in time, else 0.',
    registers: [this.registry],
    collect: async () => {
      const probe = this.sources.redisProblem;
      if (!probe) return;
      const problem = await probe().catch((err: unknown) => String(err));
      this.redisUp.set(problem === undefined ? 1 : 0);
    },
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** What the scrape-time series read (set once the bot's parts exist). */
  setSources(sources: MetricsSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** The exposition text of every series. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  /** The lifecycle sink: incident states, steps (approvals come from clicks: `click`). */
  readonly sink: LifecycleSink = {
    name: 'metrics',
    handle: async (e: LifecycleEvent) => this.onLifecycle(e),
  };

  private onLifecycle(e: LifecycleEvent): void {
    if (e.type === 'incident' && e.change !== 'updated' && e.change !== 'acknowledged') {
      // 'state' is also emitted to re-render an incident whose state did not change: count changes only.
      const { id, cluster, state } = e.incident;
      if (e.change === 'state' && this.lastState.get(id) === state) return;
      remember(this.lastState, id, state);
      this.transitions.inc({ cluster, state });
    } else if (e.type === 'step' && e.what !== 'approval') {
      const step = e.view.plan.steps.find((s) => s.id === e.stepId);
      const outcome =
        e.what === 'finished' ? (e.view.states[e.stepId]?.state === 'failed' ? 'failed' : 'done') : e.what;
      // 'started' is emitted again with each progress report of a running step: count a step's outcome once.
      const key = `${e.incident.id}:${e.view.plan.version}:${e.stepId}:${outcome}`;
      if (this.stepsSeen.has(key)) return;
      remember(this.stepsSeen, key, outcome);
      this.steps.inc({ cluster: e.incident.cluster, action: step?.action ?? 'unknown', outcome });
    }
  }

  /** IncidentLifecycle's onClick: Approve and Reject clicks by outcome. */
  click = (kind: string, outcome: Outcome): void => {
    if (kind !== 'approve' && kind !== 'reject') return;
    if (!outcome.ok) this.approvals.inc({ outcome: 'refused', reason: outcome.refusal.code });
    else if (outcome.code === 'approval-recorded') this.approvals.inc({ outcome: 'recorded', reason: '' });
    else if (outcome.code === 'step-approved') this.approvals.inc({ outcome: 'approved', reason: '' });
    else if (outcome.code === 'step-rejected') this.approvals.inc({ outcome: 'rejected', reason: '' });
  };

  /** WatchService's onStatus: leader changes. */
  status = (s: ClusterWatchStatus): void => {
    const leading = s.role === 'leader';
    const before = this.leaderNow.get(s.cluster) ?? false;
    this.leaderNow.set(s.cluster, leading);
    if (leading !== before)
      this.leaderChanges.inc({ cluster: s.cluster, to: leading ? 'leader' : 'follower' });
  };

  /** WatchService's observer: events read and classified, lists and watch restarts. */
  readonly watch: WatchObserver = {
    event: (cluster, signal) => {
      this.countEvent(cluster);
      if (signal) this.countEvent(cluster, signal.reason, signal.signature.errorClass);
    },
    listed: (cluster, relist) => {
      if (relist) this.relists.inc({ cluster });
    },
    restarted: (cluster, reason) => this.watchRestarts.inc({ cluster, reason }),
  };

  /** DiagnosisService's observer: checks, probe pods and diagnoses this replica ran. */
  readonly diagnosis: DiagnosisObserver = {
    check: (_cluster, check, status, ms) => this.checkDuration.observe({ check, status }, seconds(ms)),
    probe: (cluster, ok, ms) => {
      this.probes.inc({ cluster, outcome: ok ? 'ok' : 'failed' });
      this.probeDuration.observe(seconds(ms));
    },
    diagnosis: (cluster, purpose, outcome, ms) => {
      this.diagnoses.inc({ cluster, purpose, outcome });
      this.diagnosisDuration.observe({ purpose, outcome }, seconds(ms));
    },
  };

  /** The outbox's hooks: Slack calls, 429s and retries. */
  readonly slack = {
    onCall: (method: string, outcome: 'ok' | 'rate_limited' | 'error') =>
      this.slackCalls.inc({ method, outcome }),
    onRetry: (reason: 'rate_limited' | 'error') => this.slackRetries.inc({ reason }),
  };
}

/** Sets a key as the newest entry of a bounded map, forgetting the oldest beyond MAX_TRACKED_INCIDENTS. */
function remember(map: Map<string, string>, key: string, value: string): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_TRACKED_INCIDENTS) map.delete(map.keys().next().value as string);
}

/** The value, or undefined when it failed or took longer than a scrape may wait. */
async function withTimeout<T>(promise: Promise<T>, ms = SCRAPE_READ_TIMEOUT_MS): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
