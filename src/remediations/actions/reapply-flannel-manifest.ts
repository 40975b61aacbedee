/**
 * reapply-flannel-manifest (high risk): server-side applies kube-flannel.yml — the running version pinned, or,
 * when none runs, the newest release that suits the cluster's Kubernetes version (the seed's "get the YAML
 * that matches the Kubernetes version"). It keeps the existing net-conf.json (a wrong Network breaks every
 * node), else takes the Network from the nodes' podCIDRs; re-applies a legacy kube-system install in place
 * under its own names (never a second DaemonSet in kube-flannel beside it); previews with a server-side
 * dry-run diff; backs the ConfigMap and DaemonSet up before changing them (the seed's prevention advice).
 */
import {
  gatherFlannelConfigMap,
  gatherFlannelDaemonSets,
  gatherLeftovers,
  leftoverList,
} from '../../checks/api/flannel-objects.js';
import {
  findRelease,
  closestRelease,
  suitableRelease,
  imageTag,
  type FlannelRelease,
} from '../../flannel/releases.js';
import type { KubeClients } from '../../kube/clients.js';
import {
  describeManifest,
  networkForPodCidrs,
  renderFlannelManifest,
  UPSTREAM_NAMES,
  UPSTREAM_NETWORK,
  type KubeObject,
} from '../flannel-manifest.js';
import type { ActionContext, RemediationAction } from '../types.js';
import { FIELD_MANAGER, isNotFound, readObject, serverSideApply } from './common.js';

export { FIELD_MANAGER } from './common.js';

/** What will be applied (JSON, kept with the plan: the execution renders exactly this). */
export interface ManifestDecision {
  version: string;
  namespace: string;
  names: { daemonSet: string; configMap: string };
  netConf?: string;
  network?: string;
  cniConf?: string;
  selector?: Record<string, string>;
  mode: 'reapply' | 'reinstall' | 'install';
  kubernetesVersion: string;
}

export interface ManifestFacts {
  kubernetesVersion: string;
  daemonSet?: { namespace: string; name: string; image?: string; selector?: Record<string, string> };
  configMap?: { namespace: string; name: string; data: Record<string, string> };
  /** Flannel objects left behind (namespace, ConfigMap, ServiceAccount, RBAC), as `kind ns/name` lines. */
  leftovers: string[];
  /** Namespaces where such leftovers are. */
  leftoverNamespaces: string[];
  podCIDRs: string[];
  embedded?: string;
}

/** Pure: which release, where, with which configuration — or why not. */
export function decideManifest(
  f: ManifestFacts,
): { decision: ManifestDecision; notes: string[] } | { blocker: string } {
  if (f.embedded) {
    return {
      blocker: `Flannel is embedded in ${f.embedded} (no DaemonSet to apply): restart the ${f.embedded} agent instead`,
    };
  }
  const notes: string[] = [];
  let release: FlannelRelease | undefined;
  let mode: ManifestDecision['mode'];
  if (f.daemonSet) {
    const version = f.daemonSet.image ? imageTag(f.daemonSet.image) : undefined;
    release = findRelease(version) ?? closestRelease(version);
    if (!release)
      return {
        blocker: `the running image ${f.daemonSet.image ?? '(none)'} is no Flannel release flannel-ops knows: re-apply it by hand`,
      };
    mode = 'reapply';
  } else {
    release = suitableRelease(f.kubernetesVersion);
    if (!release) return { blocker: `no known Flannel release supports Kubernetes ${f.kubernetesVersion}` };
    mode = f.leftovers.length ? 'reinstall' : 'install';
  }
  const legacy =
    !f.daemonSet &&
    f.leftoverNamespaces.includes('kube-system') &&
    !f.leftoverNamespaces.includes('kube-flannel');
  const namespace =
    f.daemonSet?.namespace ?? f.configMap?.namespace ?? (legacy ? 'kube-system' : release.namespace);
  if (legacy)
    notes.push(
      'Flannel was installed the legacy way in kube-system: re-installed there, no second DaemonSet in kube-flannel',
    );
  const netConf = validJson(f.configMap?.data['net-conf.json']);
  const cniConf = validJson(f.configMap?.data['cni-conf.json']);
  let network: string | undefined;
  if (netConf) {
    notes.push(`keeps the existing net-conf.json of ${f.configMap!.namespace}/${f.configMap!.name}`);
  } else {
    network = networkForPodCidrs(f.podCIDRs);
    notes.push(
      network
        ? `net-conf.json ${f.configMap ? 'is not valid JSON' : 'does not exist'}: Network ${network} is taken from the nodes' podCIDRs`
        : `net-conf.json ${f.configMap ? 'is not valid JSON' : 'does not exist'} and no node has a podCIDR: Network ${UPSTREAM_NETWORK} (upstream default)`,
    );
    network ??= UPSTREAM_NETWORK;
  }
  return {
    decision: {
      version: release.version,
      namespace,
      names: {
        daemonSet: f.daemonSet?.name ?? UPSTREAM_NAMES.daemonSet,
        configMap: f.configMap?.name ?? UPSTREAM_NAMES.configMap,
      },
      ...(netConf ? { netConf } : { network }),
      ...(cniConf && { cniConf }),
      ...(f.daemonSet?.selector && { selector: f.daemonSet.selector }),
      mode,
      kubernetesVersion: f.kubernetesVersion,
    },
    notes,
  };
}

export function headlineOf(d: ManifestDecision): string {
  switch (d.mode) {
    case 'reapply':
      return `Re-apply Flannel ${d.version} (the running version)`;
    case 'reinstall':
      return `Re-install Flannel ${d.version} (suits Kubernetes ${d.kubernetesVersion}; objects of an earlier install remain)`;
    case 'install':
      return `Install Flannel ${d.version} (suits Kubernetes ${d.kubernetesVersion})`;
  }
}

export function manifestObjects(d: ManifestDecision): KubeObject[] {
  return renderFlannelManifest({
    release: d.version,
    namespace: d.namespace,
    names: { daemonSet: d.names.daemonSet, configMap: d.names.configMap },
    ...(d.netConf ? { netConf: d.netConf } : { network: d.network }),
    ...(d.cniConf && { cniConf: d.cniConf }),
    ...(d.selector && { selector: d.selector }),
  });
}

function validJson(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? text : undefined;
  } catch {
    return undefined;
  }
}

async function gatherFacts(kube: KubeClients): Promise<ManifestFacts> {
  const [version, daemonSets, leftovers, nodes] = await Promise.all([
    kube.version.getCode(),
    gatherFlannelDaemonSets(kube),
    gatherLeftovers(kube),
    kube.core.listNode(),
  ]);
  const primary = daemonSets[0];
  const configMap = await gatherFlannelConfigMap(kube, primary);
  let selector: Record<string, string> | undefined;
  if (primary) {
    const ds = await kube.apps.readNamespacedDaemonSet({ namespace: primary.namespace, name: primary.name });
    selector = ds.spec?.selector?.matchLabels;
  }
  const annotated = nodes.items.some((n) =>
    Object.keys(n.metadata?.annotations ?? {}).some((k) => k.startsWith('flannel.alpha.coreos.com/')),
  );
  const kubelet = nodes.items.map((n) => n.status?.nodeInfo?.kubeletVersion ?? '').join(' ');
  const embedded =
    !primary && annotated && leftoverList(leftovers).length === 0
      ? /\+rke2/.test(kubelet)
        ? 'RKE2'
        : /\+k3s/.test(kubelet)
          ? 'k3s'
          : undefined
      : undefined;
  const namespaces = new Set<string>([
    ...leftovers.namespaces,
    ...[...leftovers.configMaps, ...leftovers.serviceAccounts].map((r) => r.split('/')[0]),
  ]);
  const image = primary?.images.find(
    (i) => /flannel(:|@|$)/.test(i.split('/').pop() ?? '') && !/cni-plugin/.test(i),
  );
  return {
    kubernetesVersion: version.gitVersion,
    ...(primary && {
      daemonSet: {
        namespace: primary.namespace,
        name: primary.name,
        ...(image && { image }),
        ...(selector && { selector }),
      },
    }),
    ...(configMap && { configMap }),
    leftovers: leftoverList(leftovers),
    leftoverNamespaces: [...namespaces],
    podCIDRs: nodes.items.flatMap((n) => n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : [])),
    ...(embedded && { embedded }),
  };
}

/** Fields the API server owns: left out when comparing what is with what would be. */
function comparable(obj: Record<string, unknown> | undefined): unknown {
  if (!obj) return undefined;
  const { status: _s, metadata, ...rest } = obj as { status?: unknown; metadata?: Record<string, unknown> };
  const {
    resourceVersion: _r,
    uid: _u,
    creationTimestamp: _c,
    generation: _g,
    managedFields: _m,
    selfLink: _l,
    ...meta
  } = metadata ?? {};
  return { ...rest, metadata: meta };
}

/** Paths whose values differ (at most `max`), e.g. `data.net-conf.json`, `spec.template.spec.containers`. */
export function changedPaths(before: unknown, after: unknown, max = 4, path = ''): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const isObj = (v: unknown) => v && typeof v === 'object' && !Array.isArray(v);
  if (!isObj(before) || !isObj(after) || path.split('.').length > 4) return [path || '(whole object)'];
  const out: string[] = [];
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    for (const p of changedPaths(a[key], b[key], max, path ? `${path}.${key}` : key)) {
      if (out.length < max) out.push(p);
    }
  }
  return out;
}

export const reapplyFlannelManifest: RemediationAction = {
  id: 'reapply-flannel-manifest',
  scope: 'cluster',
  verifyTimeoutMs: 240_000,
  async preview(ctx) {
    const decided = decideManifest(await gatherFacts(ctx.kube));
    if ('blocker' in decided)
      return { headline: 'Re-apply the Flannel manifest', lines: [], blockers: [decided.blocker] };
    const { decision, notes } = decided;
    const objects = manifestObjects(decision);
    const described = describeManifest(objects);
    const lines: string[] = [];
    const creatingNamespace =
      objects.some((o) => o.kind === 'Namespace') &&
      !(await readObject(
        ctx.kube,
        objects.find((o) => o.kind === 'Namespace')!,
      ));
    for (const [i, obj] of objects.entries()) {
      const current = await readObject(ctx.kube, obj);
      // A server-side dry run of an object in a namespace the same apply creates answers 404, as on a real
      // API server: those are created, nothing to diff.
      if (!current && creatingNamespace && obj.metadata.namespace === decision.namespace) {
        lines.push(`create ${described[i]}`);
        continue;
      }
      const after = await serverSideApply(ctx.kube, obj, true);
      const changes = current ? changedPaths(comparable(current), comparable(after)) : [];
      lines.push(
        !current
          ? `create ${described[i]}`
          : changes.length
            ? `change ${described[i]}: ${changes.join(', ')}`
            : `unchanged ${described[i]}`,
      );
    }
    lines.push(
      ...notes,
      `backs up ConfigMap ${decision.namespace}/${decision.names.configMap} and the Flannel DaemonSet first (flannel-ops backup list)`,
    );
    return {
      headline: headlineOf(decision),
      lines,
      commands: [
        `kubectl apply --server-side --force-conflicts --field-manager=${FIELD_MANAGER} -f kube-flannel-${decision.version}.yml   # ${objects.length} objects, diffed above with --dry-run=server`,
      ],
      via: 'api',
      data: { manifest: decision },
    };
  },
  async execute(ctx, preview) {
    const decision = preview.data?.manifest as ManifestDecision | undefined;
    if (!decision) return { outcome: 'failed', lines: ['the plan holds no manifest decision'] };
    const objects = manifestObjects(decision);
    const backup = await backupFlannel(ctx, decision);
    const lines = [
      backup
        ? `backup ${backup} taken (ConfigMap and DaemonSet as they were)`
        : 'nothing to back up (no ConfigMap or DaemonSet existed)',
    ];
    for (const obj of objects) {
      await serverSideApply(ctx.kube, obj, false);
      lines.push(
        `applied ${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`,
      );
    }
    return { outcome: 'done', lines };
  },
  async verify(ctx, preview) {
    const decision = preview.data?.manifest as ManifestDecision | undefined;
    if (!decision) return { ok: false, lines: ['no manifest decision'] };
    const daemonSets = (await gatherFlannelDaemonSets(ctx.kube)).filter(
      (d) => d.namespace === decision.namespace,
    );
    if (daemonSets.length === 0)
      return { ok: false, lines: [`no Flannel DaemonSet in ${decision.namespace} yet`] };
    const lines = daemonSets.map(
      (d) => `DaemonSet ${d.namespace}/${d.name}: ${d.ready}/${d.desired} ready, ${d.updated} up to date`,
    );
    const ok = daemonSets.every((d) => d.desired > 0 && d.ready === d.desired && d.updated === d.desired);
    return { ok, lines };
  },
};

async function backupFlannel(ctx: ActionContext, d: ManifestDecision): Promise<string | undefined> {
  const objects: object[] = [];
  try {
    objects.push(
      await ctx.kube.core.readNamespacedConfigMap({ namespace: d.namespace, name: d.names.configMap }),
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  for (const ds of await gatherFlannelDaemonSets(ctx.kube)) {
    objects.push(await ctx.kube.apps.readNamespacedDaemonSet({ namespace: ds.namespace, name: ds.name }));
  }
  if (objects.length === 0) return undefined;
  return ctx.backups.save(ctx.cluster, `before applying Flannel ${d.version} (${ctx.runId})`, objects);
}
