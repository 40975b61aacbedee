/**
 * What the coordinator answers a person's command or click: accepted (and what happens next) or refused
 * (and why). Structured, so each sink words it for its own audience (the Slack layer in ephemeral
 * messages); nothing here is Slack markup.
 */
import type { IncidentState } from '../incidents/transitions.js';
import type { PolicyRefusal } from './policy.js';
import type { StepStatus } from './types.js';

export type Refusal =
  | PolicyRefusal
  | { code: 'expired-button' }
  | { code: 'unknown-cluster'; cluster: string; known: string[] }
  | { code: 'unknown-incident'; incidentId: string }
  | { code: 'duplicate'; step: number; count: number; required: number }
  | { code: 'step-state'; step: number; state: StepStatus; by?: string }
  | { code: 'superseded'; version: number; current?: number }
  | { code: 'plan-expired'; expiredAt: string }
  | { code: 'incident-state'; state: IncidentState; incidentId: string }
  | { code: 'cluster-busy'; cluster: string; incidentId: string }
  | {
      code: 'rate-limited';
      scope: 'user' | 'cluster';
      cluster: string;
      retryAfterSeconds: number;
      limit: number;
    }
  | { code: 'already-diagnosing'; diagnosisId: string; by: string }
  | { code: 'rerun-needs-approver'; incidentId: string }
  | { code: 'already-acknowledged'; by: string; at: string }
  | { code: 'could-not-start'; reason: string }
  | { code: 'unknown-diagnosis'; diagnosisId: string };

export type Accepted =
  | { code: 'approval-recorded'; step: number; count: number; required: number }
  | { code: 'step-approved'; step: number; waitsFor?: number }
  | { code: 'step-rejected'; step: number }
  | {
      code: 'diagnosis-started';
      cluster: string;
      diagnosisId: string;
      incidentId?: string;
      node?: string;
      reportTo: 'channel' | 'dm';
    }
  | { code: 'acknowledged'; incidentId: string }
  | {
      code: 'evidence';
      cluster: string;
      cause: string;
      title: string;
      /** Every evidence line of the cause, then those of the checks that found it. */
      lines: string[];
    };

export type Outcome = ({ ok: true } & Accepted) | { ok: false; refusal: Refusal };

export const refuse = (refusal: Refusal): Outcome => ({ ok: false, refusal });
export const accept = (accepted: Accepted): Outcome => ({ ok: true, ...accepted });
