/** Token authentication and RBAC authorisation against the roles stored in the simulator (pure). */

export interface UserInfo {
  name: string;
  groups: string[];
  admin: boolean;
}

export interface AccessRequest {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface RoleObject {
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

interface BindingObject {
  metadata: { name: string; namespace?: string };
  roleRef: { kind: string; name: string };
  subjects?: Subject[];
}

export interface RbacState {
  clusterRoles: RoleObject[];
  clusterRoleBindings: BindingObject[];
  roles: RoleObject[];
  roleBindings: BindingObject[];
}

export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return {
    name: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    admin: false,
  };
}

function subjectMatches(s: Subject, user: UserInfo, bindingNamespace: string | undefined): boolean {
  if (s.kind === 'User') return s.name === user.name;
  if (s.kind === 'Group') return user.groups.includes(s.name);
  if (s.kind === 'ServiceAccount') {
    const ns = s.namespace ?? bindingNamespace;
    return user.name === `system:serviceaccount:${ns}:${s.name}`;
  }
  return false;
}

function ruleAllows(rule: PolicyRule, req: AccessRequest): boolean {
  const verbs = rule.verbs ?? [];
  if (!verbs.includes('*') && !verbs.includes(req.verb)) return false;
  const groups = rule.apiGroups ?? [];
  if (!groups.includes('*') && !groups.includes(req.group)) return false;
  const want = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  const resources = rule.resources ?? [];
  const resourceOk = resources.some(
    (r) =>
      r === '*' ||
      r === want ||
      (req.subresource !== undefined && r === `*/${req.subresource}`) ||
      (req.subresource !== undefined && r === `${req.resource}/*`),
  );
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  if (names.length > 0) return req.name !== undefined && names.includes(req.name);
  return true;
}

export function authorize(state: RbacState, user: UserInfo, req: AccessRequest): boolean {
  if (user.admin) return true;
  const rulesOf = (kind: string, name: string, namespace: string | undefined): PolicyRule[] => {
    if (kind === 'ClusterRole') return state.clusterRoles.find((r) => r.metadata.name === name)?.rules ?? [];
    return (
      state.roles.find((r) => r.metadata.name === name && r.metadata.namespace === namespace)?.rules ?? []
    );
  };
  for (const b of state.clusterRoleBindings) {
    if (!(b.subjects ?? []).some((s) => subjectMatches(s, user, undefined))) continue;
    if (rulesOf('ClusterRole', b.roleRef.name, undefined).some((r) => ruleAllows(r, req))) return true;
  }
  if (req.namespace === undefined) return false;
  for (const b of state.roleBindings) {
    if (b.metadata.namespace !== req.namespace) continue;
    if (!(b.subjects ?? []).some((s) => subjectMatches(s, user, b.metadata.namespace))) continue;
    if (rulesOf(b.roleRef.kind, b.roleRef.name, b.metadata.namespace).some((r) => ruleAllows(r, req)))
      return true;
  }
  return false;
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** One permission a role grants: a verb on a resource (or subresource), optionally one object by name. */
interface AtomicRule {
  group: string;
  resource: string;
  verb: string;
  name?: string;
}

function atomicRules(rules: PolicyRule[]): AtomicRule[] {
  const out: AtomicRule[] = [];
  for (const rule of rules) {
    const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
    for (const group of rule.apiGroups ?? [])
      for (const resource of rule.resources ?? [])
        for (const verb of rule.verbs ?? [])
          for (const name of names) out.push({ group, resource, verb, ...(name !== undefined && { name }) });
  }
  return out;
}

function held(state: RbacState, user: UserInfo, rule: AtomicRule, namespace: string | undefined): boolean {
  const [resource, subresource] = rule.resource.split('/', 2);
  return authorize(state, user, {
    verb: rule.verb,
    group: rule.group,
    resource,
    ...(subresource !== undefined && { subresource }),
    ...(namespace !== undefined && { namespace }),
    ...(rule.name !== undefined && { name: rule.name }),
  });
}

function describeRule(r: AtomicRule): string {
  const names = r.name === undefined ? '' : ` ResourceNames:[${JSON.stringify(r.name)}],`;
  return `{APIGroups:[${JSON.stringify(r.group)}], Resources:[${JSON.stringify(r.resource)}],${names} Verbs:[${JSON.stringify(r.verb)}]}`;
}

/**
 * RBAC escalation prevention (kube-apiserver's rbac registry): a user may create or update a Role or
 * ClusterRole only with permissions they hold themselves, unless they may `escalate` it; and a binding only
 * to a role whose permissions they hold, unless they may `bind` it. Answers the error (403, or 404 when a
 * binding's role does not exist and the user may not `bind` it, as the real registry looks the role up),
 * or undefined when the write is allowed. Rules with nonResourceURLs need `escalate`.
 */
export function escalationDenial(
  state: RbacState,
  user: UserInfo,
  obj: {
    kind: string;
    metadata: { name: string; namespace?: string };
    rules?: PolicyRule[];
    roleRef?: { kind: string; name: string };
  },
): { code: 403; message: string } | { code: 404; plural: string; name: string } | undefined {
  if (user.admin) return undefined;
  const namespace = obj.kind === 'Role' || obj.kind === 'RoleBinding' ? obj.metadata.namespace : undefined;
  let rules: PolicyRule[];
  let plural: string;
  if (obj.kind === 'ClusterRole' || obj.kind === 'Role') {
    plural = obj.kind === 'Role' ? 'roles' : 'clusterroles';
    const mayEscalate = authorize(state, user, {
      verb: 'escalate',
      group: RBAC_GROUP,
      resource: plural,
      name: obj.metadata.name,
      ...(namespace !== undefined && { namespace }),
    });
    if (mayEscalate) return undefined;
    rules = obj.rules ?? [];
  } else if (obj.kind === 'ClusterRoleBinding' || obj.kind === 'RoleBinding') {
    plural = obj.kind === 'RoleBinding' ? 'rolebindings' : 'clusterrolebindings';
    const ref = obj.roleRef;
    if (!ref) return undefined;
    const rolePlural = ref.kind === 'Role' ? 'roles' : 'clusterroles';
    const mayBind = authorize(state, user, {
      verb: 'bind',
      group: RBAC_GROUP,
      resource: rolePlural,
      name: ref.name,
      ...(ref.kind === 'Role' && namespace !== undefined && { namespace }),
    });
    if (mayBind) return undefined;
    const role =
      ref.kind === 'Role'
        ? state.roles.find((r) => r.metadata.name === ref.name && r.metadata.namespace === namespace)
        : state.clusterRoles.find((r) => r.metadata.name === ref.name);
    if (!role) return { code: 404, plural: rolePlural, name: ref.name };
    rules = role.rules ?? [];
  } else return undefined;
  const missing = atomicRules(rules).filter((r) => !held(state, user, r, namespace));
  const nonResource = rules.filter((r) => r.nonResourceURLs?.length);
  if (missing.length === 0 && nonResource.length === 0) return undefined;
  const groups = user.groups.map((g) => JSON.stringify(g)).join(' ');
  const lines = [
    ...missing.map(describeRule),
    ...nonResource.map(
      (r) => `{NonResourceURLs:${JSON.stringify(r.nonResourceURLs)}, Verbs:${JSON.stringify(r.verbs ?? [])}}`,
    ),
  ];
  return {
    code: 403,
    message: `${plural}.${RBAC_GROUP} "${obj.metadata.name}" is forbidden: user "${user.name}" (groups=[${groups}]) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`,
  };
}
