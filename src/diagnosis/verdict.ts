/**
 * The verdict: findings of every check merged by cause and ranked so the root cause comes first.
 * Pure. Ranking = confidence (boosted a little when several checks agree), then "explains" rules
 * that push consequences below their cause (no Flannel at all explains a missing subnet.env), then a
 * fixed cause order for ties.
 */
import { CAUSE_IDS, CAUSE_ID_LIST, type CauseId } from '../checks/causes.js';
import type { CheckId } from '../checks/catalog.js';
import type { CheckResult, Finding } from '../checks/types.js';
import type { RankedCause } from './types.js';

/** A cause at or above this confidence makes the cluster unhealthy and gets remediation steps. */
export const CAUSE_THRESHOLD = 0.5;
export const MAX_EVIDENCE_PER_CAUSE = 12;
const AGREEMENT_BOOST = 0.05;
const MAX_CONFIDENCE = 0.99;

interface ExplainRule {
  cause: CauseId;
  explains: CauseId;
  /** Only when the explained cause's data matches (e.g. only the flannel binary is missing). */
  applies?: (explained: RankedCause) => boolean;
}

/** Only the flannel binary is missing (not the upstream plugins, which Flannel never installs). */
function onlyFlannelBinaryMissing(c: RankedCause): boolean {
  const missing = c.data?.missingPlugins;
  if (!missing || typeof missing !== 'object') return false;
  return Object.values(missing as Record<string, unknown>).every(
    (list) => Array.isArray(list) && list.every((p) => p === 'flannel'),
  );
}

export const EXPLAIN_RULES: readonly ExplainRule[] = [
  { cause: 'flannel-not-deployed', explains: 'subnet-env-missing' },
  { cause: 'flannel-not-deployed', explains: 'flannel-pod-failing' },
  { cause: 'flannel-not-deployed', explains: 'cni-plugin-missing', applies: onlyFlannelBinaryMissing },
  { cause: 'flannel-partially-deployed', explains: 'subnet-env-missing' },
  { cause: 'flannel-partially-deployed', explains: 'flannel-pod-failing' },
  { cause: 'flannel-config-corrupt', explains: 'flannel-pod-failing' },
  { cause: 'flannel-config-corrupt', explains: 'subnet-env-missing' },
  { cause: 'podcidr-missing', explains: 'flannel-pod-failing' },
  { cause: 'podcidr-missing', explains: 'subnet-env-missing' },
  { cause: 'podcidr-outside-network', explains: 'flannel-pod-failing' },
  { cause: 'podcidr-outside-network', explains: 'subnet-env-missing' },
  // A crash-looping flanneld never writes subnet.env.
  { cause: 'flannel-pod-failing', explains: 'subnet-env-missing' },
  // A Flannel pod stuck before its init containers ran never copied /opt/cni/bin/flannel.
  { cause: 'flannel-pod-failing', explains: 'cni-plugin-missing', applies: onlyFlannelBinaryMissing },
];

/** How far an explained cause drops: below its explainer and well below its own confidence. */
const EXPLAINED_FACTOR = 0.5;

export function rankCauses(results: readonly CheckResult[]): RankedCause[] {
  const tagged = results.flatMap((r) => r.findings.map((f) => ({ check: r.id, finding: f })));
  const exclusive = applyPerNodeExclusions(tagged);
  const merged = mergeByCause(exclusive);
  applyExplainRules(merged);
  return [...merged.values()].sort(compareCauses);
}

/** Healthy: no cause anyone should act on and no check that failed. */
export function isHealthy(results: readonly CheckResult[], causes: readonly RankedCause[]): boolean {
  return !causes.some((c) => c.confidence >= CAUSE_THRESHOLD) && !results.some((r) => r.status === 'fail');
}

function compareCauses(a: RankedCause, b: RankedCause): number {
  if (b.confidence !== a.confidence) return b.confidence - a.confidence;
  return CAUSE_ID_LIST.indexOf(a.id) - CAUSE_ID_LIST.indexOf(b.id);
}

interface Tagged {
  check: CheckId;
  finding: Finding;
}

/**
 * ipam-leak and ipam-exhausted cannot both be true on one node: either the reservations belong to
 * pods or they don't. Per node, the weaker claim loses that node.
 */
function applyPerNodeExclusions(items: Tagged[]): Tagged[] {
  const pair: [CauseId, CauseId] = ['ipam-leak', 'ipam-exhausted'];
  const best = (cause: CauseId, node: string) =>
    Math.max(
      0,
      ...items
        .filter((t) => t.finding.cause === cause && t.finding.nodes.includes(node))
        .map((t) => t.finding.confidence),
    );
  const out: Tagged[] = [];
  for (const t of items) {
    if (!pair.includes(t.finding.cause)) {
      out.push(t);
      continue;
    }
    const other = t.finding.cause === pair[0] ? pair[1] : pair[0];
    // Ties go to exhaustion: releasing reservations real pods hold would be the harmful mistake.
    const losing = t.finding.nodes.filter((n) => {
      const mine = best(t.finding.cause, n);
      const theirs = best(other, n);
      return theirs > mine || (theirs === mine && theirs > 0 && t.finding.cause === 'ipam-leak');
    });
    if (losing.length === 0) {
      out.push(t);
      continue;
    }
    const nodes = t.finding.nodes.filter((n) => !losing.includes(n));
    if (nodes.length === 0) continue;
    out.push({
      check: t.check,
      finding: { ...t.finding, nodes, data: withoutNodes(t.finding.data, losing) },
    });
  }
  return out;
}

function withoutNodes(
  data: Record<string, unknown> | undefined,
  nodes: string[],
): Record<string, unknown> | undefined {
  if (!data) return data;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (isRecord(value))
      out[key] = Object.fromEntries(Object.entries(value).filter(([k]) => !nodes.includes(k)));
    else out[key] = value;
  }
  return out;
}

function mergeByCause(items: Tagged[]): Map<CauseId, RankedCause> {
  const byCause = new Map<CauseId, Tagged[]>();
  for (const t of items) {
    const list = byCause.get(t.finding.cause) ?? [];
    list.push(t);
    byCause.set(t.finding.cause, list);
  }
  const merged = new Map<CauseId, RankedCause>();
  for (const [cause, list] of byCause) {
    const strongest = list.reduce((a, b) => (b.finding.confidence > a.finding.confidence ? b : a));
    const checks = [...new Set(list.map((t) => t.check))];
    const confidence = Math.min(
      MAX_CONFIDENCE,
      strongest.finding.confidence + AGREEMENT_BOOST * (checks.length - 1),
    );
    // Strongest findings' evidence first, so the cap keeps what matters.
    const ordered = [...list].sort((a, b) => b.finding.confidence - a.finding.confidence);
    const evidence = [...new Set(ordered.flatMap((t) => t.finding.evidence))].slice(
      0,
      MAX_EVIDENCE_PER_CAUSE,
    );
    const nodes = [...new Set(list.flatMap((t) => t.finding.nodes))].sort();
    const data = list.reduce<Record<string, unknown> | undefined>(
      (acc, t) => mergeData(acc, t.finding.data),
      undefined,
    );
    merged.set(cause, {
      id: cause,
      title: CAUSE_IDS[cause],
      confidence: round(confidence),
      summary: strongest.finding.summary,
      nodes,
      evidence,
      ...(data ? { data } : {}),
      checks,
    });
  }
  return merged;
}

/** Merges finding data; per-node records ({ leakedIps: { node: [...] } }) are combined key by key. */
export function mergeData(
  a: Record<string, unknown> | undefined,
  b: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (!a) return b ? { ...b } : undefined;
  if (!b) return a;
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    out[key] = isRecord(prev) && isRecord(value) ? { ...prev, ...value } : (prev ?? value);
  }
  return out;
}

function applyExplainRules(merged: Map<CauseId, RankedCause>): void {
  // Explainers' own confidence is settled first (a cause explained by a stronger one explains less).
  const order = [...merged.values()].sort(compareCauses);
  for (const explainer of order) {
    if (explainer.confidence < CAUSE_THRESHOLD) continue;
    for (const rule of EXPLAIN_RULES) {
      if (rule.cause !== explainer.id) continue;
      const explained = merged.get(rule.explains);
      if (!explained || (rule.applies && !rule.applies(explained))) continue;
      const lowered = round(Math.min(explained.confidence * EXPLAINED_FACTOR, explainer.confidence - 0.1));
      if (lowered >= explained.confidence) continue;
      explained.confidence = Math.max(0, lowered);
      const before = Array.isArray(explained.data?.explainedBy)
        ? (explained.data.explainedBy as CauseId[])
        : [];
      explained.data = { ...explained.data, explainedBy: [...new Set([...before, explainer.id])] };
    }
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
