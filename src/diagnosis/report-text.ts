/**
 * The human-readable diagnosis report `flannel-ops diagnose` prints (pure: text in, text out).
 * Strings from the cluster (evidence, summaries, node names) reach a terminal: each printed line goes through
 * terminalLine, so no escape sequence, bidi override or embedded line break of theirs gets through.
 */
import { terminalLine } from '../util/sanitize.js';
import type { CheckStatus } from '../checks/types.js';
import type { DiagnosisDocument } from './assemble.js';
import type { DiagnosisProgress } from './types.js';

const STATUS_LABEL: Record<CheckStatus, string> = {
  ok: 'ok',
  warn: 'WARN',
  fail: 'FAIL',
  error: 'ERROR',
  skipped: 'skip',
};

const MAX_EVIDENCE_LINES = 8;

export function formatDiagnosisReport(d: DiagnosisDocument): string {
  const out: string[] = [];
  const problems = d.causes.length;
  const headline = d.healthy
    ? 'healthy'
    : problems > 0
      ? `${problems} probable cause(s) found`
      : 'no cause found, but some checks could not run';
  out.push(`Diagnosis ${d.id} of cluster ${d.cluster} (runbook ${d.runbookId}): ${headline}`);
  if (d.incidentId) out.push(`Incident: ${d.incidentId}`);
  out.push(`Probed nodes: ${d.nodes.length ? d.nodes.join(', ') : 'none (no affected node)'}`);
  if (d.nodesNotProbed?.length)
    out.push(`Affected but not probed (cap reached): ${d.nodesNotProbed.join(', ')}`);
  if (d.flannel) {
    const f = d.flannel;
    const where = f.namespace && f.daemonSet ? `${f.namespace}/${f.daemonSet}` : (f.daemonSet ?? f.namespace);
    const parts = [
      where,
      f.version && `version ${f.version}`,
      f.embedded && `embedded (${f.embedded})`,
    ].filter(Boolean);
    if (parts.length) out.push(`Flannel: ${parts.join(', ')}`);
  }

  out.push('', 'Checks');
  const idWidth = Math.max(...d.checks.map((c) => c.id.length), 10);
  for (const check of d.checks) {
    out.push(`  ${STATUS_LABEL[check.status].padEnd(6)} ${check.id.padEnd(idWidth)}  ${check.summary}`);
  }

  out.push('', 'Verdict');
  if (problems === 0) {
    out.push(
      d.healthy
        ? '  Healthy: no problem found.'
        : '  No cause identified; see the checks that could not run above.',
    );
  }
  d.causes.forEach((cause, index) => {
    out.push(`  ${index + 1}. ${cause.id} (confidence ${cause.confidence.toFixed(2)}): ${cause.summary}`);
    if (cause.nodes.length) out.push(`     nodes: ${cause.nodes.join(', ')}`);
    for (const line of cause.evidence.slice(0, MAX_EVIDENCE_LINES)) out.push(`     - ${line}`);
    if (cause.evidence.length > MAX_EVIDENCE_LINES) {
      out.push(`     (${cause.evidence.length - MAX_EVIDENCE_LINES} more evidence lines in --json)`);
    }
  });

  if (d.tie) {
    out.push(
      `  Tie: ${d.tie.causes.join(', ')} are equally supported by the evidence; no high-risk step is offered${d.tie.heldBack.length ? ` (held back: ${d.tie.heldBack.join(', ')})` : ''}. What would tell them apart:`,
    );
    for (const line of d.tie.tellApart) out.push(`     - ${line}`);
  }

  out.push('', 'Network');
  const net = d.network;
  const details = [
    net.backend ? `backend ${net.backend}` : 'backend unknown',
    net.mtu !== undefined ? `MTU ${net.mtu}` : undefined,
    net.vni !== undefined ? `VNI ${net.vni}` : undefined,
    net.port !== undefined ? `port ${net.port}` : undefined,
  ].filter(Boolean);
  out.push(`  ${details.join(', ')}`);
  for (const warning of net.warnings) out.push(`  warning: ${warning}`);

  out.push('', 'Plan');
  if (d.plan.length === 0) out.push('  Nothing to do.');
  d.plan.forEach((step, index) => {
    const nodes = step.nodes ?? (step.node ? [step.node] : []);
    const where =
      nodes.length === 0 ? undefined : nodes.length === 1 ? `node ${nodes[0]}` : `nodes ${nodes.join(', ')}`;
    const tags = [`risk ${step.risk}`, where, step.reportOnly && 'report only'].filter(Boolean).join(', ');
    out.push(`  ${index + 1}. ${step.action} [${tags}]: ${step.title}`);
  });
  return `${out.map(terminalLine).join('\n')}\n`;
}

const STATE_MARK: Record<string, string> = {
  pending: '·',
  running: '…',
  ok: '✓',
  warn: '!',
  fail: '✗',
  error: '✗',
  skipped: '-',
};

/** The live view on a terminal: one line per check, rewritten in place. */
export function progressLines(p: DiagnosisProgress): string[] {
  const probes =
    p.probes.total > 0
      ? `probes ${p.probes.done + p.probes.failed}/${p.probes.total}${p.probes.failed ? ` (${p.probes.failed} failed)` : ''}`
      : 'no node probes';
  const lines = [`diagnosing ${p.cluster} (${p.id}): ${p.phase}, ${probes}`];
  const idWidth = Math.max(...p.checks.map((c) => c.id.length), 10);
  for (const check of p.checks) {
    const state = `${STATE_MARK[check.state] ?? ' '} ${check.state}`.padEnd(9);
    lines.push(`  ${state} ${check.id.padEnd(idWidth)}${check.summary ? `  ${check.summary}` : ''}`);
  }
  return lines.map(terminalLine);
}
