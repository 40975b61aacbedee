/**
 * Queue names and job ids of the diagnosis flow. Everything lives under BullMQ's `prefix` (the configured
 * key prefix), so several installs or test runs share one Redis. Job ids are derived from the diagnosis id:
 * adding the same flow twice is a no-op (BullMQ ignores an existing custom id), which makes start()
 * idempotent. BullMQ rejects ids containing ':' or made of digits only; ours start with a letter and the
 * parts we embed (diagnosis ids, check ids, node names) contain no ':'.
 */
import type { CheckId } from '../checks/catalog.js';

export const DIAGNOSIS_QUEUE = 'diagnosis';
/** API checks and the node-checks aggregation job. */
export const CHECKS_QUEUE = 'diagnosis-checks';
/** One probe pod per affected node; its worker concurrency is the probe concurrency cap. */
export const PROBES_QUEUE = 'diagnosis-probes';

export const QUEUE_NAMES = [DIAGNOSIS_QUEUE, CHECKS_QUEUE, PROBES_QUEUE] as const;

export const NODE_CHECKS_JOB = 'node-checks';

export function diagnosisJobId(diagnosisId: string): string {
  return `d-${diagnosisId}`;
}

export function checkJobId(diagnosisId: string, checkId: CheckId): string {
  return `d-${diagnosisId}-${checkId}`;
}

export function nodeChecksJobId(diagnosisId: string): string {
  return `d-${diagnosisId}-${NODE_CHECKS_JOB}`;
}

export function probeJobId(diagnosisId: string, node: string): string {
  return `d-${diagnosisId}-probe-${safeIdPart(node)}`;
}

/** Node names are DNS subdomains, but never trust that with a separator BullMQ forbids. */
export function safeIdPart(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '_');
}
