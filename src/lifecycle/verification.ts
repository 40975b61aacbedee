/**
 * Did the fix work? (pure) The runbook's verification checks (the seed's criteria: Flannel Running and
 * Ready on every node that should run it, cni0 and flannel.1 with the node's subnet, subnet.env present,
 * podCIDRs assigned, the stuck pods Running) must pass in a fresh diagnosis that also names no cause.
 * The last criterion, no new sandbox failure for a quiet period, is the coordinator's (it waits).
 */
import type { Diagnosis } from '../diagnosis/types.js';
import { CAUSE_THRESHOLD } from '../diagnosis/verdict.js';
import type { Runbook } from '../runbooks/schema.js';

export interface VerificationJudgement {
  passed: boolean;
  /** What passed (when it did) or what is still wrong. */
  lines: string[];
}

export function judgeVerification(
  runbook: Pick<Runbook, 'verification' | 'checks'>,
  d: Diagnosis,
): VerificationJudgement {
  const ids = new Set((runbook.verification.length ? runbook.verification : runbook.checks).map((c) => c.id));
  const verifying = d.checks.filter((c) => ids.has(c.id));
  const bad = verifying.filter((c) => c.status === 'fail' || c.status === 'error');
  const causes = d.causes.filter((c) => c.confidence >= CAUSE_THRESHOLD);
  const passed = bad.length === 0 && causes.length === 0 && d.healthy;
  if (passed) {
    return { passed, lines: verifying.map((c) => `${c.id}: ${c.status} — ${c.summary}`) };
  }
  return {
    passed,
    lines: [
      ...bad.map((c) => `${c.id}: ${c.status} — ${c.summary}`),
      ...causes.map((c) => `still: ${c.title} (${c.id}${c.nodes.length ? ` on ${c.nodes.join(', ')}` : ''})`),
      ...(bad.length === 0 && causes.length === 0
        ? d.checks
            .filter((c) => c.status === 'fail' || c.status === 'error')
            .map((c) => `${c.id}: ${c.status} — ${c.summary}`)
        : []),
    ],
  };
}
