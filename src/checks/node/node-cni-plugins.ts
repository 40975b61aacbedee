/**
 * /opt/cni/bin on each node. Flannel ships only the `flannel` binary (its install-cni-plugin init
 * container copies it); bridge, host-local, portmap and loopback come from the containernetworking
 * plugins release (flannel#1730, #1847), so the two kinds of gap have different fixes.
 */
import { REQUIRED_CNI_PLUGINS } from '../probe/schema.js';
import { nodeCheck, stringList, type NodeCheckFacts, type NodeOutcome, type ProbedNode } from './common.js';

export function evaluateNode(
  nf: ProbedNode,
  params: Record<string, unknown>,
  all: NodeCheckFacts,
): NodeOutcome {
  const report = nf.probe.report;
  const bin = report.cniBin;
  const required = stringList(params.plugins, REQUIRED_CNI_PLUGINS);
  const unreadable = report.errors.filter((e) => e.includes(bin.dir));
  if (bin.exists && bin.files.length === 0 && unreadable.length) {
    return { status: 'error', summary: `cannot read ${bin.dir}`, evidence: unreadable };
  }
  const byName = new Map(bin.files.map((f) => [f.name, f]));
  const missing: string[] = [];
  const why = new Map<string, string>();
  for (const plugin of required) {
    const f = byName.get(plugin);
    if (f && f.type === 'file' && f.executable) continue;
    missing.push(plugin);
    why.set(
      plugin,
      !bin.exists
        ? `${bin.dir} does not exist`
        : !f
          ? `ls ${bin.dir}/${plugin}: no such file`
          : `${bin.dir}/${plugin} is ${f.type !== 'file' ? `a ${f.type}` : 'not executable'}`,
    );
  }
  const evidence = [...why.values()];
  const facts = {
    present: bin.files.filter((f) => f.type === 'file' && f.executable).map((f) => f.name),
    missing,
  };
  if (missing.length === 0) {
    return { status: 'ok', summary: `${required.join(', ')} present in ${bin.dir}`, facts };
  }
  const upstream = missing.filter((p) => p !== 'flannel');
  const flannelMissing = missing.includes('flannel');
  const findings: NodeOutcome['findings'] = [];
  const data = { missingPlugins: { [nf.node]: missing } };
  if (upstream.length) {
    findings.push({
      cause: 'cni-plugin-missing',
      confidence: 0.85,
      summary: `${upstream.join(', ')} missing from ${bin.dir}: install the containernetworking plugins release (bridge, host-local, portmap, loopback) into ${bin.dir}; Flannel does not ship them`,
      evidence: upstream.map((p) => why.get(p)!),
      data,
    });
  }
  if (flannelMissing) {
    const notDeployed = all.flannelDeployed === false;
    findings.push({
      cause: 'cni-plugin-missing',
      // With no Flannel deployed the binary's absence is expected, and explained by that.
      confidence: notDeployed ? 0.4 : 0.75,
      summary: notDeployed
        ? `${bin.dir}/flannel missing: Flannel is not deployed, so its install-cni-plugin init container never copied it`
        : `${bin.dir}/flannel missing: the Flannel pod's install-cni-plugin init container did not run or did not succeed (or the runtime's bin_dir is not ${bin.dir}); restarting the Flannel pod re-runs it`,
      evidence: [why.get('flannel')!],
      data: { ...data, flannelBinaryMissing: { [nf.node]: true } },
    });
  }
  return {
    status: 'fail',
    summary: `missing from ${bin.dir}: ${missing.join(', ')}`,
    evidence: [...evidence, `present: ${facts.present.join(', ') || '(none)'}`],
    findings,
    facts,
  };
}

export const check = nodeCheck({
  id: 'node-cni-plugins',
  title: 'CNI plugin binaries on the node',
  needs: { flannel: true },
  evaluateNode,
});
