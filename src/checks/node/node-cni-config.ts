/**
 * /etc/cni/net.d on each node: the runtime loads the first loadable config in byte order
 * (domain/flannel.md §5.5), so Flannel's conflist must be present, valid and first (or delegated to
 * by a Multus config that sorts before it).
 */
import type { CniConfigFile, ProbeReport } from '../probe/schema.js';
import { nodeCheck, type NodeCheckFacts, type NodeOutcome, type ProbedNode } from './common.js';

function runsFlannel(c: CniConfigFile): boolean {
  return c.plugins.some((p) => p.type === 'flannel');
}

/** A file meant to be Flannel's even if it no longer parses (its name or text says flannel). */
function looksLikeFlannel(c: CniConfigFile): boolean {
  return runsFlannel(c) || /flannel/i.test(c.file) || /"type"\s*:\s*"flannel"/.test(c.content ?? '');
}

/** Multus wraps the cluster network: it is fine first when it delegates to Flannel's network. */
function multusDelegatesToFlannel(c: CniConfigFile, flannel: CniConfigFile | undefined): boolean {
  if (!c.plugins.some((p) => p.type === 'multus')) return false;
  let json: unknown;
  try {
    json = JSON.parse(c.content ?? '');
  } catch {
    return false;
  }
  const targets = new Set([
    'flannel',
    'cbr0',
    ...(flannel?.name ? [flannel.name] : []),
    ...(flannel ? [flannel.file] : []),
  ]);
  const text = JSON.stringify(json);
  const obj = json as Record<string, unknown>;
  const plugins = Array.isArray(obj.plugins) ? (obj.plugins as Array<Record<string, unknown>>) : [obj];
  for (const p of plugins) {
    const cluster = p.clusterNetwork;
    if (typeof cluster === 'string' && [...targets].some((t) => cluster === t || cluster.endsWith(`/${t}`)))
      return true;
    if (Array.isArray(p.delegates) && /"type"\s*:\s*"flannel"/.test(JSON.stringify(p.delegates))) return true;
  }
  return /"delegates"[\s\S]*"type"\s*:\s*"flannel"/.test(text);
}

function describeConfig(c: CniConfigFile): string {
  if (!c.loadable) return `${c.file} (not loadable: ${c.problem ?? 'invalid'})`;
  return `${c.file} (name ${c.name}, plugins ${c.plugins.map((p) => p.type).join(', ')})`;
}

function listing(report: ProbeReport): string {
  return `ls ${report.cniConf.dir} (runtime order): ${report.cniConfigs.map((c) => c.file).join(', ')}`;
}

export function evaluateNode(
  nf: ProbedNode,
  _params: Record<string, unknown>,
  all: NodeCheckFacts,
): NodeOutcome {
  const report = nf.probe.report;
  const dir = report.cniConf.dir;
  if (report.cniConf.exists && report.cniConfigs.length === 0 && report.errors.some((e) => e.includes(dir))) {
    return {
      status: 'error',
      summary: `cannot read ${dir}`,
      evidence: report.errors.filter((e) => e.includes(dir)),
    };
  }
  const effective = report.effectiveConfig;
  const flannel = report.cniConfigs.find((c) => c.loadable && runsFlannel(c));
  const brokenFlannel = report.cniConfigs.find((c) => !c.loadable && looksLikeFlannel(c));
  const facts = {
    files: report.cniConfigs.map((c) => c.file),
    effective: effective?.file ?? null,
    ipamNetwork: flannel?.name ?? null,
  };

  if (report.cniConfigs.length === 0 || !effective) {
    if (brokenFlannel) {
      return corruptFlannel(brokenFlannel, report, facts);
    }
    const what =
      report.cniConfigs.length === 0 ? `no CNI config in ${dir}` : `no loadable CNI config in ${dir}`;
    const evidence = [
      report.cniConfigs.length === 0 ? `ls ${dir}: no .conf/.conflist/.json file` : listing(report),
      'the runtime reports "cni config uninitialized" / "cni plugin not initialized" until one appears',
    ];
    if (all.flannelDeployed === false) {
      return {
        status: 'fail',
        summary: `${what}: Flannel is not deployed, so nothing installed 10-flannel.conflist`,
        evidence,
        findings: [
          {
            cause: 'flannel-not-deployed',
            confidence: 0.6,
            summary: `${what} (Flannel's install-cni init container never ran)`,
            evidence,
          },
        ],
        facts,
      };
    }
    return {
      status: 'fail',
      summary: `${what}: the Flannel pod's install-cni init container has not written 10-flannel.conflist`,
      evidence,
      findings: [
        {
          cause: 'flannel-pod-failing',
          confidence: 0.6,
          summary: `${what}: the Flannel pod on the node did not install its conflist (check kubectl -n kube-flannel get pods -o wide and the install-cni init container)`,
          evidence,
        },
      ],
      facts,
    };
  }

  if (runsFlannel(effective)) {
    const extra = brokenFlannel ? [`${describeConfig(brokenFlannel)} ignored`] : [];
    return {
      status: extra.length ? 'warn' : 'ok',
      summary: `the runtime loads ${effective.file} (name ${effective.name})`,
      evidence: [listing(report), `effective: ${describeConfig(effective)}`, ...extra],
      facts,
    };
  }
  if (multusDelegatesToFlannel(effective, flannel)) {
    return {
      status: 'ok',
      summary: `${effective.file} (Multus) sorts first and delegates to Flannel`,
      evidence: [listing(report), `effective: ${describeConfig(effective)}`],
      facts,
    };
  }

  // Another CNI's config wins (10-calico.conflist, 10-containerd-net.conflist, 00-multus.conf without flannel...).
  const order = report.cniConfigs.map((c) => c.file);
  const evidence = [
    listing(report),
    `the runtime loads ${describeConfig(effective)}, not Flannel's config`,
    flannel
      ? `Flannel's ${flannel.file} sorts after it and is ignored`
      : brokenFlannel
        ? `Flannel's ${describeConfig(brokenFlannel)}`
        : `no Flannel conflist in ${dir}`,
  ];
  const conflict = { files: order, effective: effective.file, ...(flannel ? { flannel: flannel.file } : {}) };
  const findings: NodeOutcome['findings'] = [];
  if (flannel || brokenFlannel || all.flannelDeployed !== false) {
    findings.push({
      cause: 'cni-config-conflict',
      confidence: flannel ? 0.9 : 0.7,
      summary: `${effective.file} sorts before ${flannel?.file ?? "Flannel's conflist"} in ${dir}, so pods get ${effective.plugins.map((p) => p.type).join('/')} networking`,
      evidence,
      data: { conflicts: { [nf.node]: conflict } },
    });
  } else {
    findings.push(
      {
        cause: 'flannel-not-deployed',
        confidence: 0.5,
        summary: `no Flannel conflist in ${dir}; only ${effective.file}`,
        evidence,
      },
      {
        cause: 'cni-config-conflict',
        confidence: 0.4,
        summary: `${effective.file} is the only CNI config; it would still win over Flannel's once installed`,
        evidence,
        data: { conflicts: { [nf.node]: conflict } },
      },
    );
  }
  if (brokenFlannel && !flannel) {
    findings.push(...(corruptFlannel(brokenFlannel, report, facts).findings ?? []));
  }
  return {
    status: 'fail',
    summary: `${effective.file} overrides Flannel's config`,
    evidence,
    findings,
    facts,
  };
}

function corruptFlannel(c: CniConfigFile, report: ProbeReport, facts: Record<string, unknown>): NodeOutcome {
  const evidence = [listing(report), `cat ${report.cniConf.dir}/${c.file}: ${c.problem ?? 'not loadable'}`];
  return {
    status: 'fail',
    summary: `Flannel's ${c.file} is not loadable (${c.problem ?? 'invalid'})`,
    evidence,
    findings: [
      {
        cause: 'flannel-config-corrupt',
        confidence: 0.75,
        summary: `${c.file} on the node is corrupt (${c.problem ?? 'invalid'}); the runtime cannot load it`,
        evidence,
      },
    ],
    facts,
  };
}

export const check = nodeCheck({
  id: 'node-cni-config',
  title: 'CNI config on the node',
  needs: { flannel: true },
  evaluateNode,
});
