/**
 * node-conditions: Ready=False because the runtime's network is not ready (NetworkPluginNotReady,
 * "cni config uninitialized", "cni plugin not initialized"), and NetworkUnavailable missing or True
 * where a Flannel pod should have set FlannelIsUp. Alone these are symptoms: low confidence.
 */
import { NETWORK_NOT_READY } from '../../detect/patterns.js';
import type { CheckDefinition, Finding } from '../types.js';
import { clip, evaluation, gatherNodes, listSome, plural, type Evaluation } from './common.js';
import {
  detectEmbedded,
  gatherFlannelDaemonSets,
  gatherFlannelPods,
  type EmbeddedFlavour,
} from './flannel-objects.js';
import { condition, type NodeCondition } from './summaries.js';

export interface NodeConditionsFacts {
  nodes: Array<{ name: string; ready?: NodeCondition; networkUnavailable?: NodeCondition }>;
  flannelDeployed: boolean;
  embedded?: EmbeddedFlavour;
  /** Per node with a Flannel pod: is it ready? */
  flannelPodReady: Record<string, boolean>;
}

export function isCniNotReady(ready: NodeCondition | undefined): boolean {
  return (
    !!ready &&
    ready.status !== 'True' &&
    NETWORK_NOT_READY.test(`${ready.reason ?? ''} ${ready.message ?? ''}`)
  );
}

export function evaluateNodeConditions(facts: NodeConditionsFacts): Evaluation {
  const evidence: string[] = [];
  const findings: Finding[] = [];
  const cniNotReady = facts.nodes.filter((n) => isCniNotReady(n.ready));
  const otherNotReady = facts.nodes.filter(
    (n) => n.ready && n.ready.status !== 'True' && !isCniNotReady(n.ready),
  );
  // A True NetworkUnavailable, or a missing one where flanneld has not come up, means it never finished start-up.
  const netUnavailable = facts.nodes.filter(
    (n) =>
      n.name in facts.flannelPodReady &&
      (n.networkUnavailable?.status === 'True' || (!n.networkUnavailable && !facts.flannelPodReady[n.name])),
  );

  for (const n of cniNotReady) {
    evidence.push(
      `kubectl get node ${n.name}: Ready=${n.ready!.status} ${n.ready!.reason ?? ''}: "${clip(n.ready!.message ?? '', 220)}"`,
    );
  }
  for (const n of otherNotReady) {
    evidence.push(
      `kubectl get node ${n.name}: Ready=${n.ready!.status} ${n.ready!.reason ?? ''} (not network related)`,
    );
  }
  for (const n of netUnavailable) {
    evidence.push(
      `kubectl get node ${n.name} -o jsonpath='{.status.conditions[?(@.type=="NetworkUnavailable")]}': ${n.networkUnavailable ? `True (${n.networkUnavailable.reason ?? ''})` : 'not set'} — flanneld never set FlannelIsUp`,
    );
  }

  const cniNodes = cniNotReady.map((n) => n.name);
  if (cniNodes.length > 0) {
    if (!facts.flannelDeployed && !facts.embedded) {
      findings.push({
        cause: 'flannel-not-deployed',
        confidence: 0.4,
        summary: `${plural(cniNodes.length, 'node')} NotReady: no CNI config (no network plugin installed)`,
        nodes: cniNodes,
        evidence: evidence.slice(0, 4),
      });
    } else {
      findings.push({
        cause: 'flannel-pod-failing',
        confidence: 0.4,
        summary: `${plural(cniNodes.length, 'node')} NotReady: the runtime finds no CNI config (Flannel's install-cni did not run there)`,
        nodes: cniNodes,
        evidence: evidence.slice(0, 4),
      });
    }
  }
  const unavailableNodes = netUnavailable.map((n) => n.name).filter((n) => !cniNodes.includes(n));
  if (unavailableNodes.length > 0) {
    findings.push({
      cause: 'flannel-pod-failing',
      confidence: 0.35,
      summary: `flanneld never completed start-up on ${listSome(unavailableNodes, 3)} (NetworkUnavailable not cleared)`,
      nodes: unavailableNodes,
      evidence: evidence.filter((l) => unavailableNodes.some((n) => l.includes(`node ${n} `))).slice(0, 4),
    });
  }
  const resultFacts = {
    cniNotReady: cniNodes,
    networkUnavailable: netUnavailable.map((n) => n.name),
    notReady: [...cniNotReady, ...otherNotReady].map((n) => n.name).sort(),
  };
  if (cniNodes.length > 0) {
    return evaluation(
      'fail',
      `${plural(cniNodes.length, 'node')} NotReady: container runtime network not ready (${listSome(cniNodes, 3)})`,
      evidence,
      findings,
      resultFacts,
    );
  }
  if (netUnavailable.length > 0 || otherNotReady.length > 0) {
    const parts = [
      netUnavailable.length
        ? `NetworkUnavailable not cleared on ${listSome(
            netUnavailable.map((n) => n.name),
            3,
          )}`
        : '',
      otherNotReady.length ? `${plural(otherNotReady.length, 'node')} NotReady for other reasons` : '',
    ].filter((p) => p);
    return evaluation('warn', parts.join('; '), evidence, findings, resultFacts);
  }
  return evaluation(
    'ok',
    `All ${plural(facts.nodes.length, 'node')} Ready; no network conditions raised`,
    evidence,
    [],
    resultFacts,
  );
}

export const check: CheckDefinition<NodeConditionsFacts> = {
  id: 'node-conditions',
  scope: 'api',
  title: 'Node conditions',
  async gather(ctx) {
    const [daemonSets, nodes] = await Promise.all([gatherFlannelDaemonSets(ctx.kube), gatherNodes(ctx.kube)]);
    const pods = await gatherFlannelPods(ctx.kube, daemonSets);
    const flannelPodReady: Record<string, boolean> = {};
    for (const p of pods) if (p.node) flannelPodReady[p.node] = (flannelPodReady[p.node] ?? false) || p.ready;
    const embedded = daemonSets.length === 0 ? detectEmbedded(nodes, pods.length) : undefined;
    return {
      nodes: nodes.map((n) => ({
        name: n.name,
        ...(condition(n, 'Ready') ? { ready: condition(n, 'Ready') } : {}),
        ...(condition(n, 'NetworkUnavailable')
          ? { networkUnavailable: condition(n, 'NetworkUnavailable') }
          : {}),
      })),
      flannelDeployed: daemonSets.length > 0,
      ...(embedded ? { embedded } : {}),
      flannelPodReady,
    };
  },
  evaluate: (facts) => evaluateNodeConditions(facts),
};
