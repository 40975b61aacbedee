/**
 * The shape of one diagnosis as a BullMQ flow (pure: no Redis here):
 *
 *   diagnosis (parent: verdict, plan, network report, stores the result)
 *   ├── one job per API check                      queue diagnosis-checks
 *   └── node-checks (the node checks over probes)  queue diagnosis-checks
 *       └── one probe job per affected node        queue diagnosis-probes
 *
 * Every child has `ignoreDependencyOnFailure`: a child that fails for good (e.g. it stalled too often)
 * moves to the parent's failed dependencies instead of leaving the parent waiting forever, and the
 * parent reports that check as 'error'. Transient errors are retried with exponential backoff first.
 */
import type { FlowJob } from 'bullmq';
import { CHECK_IDS, type CheckId } from '../checks/catalog.js';
import type { Diagnosis } from './types.js';
import type { CheckRef } from '../runbooks/schema.js';
import {
  CHECKS_QUEUE,
  checkJobId,
  DIAGNOSIS_QUEUE,
  diagnosisJobId,
  NODE_CHECKS_JOB,
  nodeChecksJobId,
  PROBES_QUEUE,
  probeJobId,
} from './queue-names.js';

/** The request a diagnosis job carries: the fields of the Diagnosis known before any check ran. */
export interface DiagnosisJobData extends Pick<
  Diagnosis,
  'id' | 'cluster' | 'incidentId' | 'runbookId' | 'requestedBy' | 'purpose' | 'nodes' | 'startedAt'
> {
  /** Affected nodes beyond the probe cap. */
  nodesNotProbed: string[];
  /**
   * Set when no node looked affected and `nodes` is one working node probed only as a sample (network report,
   * node checks somewhere): a probe that cannot run there is no reason to doubt a healthy cluster.
   */
  sample?: boolean;
  /** The runbook's checks, in its order (the report order). */
  checks: CheckRef[];
}

export interface CheckJobData {
  diagnosisId: string;
  cluster: string;
  check: CheckRef;
  nodes: string[];
}

export interface NodeChecksJobData {
  diagnosisId: string;
  cluster: string;
  checks: CheckRef[];
  nodes: string[];
}

export interface ProbeJobData {
  diagnosisId: string;
  cluster: string;
  node: string;
}

export interface RetryPolicy {
  /** Tries per job, first one included (default 3). */
  attempts: number;
  /** First backoff delay; doubles on every retry (default 1000 ms). */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 1000 };

const DAY_SECONDS = 24 * 3600;

export function isNodeCheck(id: CheckId): boolean {
  return CHECK_IDS[id].scope === 'node';
}

/**
 * A job to run once the diagnosis finished (or failed for good): the diagnosis becomes its child, so the two
 * are one flow in Redis and a crash between them loses nothing. Its processor reads the result with
 * getChildrenValues() (a failure with getIgnoredChildrenFailures()).
 */
export interface FollowUpJob {
  queueName: string;
  name: string;
  jobId: string;
  data: Record<string, unknown>;
}

export function buildDiagnosisFlow(
  data: DiagnosisJobData,
  retry: RetryPolicy = DEFAULT_RETRY,
  then?: FollowUpJob,
): FlowJob {
  const childOpts = (jobId: string) => ({
    jobId,
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    ignoreDependencyOnFailure: true,
    // Children's results are copied into the parent when they complete; a day is plenty for debugging.
    removeOnComplete: { age: DAY_SECONDS },
    removeOnFail: { age: DAY_SECONDS },
  });
  const apiChecks = data.checks.filter((c) => !isNodeCheck(c.id));
  const nodeChecks = data.checks.filter((c) => isNodeCheck(c.id));

  const children: NonNullable<Extract<FlowJob, { children: unknown }>['children']> = apiChecks.map(
    (check) => ({
      name: check.id,
      queueName: CHECKS_QUEUE,
      data: { diagnosisId: data.id, cluster: data.cluster, check, nodes: data.nodes } satisfies CheckJobData,
      opts: childOpts(checkJobId(data.id, check.id)),
    }),
  );
  if (nodeChecks.length > 0) {
    children.push({
      name: NODE_CHECKS_JOB,
      queueName: CHECKS_QUEUE,
      data: {
        diagnosisId: data.id,
        cluster: data.cluster,
        checks: nodeChecks,
        nodes: data.nodes,
      } satisfies NodeChecksJobData,
      opts: childOpts(nodeChecksJobId(data.id)),
      children: data.nodes.map((node) => ({
        name: 'probe',
        queueName: PROBES_QUEUE,
        data: { diagnosisId: data.id, cluster: data.cluster, node } satisfies ProbeJobData,
        opts: childOpts(probeJobId(data.id, node)),
      })),
    });
  }
  const diagnosis: FlowJob = {
    name: 'diagnosis',
    queueName: DIAGNOSIS_QUEUE,
    data,
    opts: {
      jobId: diagnosisJobId(data.id),
      attempts: retry.attempts,
      backoff: { type: 'exponential', delay: retry.backoffMs },
      // Kept (not removed) so a repeated start() with the same id finds it and does not run twice.
      removeOnComplete: { age: 7 * DAY_SECONDS },
      removeOnFail: { age: 7 * DAY_SECONDS },
      // With a follow-up, a diagnosis that fails for good still lets it run (and report the failure).
      ...(then ? { ignoreDependencyOnFailure: true } : {}),
    },
    children,
  };
  if (!then) return diagnosis;
  return {
    name: then.name,
    queueName: then.queueName,
    data: then.data,
    opts: {
      jobId: then.jobId,
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 7 * DAY_SECONDS },
      removeOnFail: { age: 7 * DAY_SECONDS },
    },
    children: [diagnosis],
  };
}
