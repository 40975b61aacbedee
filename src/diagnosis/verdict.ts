/**
 * The verdict: findings of every check merged by cause and ranked so the root cause comes first. Pure.
 *
 * Ranking is by evidence strength: confidence (boosted a little when several checks agree), then how many
 * checks agree, then how many of them observed the node itself (probe checks) rather than inferred from the
 * API. "Explains" rules push consequences below their cause (no Flannel at all explains a missing
 * subnet.env), transitively; "corroboration" rules raise a weak cause when the symptoms it would explain are
 * there (a manifest whose RBAC API the cluster no longer serves, and exactly those RBAC objects missing).
 * Causes whose strength is equal and whose nodes overlap are a tie (findTie): the plan then offers no
 * high-risk step for them, and the verdict says what would tell them apart.
 */
import { CAUSE_IDS, CAUSE_ID_LIST, type CauseId } from '../checks/causes.js';
import { CHECK_IDS, type CheckId } from '../checks/catalog.js';
import type { CheckResult, Finding } from '../checks/types.js';
import type { RankedCause, VerdictTie } from './types.js';

/** A cause at or above this confidence makes the cluster unhealthy and gets remediation steps. */
export const CAUSE_THRESHOLD = 0.5;
export const MAX_EVIDENCE_PER_CAUSE = 12;
const AGREEMENT_BOOST = 0.05;
const MAX_CONFIDENCE = 0.99;

interface ExplainRule {
  cause: CauseId;
  explains: CauseId;
  /** Only when the explained cause's data matches (e.g. only the flannel binary is missing). */
  applies?: (explained: RankedCause, explainer: RankedCause) => boolean;
}

/** Only the flannel binary is missing (not the upstream plugins, which Flannel never installs). */
function onlyFlannelBinaryMissing(c: RankedCause): boolean {
  const missing = c.data?.missingPlugins;
  if (!missing || typeof missing !== 'object') return false;
  return Object.values(missing as Record<string, unknown>).every(
    (list) => Array.isArray(list) && list.every((p) => p === 'flannel'),
  );
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * The objects a partial deployment lacks are of kinds the running release's manifest declares with an API
 * the cluster no longer serves: applying that manifest is what failed (`no matches for kind ...`).
 */
function missingKindsUnserved(explained: RankedCause, explainer: RankedCause): boolean {
  const unserved = new Set(stringList(explainer.data?.unservedKinds).map((k) => k.toLowerCase()));
  if (unserved.size === 0) return false;
  const missing = stringList(explained.data?.missing).map((m) => m.split(/[\s/]/)[0].toLowerCase());
  return missing.some((kind) => unserved.has(kind));
}

/** The cluster is older than the running release supports: every Flannel failure follows from that. */
function belowSupportedKubernetes(_explained: RankedCause, explainer: RankedCause): boolean {
  return explainer.data?.belowMinimum === true;
}

/** flanneld is refused by the API server (RBAC) while the release's RBAC API is no longer served. */
function forbiddenWithUnservedRbac(explained: RankedCause, explainer: RankedCause): boolean {
  const unserved = stringList(explainer.data?.unservedKinds).map((k) => k.toLowerCase());
  if (!unserved.some((k) => k.startsWith('clusterrole'))) return false;
  const kinds = explained.data?.flanneldErrors;
  return !!kinds && typeof kinds === 'object' && Object.values(kinds).includes('rbac');
}

/** The explained cause is on nodes where the explainer is (a per-node problem explained by a per-node cause). */
function sameNodes(explained: RankedCause, explainer: RankedCause): boolean {
  const on = explainer.confirmedNodes ?? explainer.nodes;
  return explained.nodes.length > 0 && explained.nodes.every((n) => on.includes(n));
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
  // cni0 carries the address of whatever configured it last: another CNI's config winning on the node, or a
  // wrong subnet.env. Deleting it before that is fixed only recreates it the same way.
  { cause: 'cni-config-conflict', explains: 'stale-cni0', applies: sameNodes },
  { cause: 'subnet-env-mismatch', explains: 'stale-cni0', applies: sameNodes },
  // A version that does not suit the cluster explains the failures it causes (domain/flannel.md §9).
  { cause: 'version-mismatch', explains: 'flannel-partially-deployed', applies: missingKindsUnserved },
  { cause: 'version-mismatch', explains: 'flannel-pod-failing', applies: forbiddenWithUnservedRbac },
  { cause: 'version-mismatch', explains: 'flannel-pod-failing', applies: belowSupportedKubernetes },
  { cause: 'version-mismatch', explains: 'flannel-partially-deployed', applies: belowSupportedKubernetes },
];

/**
 * Rules that raise a cause found with little confidence on its own when the symptoms it would explain are
 * present and match it specifically: it then ranks just above them (and the explain rules lower them).
 */
export const CORROBORATION_RULES: readonly ExplainRule[] = EXPLAIN_RULES.filter(
  (r) => r.cause === 'version-mismatch' && r.applies !== belowSupportedKubernetes,
);

/** How far an explained cause drops: below its explainer and well below its own confidence. */
const EXPLAINED_FACTOR = 0.5;

export function rankCauses(results: readonly CheckResult[]): RankedCause[] {
  const tagged = results.flatMap((r) => r.findings.map((f) => ({ check: r.id, finding: f })));
  const exclusive = applyPerNodeExclusions(tagged);
  const merged = mergeByCause(exclusive);
  applyCorroboration(merged);
  applyExplainRules(merged);
  return [...merged.values()].sort(compareCauses);
}

/** Healthy: no cause anyone should act on and no check that failed. */
export function isHealthy(results: readonly CheckResult[], causes: readonly RankedCause[]): boolean {
  return !causes.some((c) => c.confidence >= CAUSE_THRESHOLD) && !results.some((r) => r.status === 'fail');
}

/** How many agreeing checks looked at the node itself (probe checks) — direct observation beats inference. */
function directChecks(c: RankedCause): number {
  return c.checks.filter((id) => CHECK_IDS[id]?.scope === 'node').length;
}

/** Evidence strength: confidence, then agreeing checks, then direct observations. 0 = equally strong. */
export function compareStrength(a: RankedCause, b: RankedCause): number {
  if (b.confidence !== a.confidence) return b.confidence - a.confidence;
  if (b.checks.length !== a.checks.length) return b.checks.length - a.checks.length;
  return directChecks(b) - directChecks(a);
}

function compareCauses(a: RankedCause, b: RankedCause): number {
  return compareStrength(a, b) || CAUSE_ID_LIST.indexOf(a.id) - CAUSE_ID_LIST.indexOf(b.id);
}

function overlap(a: RankedCause, b: RankedCause): boolean {
  if (a.nodes.length === 0 || b.nodes.length === 0) return true;
  return a.nodes.some((n) => b.nodes.includes(n));
}

/** What confirms each cause: the observation that tells it apart from the others. */
export const TELL_APART: Record<CauseId, string> = {
  'flannel-not-deployed':
    '`kubectl get ds -A -l app=flannel` returns nothing and no node carries flannel.alpha.coreos.com/* annotations',
  'flannel-partially-deployed':
    "`kubectl get ds,cm,sa -A -l app=flannel` and `kubectl get clusterrole,clusterrolebinding flannel` show which of Flannel's objects is gone",
  'flannel-config-corrupt':
    "`kubectl -n kube-flannel get cm kube-flannel-cfg -o jsonpath='{.data.net-conf\\.json}'` does not parse as JSON or has no Network",
  'flannel-pod-failing':
    '`kubectl -n kube-flannel get pods -o wide` shows the Flannel pod on the node not Ready (or absent), and `kubectl logs --previous` says why',
  'podcidr-missing':
    '`kubectl get nodes -o custom-columns=NAME:.metadata.name,CIDR:.spec.podCIDR` shows <none> for the node',
  'podcidr-outside-network': "the node's spec.podCIDR lies outside the Network of net-conf.json",
  'ipam-leak':
    'on the node, /var/lib/cni/networks/<net> holds files whose IP is no pod IP and whose owner is no sandbox in `crictl pods -q --no-trunc`',
  'ipam-exhausted':
    '`kubectl get pods -A -o wide --field-selector spec.nodeName=<node>` counts as many pods with IPs as the node range holds',
  'stale-cni0':
    '`ip -4 addr show cni0` on the node differs from FLANNEL_SUBNET in /run/flannel/subnet.env, and subnet.env matches the node podCIDR',
  'subnet-env-mismatch':
    "FLANNEL_SUBNET in /run/flannel/subnet.env on the node differs from `kubectl get node <node> -o jsonpath='{.spec.podCIDR}'`",
  'cni-config-conflict':
    "`ls /etc/cni/net.d` on the node: the first .conf/.conflist is not Flannel's (or Multus delegates to another network); pod IPs fall outside the node podCIDR",
  'cni-plugin-missing':
    '`ls /opt/cni/bin` on the node lacks flannel, bridge, host-local, portmap or loopback',
  'subnet-env-missing':
    '`cat /run/flannel/subnet.env` on the node fails although the Flannel pod there is Ready',
  'version-mismatch':
    '`kubectl version` against the Kubernetes range of the running Flannel release and the API versions its manifest uses',
};

/**
 * The causes tied with the first one: at or above the threshold, not explained by another, as strong as the
 * first, on the same nodes (or cluster-wide). Undefined when the first cause stands alone.
 */
export function findTie(
  causes: readonly RankedCause[],
): Pick<VerdictTie, 'causes' | 'tellApart'> | undefined {
  const top = causes[0];
  if (!top || top.confidence < CAUSE_THRESHOLD) return undefined;
  const tied = causes.filter(
    (c) =>
      c === top ||
      (c.confidence >= CAUSE_THRESHOLD &&
        c.data?.explainedBy === undefined &&
        compareStrength(c, top) === 0 &&
        overlap(c, top)),
  );
  if (tied.length < 2) return undefined;
  return {
    causes: tied.map((c) => c.id),
    tellApart: tied.map((c) => `${c.id}: ${TELL_APART[c.id]}`),
  };
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

function boosted(confidence: number, agreeing: number): number {
  return Math.min(MAX_CONFIDENCE, confidence + AGREEMENT_BOOST * (agreeing - 1));
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
    const confidence = boosted(strongest.finding.confidence, checks.length);
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
      confirmedNodes: confirmedNodes(list, nodes),
    });
  }
  return merged;
}

/**
 * Nodes where the cause is confirmed by evidence about that node: its findings there (with agreement) reach
 * the threshold, or cluster-wide findings (no nodes) do, which then confirm every node of the cause.
 */
function confirmedNodes(list: Tagged[], nodes: string[]): string[] {
  const strength = (tagged: Tagged[]) => {
    if (tagged.length === 0) return 0;
    const best = Math.max(...tagged.map((t) => t.finding.confidence));
    return boosted(best, new Set(tagged.map((t) => t.check)).size);
  };
  const clusterWide = strength(list.filter((t) => t.finding.nodes.length === 0));
  if (clusterWide >= CAUSE_THRESHOLD) return nodes;
  return nodes.filter((n) => strength(list.filter((t) => t.finding.nodes.includes(n))) >= CAUSE_THRESHOLD);
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
    out[key] =
      isRecord(prev) && isRecord(value)
        ? { ...prev, ...value }
        : Array.isArray(prev) && Array.isArray(value)
          ? [...new Set([...prev, ...value])]
          : (prev ?? value);
  }
  return out;
}

function applyCorroboration(merged: Map<CauseId, RankedCause>): void {
  for (const rule of CORROBORATION_RULES) {
    const explainer = merged.get(rule.cause);
    const explained = merged.get(rule.explains);
    if (!explainer || !explained || explained.confidence < CAUSE_THRESHOLD) continue;
    if (rule.applies && !rule.applies(explained, explainer)) continue;
    const raised = round(Math.min(MAX_CONFIDENCE, explained.confidence + AGREEMENT_BOOST));
    explainer.confidence = Math.max(explainer.confidence, raised);
    // The corroborated cause now stands for the nodes of the symptoms it explains.
    explainer.nodes = [...new Set([...explainer.nodes, ...explained.nodes])].sort();
    explainer.confirmedNodes = [
      ...new Set([...(explainer.confirmedNodes ?? []), ...(explained.confirmedNodes ?? [])]),
    ].sort();
    explainer.evidence = [...new Set([...explainer.evidence, ...explained.evidence.slice(0, 3)])].slice(
      0,
      MAX_EVIDENCE_PER_CAUSE,
    );
  }
}

/** The causes an explainer accounts for, directly and through the causes it explains (transitively). */
function explainedBy(explainer: RankedCause, merged: Map<CauseId, RankedCause>): RankedCause[] {
  const out: RankedCause[] = [];
  const queue: RankedCause[] = [explainer];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const rule of EXPLAIN_RULES) {
      if (rule.cause !== current.id) continue;
      const explained = merged.get(rule.explains);
      if (!explained || explained === explainer || out.includes(explained)) continue;
      // Transitive steps apply their own condition against what the original explainer found.
      if (rule.applies && !rule.applies(explained, current)) continue;
      out.push(explained);
      queue.push(explained);
    }
  }
  return out;
}

function applyExplainRules(merged: Map<CauseId, RankedCause>): void {
  // Explainers' own confidence is settled first (a cause explained by a stronger one explains less).
  const order = [...merged.values()].sort(compareCauses);
  const lowered = new Set<CauseId>();
  for (const explainer of order) {
    if (explainer.confidence < CAUSE_THRESHOLD || lowered.has(explainer.id)) continue;
    for (const explained of explainedBy(explainer, merged)) {
      const value = round(Math.min(explained.confidence * EXPLAINED_FACTOR, explainer.confidence - 0.1));
      if (value >= explained.confidence) continue;
      explained.confidence = Math.max(0, value);
      lowered.add(explained.id);
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
