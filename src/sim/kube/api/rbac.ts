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
