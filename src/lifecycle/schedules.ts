/**
 * Scheduled work per cluster (clusters.yaml): a diagnosis on `schedule:` that posts only when something is wrong
 * (through the lifecycle coordinator, like `/flannel diagnose`), and a backup of Flannel's configuration on
 * `backups.schedule`. BullMQ job schedulers on the queue "schedules" hold the timetable in Redis, so every
 * replica may upsert the same schedulers at start-up and each run is one job, done by one replica. Schedulers of
 * clusters (or schedules) no longer configured are removed.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { ClusterConfig } from '../config/clusters.js';
import { log } from '../util/log.js';

const logger = log.child({ module: 'schedules' });

export const SCHEDULES_QUEUE = 'schedules';

const KINDS = {
  diagnosis: { prefix: 'diagnose-', job: 'scheduled-diagnosis' },
  backup: { prefix: 'backup-', job: 'scheduled-backup' },
} as const;
type Kind = keyof typeof KINDS;

const jobSchema = z.object({ cluster: z.string() });

export interface ScheduleTarget {
  /** A scheduled diagnosis; `runKey` names the run (the same key twice starts it once). */
  scheduledDiagnosis(cluster: string, runKey: string): Promise<void>;
}

export interface ClusterSchedulesOptions {
  bullConnection: Redis;
  prefix: string;
  clusters: readonly ClusterConfig[];
  lifecycle: ScheduleTarget;
  /** Backs up the cluster's Flannel configuration (saved only when it changed). */
  backup(cluster: string): Promise<{ id?: string; saved: boolean }>;
  /** Run a worker in this process (default true). */
  worker?: boolean;
  /** Tests: every schedule runs every this many ms instead of its cron expression. */
  everyMs?: number;
}

/** The schedulers the configuration asks for: id -> (job name, cron pattern). Pure. */
export function desiredSchedulers(
  clusters: readonly ClusterConfig[],
): Map<string, { kind: Kind; cluster: string; pattern: string }> {
  const out = new Map<string, { kind: Kind; cluster: string; pattern: string }>();
  for (const c of clusters) {
    if (c.schedule)
      out.set(`${KINDS.diagnosis.prefix}${c.name}`, {
        kind: 'diagnosis',
        cluster: c.name,
        pattern: c.schedule,
      });
    if (c.backups.schedule !== 'off')
      out.set(`${KINDS.backup.prefix}${c.name}`, {
        kind: 'backup',
        cluster: c.name,
        pattern: c.backups.schedule,
      });
  }
  return out;
}

export class ClusterSchedules {
  private readonly queue: Queue;
  private worker?: Worker;

  constructor(private readonly opts: ClusterSchedulesOptions) {
    this.queue = new Queue(SCHEDULES_QUEUE, {
      connection: opts.bullConnection,
      prefix: opts.prefix,
      defaultJobOptions: {
        attempts: 3,
        backoff: { type: 'exponential', delay: 5000 },
        removeOnComplete: { count: 200 },
        removeOnFail: { count: 200 },
      },
    });
    this.queue.on('error', (err) => logger.warn('schedules queue error', { err }));
  }

  /** Upserts the configured schedulers, removes the others, and starts the worker. */
  async start(): Promise<void> {
    await this.queue.waitUntilReady();
    const desired = desiredSchedulers(this.opts.clusters);
    for (const [id, s] of desired) {
      await this.queue.upsertJobScheduler(
        id,
        this.opts.everyMs ? { every: this.opts.everyMs } : { pattern: s.pattern, tz: 'UTC' },
        { name: KINDS[s.kind].job, data: { cluster: s.cluster } },
      );
    }
    for (const existing of await this.queue.getJobSchedulers(0, -1)) {
      const id = existing.key;
      if (!desired.has(id)) {
        await this.queue.removeJobScheduler(id);
        logger.info('removed a schedule no longer configured', { scheduler: id });
      }
    }
    if (desired.size > 0) logger.info('schedules', { schedulers: [...desired.keys()] });
    if (this.opts.worker !== false) {
      this.worker = new Worker(SCHEDULES_QUEUE, (job) => this.process(job), {
        connection: this.opts.bullConnection,
        prefix: this.opts.prefix,
        concurrency: 2,
      });
      this.worker.on('error', (err) => logger.warn('schedules worker error', { err }));
      this.worker.on('failed', (job, err) =>
        logger.warn('scheduled job failed', { job: job?.name, id: job?.id, err: err.message }),
      );
      await this.worker.waitUntilReady();
    }
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }

  private async process(job: Job): Promise<unknown> {
    const { cluster } = jobSchema.parse(job.data);
    if (!this.opts.clusters.some((c) => c.name === cluster))
      return { skipped: 'cluster no longer configured' };
    switch (job.name) {
      case KINDS.diagnosis.job:
        await this.opts.lifecycle.scheduledDiagnosis(cluster, String(job.id));
        return { started: true };
      case KINDS.backup.job: {
        const result = await this.opts.backup(cluster);
        if (result.saved) logger.info('scheduled backup', { cluster, backup: result.id });
        return result;
      }
      default:
        logger.warn('unknown scheduled job', { name: job.name });
        return undefined;
    }
  }
}
