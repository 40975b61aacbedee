/** Small helpers shared by the API checks: result shape, node gathering, text trimming. */
import type { CheckResult, CheckStatus, Finding, KubeClients } from '../types.js';
import { summarizeNode, type NodeSummary } from './summaries.js';

export type Evaluation = Omit<CheckResult, 'id' | 'durationMs'>;

export function evaluation(
  status: CheckStatus,
  summary: string,
  evidence: string[] = [],
  findings: Finding[] = [],
  facts?: Record<string, unknown>,
): Evaluation {
  return { status, summary, evidence, findings, ...(facts ? { facts } : {}) };
}

export async function gatherNodes(kube: KubeClients): Promise<NodeSummary[]> {
  const list = await kube.core.listNode();
  return list.items.map(summarizeNode).sort((a, b) => a.name.localeCompare(b.name));
}

/** Cluster text can be long (log lines, event messages): keep evidence lines readable. */
export function clip(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** "a, b, c and 4 more" for evidence lines about many nodes or pods. */
export function listSome(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

export function numberParam(params: Record<string, unknown>, key: string, fallback: number): number {
  const value = params[key];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}
