/**
 * /var/run/netns on each node: containerd and CRI-O create one `cni-...` namespace per pod sandbox.
 * More namespaces than sandboxes means teardowns did not run, which usually leaks the IP too
 * (domain/flannel.md §2); on its own it is weak evidence, so it only supports ipam-leak.
 * The API cannot say which namespace belongs to which sandbox: the names listed are candidates the
 * removal action checks against the runtime (`crictl inspectp`) before deleting any.
 */
import { nodeCheck, type NodeOutcome, type ProbedNode } from './common.js';

export function evaluateNode(nf: ProbedNode): NodeOutcome {
  const netns = nf.probe.report.netns;
  if (!netns.exists) {
    return {
      status: 'ok',
      summary: `${netns.dir} does not exist (no namespaces there)`,
      facts: { entries: 0, sandboxes: 0 },
    };
  }
  const entries = [...netns.entries].sort();
  // Pods with an IP (or being torn down) hold a sandbox and so a namespace; stuck ones have none.
  const sandboxes = (nf.pods ?? []).filter((p) => p.ips.length > 0 || p.terminating).length;
  const leftover = entries.length - sandboxes;
  const facts = { entries: entries.length, sandboxes, leftover: Math.max(0, leftover) };
  const evidence = [
    `ls ${netns.dir}: ${entries.length} namespaces`,
    `pods with a sandbox on the node: ${sandboxes}`,
  ];
  if (leftover <= 0) {
    return {
      status: 'ok',
      summary: `${entries.length} namespaces for ${sandboxes} pod sandboxes`,
      evidence,
      facts,
    };
  }
  const summary = `${leftover} network namespace(s) in ${netns.dir} beyond the ${sandboxes} pod sandboxes`;
  return {
    status: 'warn',
    summary,
    evidence: [
      ...evidence,
      `namespaces: ${entries.slice(0, 10).join(', ')}${entries.length > 10 ? ` and ${entries.length - 10} more` : ''}`,
    ],
    findings: [
      {
        cause: 'ipam-leak',
        confidence: 0.3,
        summary: `${summary}: sandbox teardowns did not run, which also leaks host-local IPs`,
        evidence,
        data: { leftoverNetns: { [nf.node]: { count: leftover, candidates: entries } } },
      },
    ],
    facts,
  };
}

export const check = nodeCheck({
  id: 'node-netns',
  title: 'Leftover network namespaces on the node',
  needs: { pods: true },
  evaluateNode,
});
