/**
 * Turns the check results of one diagnosis into the Diagnosis document (pure): ranked causes, the
 * remediation plan from the runbook, the network report and what is known about the Flannel install.
 */
import { CHECK_IDS } from '../checks/catalog.js';
import type { CheckResult } from '../checks/types.js';
import type { Runbook } from '../runbooks/schema.js';
import type { DiagnosisJobData } from './flow.js';
import { buildNetworkReport } from './network-report.js';
import { holdBackForTie, planRemediation } from './plan.js';
import type { Diagnosis, RankedCause, VerdictTie } from './types.js';
import { findTie, isHealthy as verdictSaysHealthy, rankCauses } from './verdict.js';

/** The Diagnosis plus the affected nodes that were not probed because of the cap. */
export type DiagnosisDocument = Diagnosis & { nodesNotProbed?: string[] };

export interface AssembleInput {
  request: DiagnosisJobData;
  runbook: Runbook;
  /** One per runbook check, in runbook order. */
  results: CheckResult[];
  finishedAt: string;
}

export function assembleDiagnosis(input: AssembleInput): DiagnosisDocument {
  const { request, runbook, results } = input;
  const causes = rankCauses(results);
  const tied = findTie(causes);
  const planned = planRemediation(runbook, causes, { nodes: request.nodes });
  const { plan, heldBack } = tied ? holdBackForTie(planned, tied.causes) : { plan: planned, heldBack: [] };
  const tie: VerdictTie | undefined = tied ? { ...tied, heldBack: heldBack.map((s) => s.step) } : undefined;
  const network = buildNetworkReport(results);
  const flannel = flannelInfo(results);
  return {
    id: request.id,
    cluster: request.cluster,
    ...(request.incidentId ? { incidentId: request.incidentId } : {}),
    runbookId: request.runbookId,
    ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
    ...(request.purpose ? { purpose: request.purpose } : {}),
    nodes: request.nodes,
    ...(request.nodesNotProbed.length ? { nodesNotProbed: request.nodesNotProbed } : {}),
    startedAt: request.startedAt,
    finishedAt: input.finishedAt,
    healthy: isHealthy(request.sample ? withoutSampleErrors(results) : results, causes),
    causes,
    ...(tie ? { tie } : {}),
    checks: results,
    plan,
    network,
    ...(flannel ? { flannel } : {}),
  };
}

/**
 * A sample node is probed only for the network report when nothing looked affected: its probe failing (an image
 * the node cannot pull, a restricted namespace) leaves the API checks' all-clear standing.
 */
function withoutSampleErrors(results: readonly CheckResult[]): CheckResult[] {
  return results.filter((r) => !(r.status === 'error' && CHECK_IDS[r.id]?.scope === 'node'));
}

/** Healthy means nothing found AND nothing left unchecked: a check that could not run is no all-clear. */
export function isHealthy(results: readonly CheckResult[], causes: readonly RankedCause[]): boolean {
  return verdictSaysHealthy(results, causes) && !results.some((r) => r.status === 'error');
}

function flannelInfo(results: readonly CheckResult[]): Diagnosis['flannel'] | undefined {
  const facts = results.find((r) => r.id === 'flannel-daemonset')?.facts;
  const version = results.find((r) => r.id === 'version-compat')?.facts;
  const pick = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  const info: NonNullable<Diagnosis['flannel']> = {};
  const namespace = pick(facts?.namespace);
  const daemonSet = pick(facts?.daemonSet) ?? pick(facts?.name);
  const flannelVersion = pick(facts?.version) ?? pick(version?.flannelVersion);
  const embedded = pick(facts?.embedded) ?? pick(version?.embedded);
  if (namespace) info.namespace = namespace;
  if (daemonSet) info.daemonSet = daemonSet;
  if (flannelVersion) info.version = flannelVersion;
  if (embedded === 'k3s' || embedded === 'rke2' || embedded === 'unknown') info.embedded = embedded;
  return Object.keys(info).length ? info : undefined;
}
