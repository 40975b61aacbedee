import { resourceForKind } from '../resources.js';
import type { ObjectStore } from '../store.js';
import type { RbacState } from './rbac.js';

/** The RBAC objects of the store, for authorisation (the API server's and flanneld's own). */
export function rbacState(store: ObjectStore): RbacState {
  const list = (kind: string): never[] => store.listShared(resourceForKind(kind)) as never[];
  return {
    clusterRoles: list('ClusterRole'),
    clusterRoleBindings: list('ClusterRoleBinding'),
    roles: list('Role'),
    roleBindings: list('RoleBinding'),
  };
}
