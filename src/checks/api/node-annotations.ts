/**
 * node-annotations: the annotations flanneld writes on its node once it has a lease
 * (flannel.alpha.coreos.com/backend-type, backend-data, public-ip, kube-subnet-manager).
 */
import type { CheckDefinition } from '../types.js';
import { evaluation, gatherNodes, listSome, plural, type Evaluation } from './common.js';
import {
  ANNOTATION_PREFIX,
  flannelAnnotations,
  gatherFlannelDaemonSets,
  gatherFlannelPods,
} from './flannel-objects.js';
import { sortedUnique } from './summaries.js';

export const REQUIRED_ANNOTATIONS = [
  'backend-type',
  'backend-data',
  'public-ip',
  'kube-subnet-manager',
] as const;

export interface NodeAnnotationsFacts {
  /** Flannel annotations per node (prefix flannel.alpha.coreos.com/ only). */
  nodes: Array<{ name: string; annotations: Record<string, string> }>;
  /** Nodes with a Flannel pod. */
  flannelNodes: string[];
}

export function evaluateNodeAnnotations(facts: NodeAnnotationsFacts): Evaluation {
  const backendTypes: Record<string, string> = {};
  const backendData: Record<string, unknown> = {};
  const publicIps: Record<string, string> = {};
  const missing: Record<string, string[]> = {};
  for (const n of facts.nodes) {
    const a = n.annotations;
    const type = a[`${ANNOTATION_PREFIX}backend-type`];
    if (type) backendTypes[n.name] = type;
    const data = a[`${ANNOTATION_PREFIX}backend-data`];
    if (data) {
      try {
        backendData[n.name] = JSON.parse(data);
      } catch {
        backendData[n.name] = data;
      }
    }
    const ip = a[`${ANNOTATION_PREFIX}public-ip`];
    if (ip) publicIps[n.name] = ip;
    const lacking = REQUIRED_ANNOTATIONS.filter((k) => !a[`${ANNOTATION_PREFIX}${k}`]);
    if (lacking.length > 0) missing[n.name] = lacking;
  }
  const types = sortedUnique(Object.values(backendTypes));
  const resultFacts = {
    backendTypes,
    ...(types.length === 1 ? { backendType: types[0] } : {}),
    backendData,
    publicIps,
    missing,
  };
  const cmd = `kubectl get node <node> -o jsonpath='{.metadata.annotations}'`;
  const evidence: string[] = [];
  const flannelSet = new Set(facts.flannelNodes);
  const missingWhereRuns = Object.keys(missing)
    .filter((n) => flannelSet.has(n))
    .sort();
  for (const n of missingWhereRuns.slice(0, 8)) {
    evidence.push(
      `${cmd.replace('<node>', n)}: no ${missing[n].map((k) => `${ANNOTATION_PREFIX}${k}`).join(', ')} (flanneld has not registered this node)`,
    );
  }
  if (types.length > 1) {
    evidence.push(
      `backend-type differs between nodes: ${Object.entries(backendTypes)
        .map(([n, t]) => `${n}=${t}`)
        .join(', ')}`,
    );
  }
  for (const [n, type] of Object.entries(backendTypes).slice(0, 3)) {
    evidence.push(
      `${cmd.replace('<node>', n)}: backend-type ${type}${publicIps[n] ? `, public-ip ${publicIps[n]}` : ''}`,
    );
  }
  if (missingWhereRuns.length > 0 || types.length > 1) {
    const parts = [
      missingWhereRuns.length
        ? `Flannel annotations missing on ${plural(missingWhereRuns.length, 'node')} with a Flannel pod (${listSome(missingWhereRuns, 3)})`
        : '',
      types.length > 1 ? `nodes disagree on the backend (${types.join(', ')})` : '',
    ].filter((p) => p);
    return evaluation('warn', parts.join('; '), evidence, [], resultFacts);
  }
  const annotated = facts.nodes.length - Object.keys(missing).length;
  if (facts.flannelNodes.length === 0 && annotated > 0) {
    return evaluation(
      'ok',
      `${plural(annotated, 'node')} carry Flannel annotations but no Flannel pod runs (embedded Flannel or a removed install)`,
      evidence,
      [],
      resultFacts,
    );
  }
  if (annotated === 0) {
    return evaluation(
      'ok',
      'No node carries Flannel annotations and no Flannel pod runs',
      evidence,
      [],
      resultFacts,
    );
  }
  return evaluation(
    'ok',
    `Flannel annotations present on ${plural(annotated, 'node')}${types.length === 1 ? ` (backend ${types[0]})` : ''}`,
    evidence,
    [],
    resultFacts,
  );
}

export const check: CheckDefinition<NodeAnnotationsFacts> = {
  id: 'node-annotations',
  scope: 'api',
  title: 'Flannel node annotations',
  async gather(ctx) {
    const [daemonSets, nodes] = await Promise.all([gatherFlannelDaemonSets(ctx.kube), gatherNodes(ctx.kube)]);
    const pods = await gatherFlannelPods(ctx.kube, daemonSets);
    return {
      nodes: nodes.map((n) => ({ name: n.name, annotations: flannelAnnotations(n) })),
      flannelNodes: sortedUnique(pods.map((p) => p.node ?? '').filter((n) => n !== '')),
    };
  },
  evaluate: (facts) => evaluateNodeAnnotations(facts),
};
