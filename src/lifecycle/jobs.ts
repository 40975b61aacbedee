/**
 * The lifecycle's own BullMQ queue ("lifecycle"): the work that moves incidents on, durable in Redis so a
 * crash loses none of it and every replica may run it.
 *
 *   settle    the follow-up of a diagnosis (its parent in the flow): settles the incident, or the report
 *   run-step  runs one approved step (job id per plan version and step: approving twice queues it once)
 *   confirm   after the quiet period: no new sandbox failure since the verification passed → resolved
 *   escalate  nobody acknowledged in time: page again (or the next group)
 */
import { z } from 'zod';

export const LIFECYCLE_QUEUE = 'lifecycle';

export const settleJobSchema = z.object({
  diagnosisId: z.string(),
  purpose: z.enum(['incident', 'verification', 'report', 'scheduled']),
  cluster: z.string(),
  incidentId: z.string().optional(),
  requestedBy: z.string().optional(),
  node: z.string().optional(),
});
export type SettleJob = z.infer<typeof settleJobSchema>;

export const runStepJobSchema = z.object({
  incidentId: z.string(),
  version: z.number().int(),
  stepId: z.string(),
});
export type RunStepJob = z.infer<typeof runStepJobSchema>;

export const confirmJobSchema = z.object({
  incidentId: z.string(),
  diagnosisId: z.string(),
  passedAt: z.number(),
});
export type ConfirmJob = z.infer<typeof confirmJobSchema>;

export const escalateJobSchema = z.object({
  incidentId: z.string(),
  level: z.number().int().min(0),
  round: z.number().int().min(0),
});
export type EscalateJob = z.infer<typeof escalateJobSchema>;

/** BullMQ job ids may not contain ':'; ours are built from ids that do not. */
export const jobIds = {
  settle: (diagnosisId: string) => `settle-${diagnosisId}`,
  runStep: (j: RunStepJob) => `step-${j.incidentId}-v${j.version}-${j.stepId}`,
  confirm: (diagnosisId: string) => `confirm-${diagnosisId}`,
  escalate: (j: EscalateJob) => `escalate-${j.incidentId}-r${j.round}-l${j.level}`,
};
