/**
 * The live state of one diagnosis, kept in a Redis hash so every worker (in any process) updates the
 * same snapshot. Each update and the read of the whole snapshot happen in one MULTI, with a sequence
 * number, so listeners can drop a snapshot that arrives after a newer one.
 *
 *   {prefix}:diagnosis:{id}:progress  hash: meta (JSON), phase, seq, c:<checkId> (JSON state), p:<node> (done|failed)
 */
import type { Redis } from 'ioredis';
import { isCheckId, type CheckId } from '../checks/catalog.js';
import type { CheckStatus } from '../checks/types.js';
import type { CheckProgressState, DiagnosisProgress } from './types.js';

/** Progress snapshots and the finished document outlive the run by this long. */
export const DIAGNOSIS_RETENTION_SECONDS = 7 * 24 * 3600;

export interface ProgressMeta {
  id: string;
  cluster: string;
  incidentId?: string;
  purpose?: string;
  requestedBy?: string;
  /** Every check of the diagnosis, in the order reports list them. */
  checks: CheckId[];
  /** Nodes that get a probe. */
  nodes: string[];
}

export type SequencedProgress = DiagnosisProgress & { seq: number };

type TerminalPhase = 'verdict' | 'done' | 'failed';

export interface ProgressChange {
  check?: { id: CheckId; state: CheckProgressState; summary?: string };
  probe?: { node: string; state: 'running' | 'done' | 'failed' };
  phase?: TerminalPhase;
}

export class DiagnosisProgressStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  key(id: string): string {
    return `${this.prefix}:diagnosis:${id}:progress`;
  }

  /** Writes the initial snapshot once; a repeated start of the same diagnosis keeps the existing one. */
  async init(meta: ProgressMeta): Promise<SequencedProgress> {
    const key = this.key(meta.id);
    const tx = this.redis.multi().hsetnx(key, 'meta', JSON.stringify(meta));
    for (const check of meta.checks) tx.hsetnx(key, `c:${check}`, JSON.stringify({ state: 'pending' }));
    tx.hsetnx(key, 'seq', '0').expire(key, DIAGNOSIS_RETENTION_SECONDS).hgetall(key);
    return snapshotFrom(await execAndReadLast(tx));
  }

  async update(id: string, change: ProgressChange): Promise<SequencedProgress | undefined> {
    const key = this.key(id);
    const tx = this.redis.multi();
    if (change.check) {
      const { state, summary } = change.check;
      tx.hset(
        key,
        `c:${change.check.id}`,
        JSON.stringify(summary === undefined ? { state } : { state, summary }),
      );
    }
    if (change.probe) tx.hset(key, `p:${change.probe.node}`, change.probe.state);
    if (change.phase) tx.hset(key, 'phase', change.phase);
    tx.hincrby(key, 'seq', 1).hgetall(key);
    const hash = await execAndReadLast(tx);
    // A diagnosis whose state expired (or was never initialised) has nothing to report.
    if (!hash.meta) return undefined;
    return snapshotFrom(hash);
  }

  async get(id: string): Promise<SequencedProgress | undefined> {
    const hash = await this.redis.hgetall(this.key(id));
    return hash.meta ? snapshotFrom(hash) : undefined;
  }
}

async function execAndReadLast(tx: ReturnType<Redis['multi']>): Promise<Record<string, string>> {
  const replies = (await tx.exec()) ?? [];
  for (const [err] of replies) if (err) throw err;
  return (replies.at(-1)?.[1] ?? {}) as Record<string, string>;
}

const FINISHED_STATES = new Set<CheckProgressState>(['ok', 'warn', 'fail', 'error', 'skipped']);

/** Pure: a snapshot from the hash fields (exported for tests). */
export function snapshotFrom(hash: Record<string, string>): SequencedProgress {
  const meta = JSON.parse(hash.meta ?? '{}') as Partial<ProgressMeta>;
  const checks: DiagnosisProgress['checks'] = [];
  for (const id of meta.checks ?? []) {
    const raw = hash[`c:${id}`];
    const parsed = raw ? (JSON.parse(raw) as { state?: CheckProgressState; summary?: string }) : {};
    if (!isCheckId(id)) continue;
    checks.push({
      id,
      state: parsed.state ?? 'pending',
      ...(parsed.summary === undefined ? {} : { summary: parsed.summary }),
    });
  }
  const nodes = meta.nodes ?? [];
  let done = 0;
  let failed = 0;
  let running = 0;
  for (const node of nodes) {
    const state = hash[`p:${node}`];
    if (state === 'done') done++;
    else if (state === 'failed') failed++;
    else if (state === 'running') running++;
  }
  const probes = { total: nodes.length, done, failed };
  return {
    id: meta.id ?? '',
    cluster: meta.cluster ?? '',
    ...(meta.incidentId ? { incidentId: meta.incidentId } : {}),
    ...(meta.purpose ? { purpose: meta.purpose } : {}),
    ...(meta.requestedBy ? { requestedBy: meta.requestedBy } : {}),
    phase: phaseOf(hash.phase, checks, probes, running),
    checks,
    probes,
    seq: Number(hash.seq ?? 0),
  };
}

function phaseOf(
  stored: string | undefined,
  checks: DiagnosisProgress['checks'],
  probes: DiagnosisProgress['probes'],
  probesRunning: number,
): DiagnosisProgress['phase'] {
  if (stored === 'verdict' || stored === 'done' || stored === 'failed') return stored;
  if (probesRunning > 0 && probes.done + probes.failed < probes.total) return 'probing';
  if (checks.some((c) => c.state !== 'pending')) return 'checking';
  if (probes.done + probes.failed > 0) return 'probing';
  return 'queued';
}

export function isFinishedState(state: CheckProgressState): state is CheckStatus {
  return FINISHED_STATES.has(state);
}

/** A snapshot without the ordering field, as DiagnosisService listeners receive it. */
export function withoutSeq(progress: SequencedProgress): DiagnosisProgress {
  const { seq: _seq, ...rest } = progress;
  return rest;
}
