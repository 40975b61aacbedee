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

/**
 * What a Multus config makes the cluster (primary) network, as Multus resolves it
 * (k8snetworkplumbingwg/multus-cni pkg/k8sclient getNetDelegate, docs/configuration.md):
 * `clusterNetwork` wins over `delegates`; it is a path (a file, or a directory whose first config is used) or
 * a name (a NetworkAttachmentDefinition in multusNamespace, else the `name` of a config in confDir);
 * without it, `delegates[0]` is the primary (the thin entrypoint embeds the first other config there; the
 * thick daemon writes `clusterNetwork: /host/etc/cni/net.d/<file>`, the host dir seen from its pod).
 */
export type MultusPrimary =
  | { kind: 'flannel' | 'other'; via: string; target: string; types: string[] }
  | { kind: 'missing'; via: string; target: string }
  | { kind: 'unknown'; via: string; reason: string };

function isMultus(c: CniConfigFile): boolean {
  return c.plugins.some((p) => p.type === 'multus' || p.type === 'multus-shim');
}

function pluginTypesOf(value: unknown): string[] {
  if (!isRecord(value)) return [];
  if (Array.isArray(value.plugins))
    return value.plugins
      .map((p) => (isRecord(p) && typeof p.type === 'string' ? p.type : ''))
      .filter(Boolean);
  return typeof value.type === 'string' ? [value.type] : [];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function resolveMultusPrimary(
  multus: CniConfigFile,
  configs: readonly CniConfigFile[],
  dir: string,
): MultusPrimary {
  let json: unknown;
  try {
    json = JSON.parse(multus.content ?? '');
  } catch {
    return { kind: 'unknown', via: multus.file, reason: 'its JSON does not parse' };
  }
  const top = isRecord(json) ? json : {};
  const conf = Array.isArray(top.plugins)
    ? ((top.plugins.find((p) => isRecord(p) && (p.type === 'multus' || p.type === 'multus-shim')) as
        Record<string, unknown> | undefined) ?? top)
    : top;
  const others = configs.filter((c) => c.file !== multus.file && !isMultus(c));
  const described = (c: CniConfigFile, via: string): MultusPrimary => {
    const types = c.plugins.map((p) => p.type);
    if (!c.loadable)
      return { kind: 'other', via, target: `${c.file} (not loadable: ${c.problem ?? 'invalid'})`, types };
    return {
      kind: types.includes('flannel') ? 'flannel' : 'other',
      via,
      target: `${c.file} (name ${c.name})`,
      types,
    };
  };
  const cluster = typeof conf.clusterNetwork === 'string' ? conf.clusterNetwork.trim() : '';
  if (cluster !== '') {
    const via = `clusterNetwork "${cluster}"`;
    if (cluster.includes('/')) {
      const trimmed = cluster.replace(/\/+$/, '');
      const base = trimmed.slice(trimmed.lastIndexOf('/') + 1);
      const parent = trimmed.slice(0, trimmed.lastIndexOf('/'));
      // The thick daemon sees the host's /etc/cni/net.d at /host/etc/cni/net.d.
      const inDir = (p: string) => p === dir || p.endsWith(dir);
      if (/\.(conf|conflist|json)$/.test(base) && inDir(parent)) {
        const file = configs.find((c) => c.file === base);
        return file ? described(file, via) : { kind: 'missing', via, target: `${dir}/${base}` };
      }
      if (inDir(trimmed)) {
        const first = others.find((c) => c.loadable);
        return first ? described(first, via) : { kind: 'missing', via, target: `a config in ${dir}` };
      }
      return { kind: 'unknown', via, reason: `the probe does not read ${cluster}` };
    }
    const named = others.find((c) => c.loadable && c.name === cluster);
    if (named) return described(named, via);
    const ns = typeof conf.multusNamespace === 'string' ? conf.multusNamespace : 'kube-system';
    const confDir = typeof conf.confDir === 'string' ? conf.confDir : '/etc/cni/multus/net.d';
    return {
      kind: 'unknown',
      via,
      reason: `no config in ${dir} is named "${cluster}": it is a NetworkAttachmentDefinition (kubectl -n ${ns} get network-attachment-definitions ${cluster} -o yaml) or a config in ${confDir}`,
    };
  }
  const delegates = Array.isArray(conf.delegates) ? conf.delegates : [];
  if (delegates.length > 0) {
    const primary = delegates[0];
    const types = pluginTypesOf(primary);
    const name = isRecord(primary) && typeof primary.name === 'string' ? primary.name : '(no name)';
    return {
      kind: types.includes('flannel') ? 'flannel' : 'other',
      via: 'delegates[0]',
      target: `the embedded config "${name}" (${types.join(', ') || 'no plugin type'})`,
      types,
    };
  }
  return {
    kind: 'unknown',
    via: multus.file,
    reason: 'it has neither clusterNetwork nor delegates (Multus refuses it)',
  };
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
  // Canal (RKE2's default, Calico policy over Flannel networking) installs its own conflist; with no Flannel
  // DaemonSet beside it, Canal's flanneld is the cluster's Flannel.
  if (/canal/i.test(effective.file) && all.flannelDeployed === false) {
    return {
      status: 'ok',
      summary: `the runtime loads ${effective.file} (Canal: Calico policy over Canal's own flanneld)`,
      evidence: [listing(report), `effective: ${describeConfig(effective)}`],
      facts,
    };
  }
  let multusLine: string | undefined;
  let viaMultus: string | undefined;
  if (isMultus(effective)) {
    const primary = resolveMultusPrimary(effective, report.cniConfigs, dir);
    const cat = `cat ${dir}/${effective.file}`;
    if (primary.kind === 'flannel') {
      return {
        status: 'ok',
        summary: `${effective.file} (Multus) sorts first and makes Flannel the cluster network (${primary.via})`,
        evidence: [
          listing(report),
          `${cat}: ${primary.via} -> ${primary.target}: Flannel's conflist is the primary network`,
        ],
        facts: { ...facts, multusPrimary: primary.target },
      };
    }
    if (primary.kind === 'unknown') {
      return {
        status: 'warn',
        summary: `${effective.file} (Multus) sorts first; which network it makes primary cannot be read here (${primary.via})`,
        evidence: [listing(report), `${cat}: ${primary.via}: ${primary.reason}`],
        facts,
      };
    }
    if (primary.kind === 'missing') {
      multusLine = `${cat}: ${primary.via} names ${primary.target}, which does not exist: Multus fails every pod sandbox ("failed to get clusterNetwork/defaultNetworks")`;
      if (/flannel/i.test(primary.target) && !flannel) {
        const evidence = [listing(report), multusLine];
        return {
          status: 'fail',
          summary: `Multus delegates to ${primary.target}, which Flannel's install-cni init container has not written`,
          evidence,
          findings: [
            {
              cause: all.flannelDeployed === false ? 'flannel-not-deployed' : 'flannel-pod-failing',
              confidence: 0.6,
              summary: `Multus delegates to ${primary.target}, which is missing: the Flannel pod on the node did not install its conflist`,
              evidence,
            },
          ],
          facts,
        };
      }
    } else {
      multusLine = `${cat}: ${primary.via} -> ${primary.target}: Multus makes ${primary.types.join('/') || 'another plugin'} the cluster network, not Flannel`;
    }
    viaMultus = primary.kind === 'other' ? primary.target : undefined;
  }

  // Another CNI's config wins (10-calico.conflist, 10-containerd-net.conflist, 00-multus.conf without flannel...).
  const order = report.cniConfigs.map((c) => c.file);
  const evidence = [
    listing(report),
    multusLine ?? `the runtime loads ${describeConfig(effective)}, not Flannel's config`,
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
      summary: viaMultus
        ? `${effective.file} (Multus) sorts first in ${dir} and delegates the cluster network to ${viaMultus}, not to ${flannel?.file ?? "Flannel's conflist"}`
        : multusLine
          ? `${effective.file} (Multus) sorts first in ${dir} and points its cluster network at a config that does not exist`
          : `${effective.file} sorts before ${flannel?.file ?? "Flannel's conflist"} in ${dir}, so pods get ${effective.plugins.map((p) => p.type).join('/')} networking`,
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
