/**
 * flannel-rbac: the Flannel DaemonSet's ServiceAccount exists and a ClusterRoleBinding gives it the
 * permissions flanneld needs (pods get; nodes list/watch; nodes/status patch — domain/flannel.md §3).
 */
import type { CheckDefinition } from '../types.js';
import { evaluation, type Evaluation } from './common.js';
import { gatherFlannelDaemonSets, readOrUndefined } from './flannel-objects.js';

export interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export interface FlannelRbacFacts {
  daemonSet?: { namespace: string; name: string; serviceAccount: string };
  serviceAccountExists: boolean;
  /** ClusterRoleBindings naming the ServiceAccount (or named flannel), sorted. */
  bindings: Array<{
    name: string;
    roleRef: { kind: string; name: string };
    subjects: Array<{ kind: string; name: string; namespace?: string }>;
  }>;
  /** The ClusterRoles those bindings refer to that exist, sorted. */
  clusterRoles: Array<{ name: string; rules: RbacRule[] }>;
}

/**
 * What flanneld's kube subnet manager cannot run without. The current manifest also grants `nodes get`,
 * but the ≤ v0.20 kube-system manifests and distributions such as Typhoon grant only list/watch, and
 * flanneld runs with that (it reads nodes through its informer), so a missing `get` is no fault.
 */
export const REQUIRED_PERMISSIONS: ReadonlyArray<{ resource: string; verb: string }> = [
  { resource: 'pods', verb: 'get' },
  { resource: 'nodes', verb: 'list' },
  { resource: 'nodes', verb: 'watch' },
  { resource: 'nodes/status', verb: 'patch' },
];

function allows(rule: RbacRule, resource: string, verb: string): boolean {
  const group = rule.apiGroups.includes('') || rule.apiGroups.includes('*');
  const [base] = resource.split('/');
  const res =
    rule.resources.includes(resource) ||
    rule.resources.includes('*') ||
    (resource.includes('/') && rule.resources.includes(`${base}/*`));
  return group && res && (rule.verbs.includes(verb) || rule.verbs.includes('*'));
}

export function missingPermissions(rules: readonly RbacRule[]): string[] {
  return REQUIRED_PERMISSIONS.filter((p) => !rules.some((r) => allows(r, p.resource, p.verb))).map(
    (p) => `${p.resource} ${p.verb}`,
  );
}

export function evaluateFlannelRbac(facts: FlannelRbacFacts): Evaluation {
  const ds = facts.daemonSet;
  if (!ds)
    return evaluation(
      'skipped',
      'No Flannel DaemonSet, so no ServiceAccount to check (see flannel-daemonset)',
    );
  const sa = `${ds.namespace}/${ds.serviceAccount}`;
  const fail = (summary: string, evidence: string[], missing: string[]) =>
    evaluation('fail', summary, evidence, [
      {
        cause: 'flannel-partially-deployed',
        confidence: 0.8,
        summary,
        nodes: [],
        evidence,
        data: { missing },
      },
    ]);
  if (!facts.serviceAccountExists) {
    return fail(
      `ServiceAccount ${sa} used by the Flannel DaemonSet is missing`,
      [
        `kubectl -n ${ds.namespace} get serviceaccount ${ds.serviceAccount}: NotFound`,
        `the DaemonSet controller cannot create pods for ${ds.namespace}/${ds.name} without it`,
      ],
      [`serviceaccount ${sa}`],
    );
  }
  const bound = facts.bindings.filter((b) =>
    b.subjects.some(
      (s) => s.kind === 'ServiceAccount' && s.name === ds.serviceAccount && s.namespace === ds.namespace,
    ),
  );
  if (bound.length === 0) {
    const named = facts.bindings.map((b) => b.name);
    return fail(
      `No ClusterRoleBinding grants ServiceAccount ${sa} Flannel's permissions`,
      [
        `kubectl get clusterrolebinding -o wide: none binds ServiceAccount ${sa}${named.length ? ` (${named.join(', ')} bind other subjects)` : ''}`,
      ],
      ['clusterrolebinding flannel'],
    );
  }
  const evidence: string[] = [];
  const rules: RbacRule[] = [];
  const missingRoles: string[] = [];
  for (const b of bound) {
    const role =
      b.roleRef.kind === 'ClusterRole'
        ? facts.clusterRoles.find((r) => r.name === b.roleRef.name)
        : undefined;
    if (!role) {
      missingRoles.push(b.roleRef.name);
      evidence.push(
        `kubectl get clusterrole ${b.roleRef.name}: NotFound (referenced by ClusterRoleBinding ${b.name})`,
      );
      continue;
    }
    rules.push(...role.rules);
    evidence.push(
      `kubectl get clusterrolebinding ${b.name}: binds ${b.roleRef.kind} ${b.roleRef.name} to ServiceAccount ${sa}`,
    );
  }
  const missing = missingPermissions(rules);
  if (missing.length > 0) {
    evidence.push(
      `kubectl auth can-i --as=system:serviceaccount:${ds.namespace}:${ds.serviceAccount}: missing ${missing.join(', ')}`,
    );
    return fail(
      `ServiceAccount ${sa} lacks ${missing.join(', ')}${missingRoles.length ? ` (ClusterRole ${missingRoles.join(', ')} missing)` : ''}`,
      evidence,
      [...missingRoles.map((r) => `clusterrole ${r}`), ...missing.map((m) => `permission ${m}`)],
    );
  }
  return evaluation(
    'ok',
    `ServiceAccount ${sa} has pods get, nodes list/watch and nodes/status patch`,
    evidence,
    [],
    {
      serviceAccount: sa,
      clusterRoleBindings: bound.map((b) => b.name),
      clusterRoles: bound.map((b) => b.roleRef.name),
    },
  );
}

export const check: CheckDefinition<FlannelRbacFacts> = {
  id: 'flannel-rbac',
  scope: 'api',
  title: 'Flannel RBAC',
  async gather(ctx) {
    const primary = (await gatherFlannelDaemonSets(ctx.kube))[0];
    if (!primary) return { serviceAccountExists: false, bindings: [], clusterRoles: [] };
    const serviceAccount = primary.serviceAccount ?? 'default';
    const [sa, bindingList, roleList] = await Promise.all([
      readOrUndefined(() =>
        ctx.kube.core.readNamespacedServiceAccount({ namespace: primary.namespace, name: serviceAccount }),
      ),
      ctx.kube.rbac.listClusterRoleBinding(),
      ctx.kube.rbac.listClusterRole(),
    ]);
    const bindings = bindingList.items
      .filter(
        (b) =>
          b.metadata?.name === 'flannel' ||
          (b.subjects ?? []).some(
            (s) =>
              s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === primary.namespace,
          ),
      )
      .map((b) => ({
        name: b.metadata?.name ?? '',
        roleRef: { kind: b.roleRef.kind, name: b.roleRef.name },
        subjects: (b.subjects ?? []).map((s) => ({
          kind: s.kind,
          name: s.name,
          ...(s.namespace ? { namespace: s.namespace } : {}),
        })),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const wanted = new Set(bindings.map((b) => b.roleRef.name));
    const clusterRoles = roleList.items
      .filter((r) => wanted.has(r.metadata?.name ?? ''))
      .map((r) => ({
        name: r.metadata?.name ?? '',
        rules: (r.rules ?? []).map((rule) => ({
          apiGroups: rule.apiGroups ?? [],
          resources: rule.resources ?? [],
          verbs: rule.verbs,
        })),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    return {
      daemonSet: { namespace: primary.namespace, name: primary.name, serviceAccount },
      serviceAccountExists: sa !== undefined,
      bindings,
      clusterRoles,
    };
  },
  evaluate: (facts) => evaluateFlannelRbac(facts),
};
