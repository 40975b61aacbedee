import * as k8s from '@kubernetes/client-node';
import type { ClusterConfig } from '../config/clusters.js';
import { kubeConfigForCluster } from './kubeconfig.js';
import { UserError } from '../util/errors.js';

/** The Kubernetes clients checks and remediation actions use; one set per cluster. */
export interface KubeClients {
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  rbac: k8s.RbacAuthorizationV1Api;
  version: k8s.VersionApi;
  /** Generic objects (server-side apply, dry-run) for remediation actions. */
  objects: k8s.KubernetesObjectApi;
}

/** `clients(cluster)` for the diagnosis service and its workers: one KubeConfig (and client set) per cluster, built once. */
export function kubeClientsFactory(clusters: readonly ClusterConfig[]): (cluster: string) => KubeClients {
  const cache = new Map<string, KubeClients>();
  return (name) => {
    const cached = cache.get(name);
    if (cached) return cached;
    const cluster = clusters.find((c) => c.name === name);
    if (!cluster)
      throw new UserError(
        `unknown cluster "${name}" (configured: ${clusters.map((c) => c.name).join(', ')})`,
      );
    const clients = kubeClients(kubeConfigForCluster(cluster));
    cache.set(name, clients);
    return clients;
  };
}

/** The API clients the checks use, all on one KubeConfig (one per cluster: never switch its context). */
export function kubeClients(kc: k8s.KubeConfig): KubeClients {
  return {
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api),
    version: kc.makeApiClient(k8s.VersionApi),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
  };
}
