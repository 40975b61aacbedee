import type * as k8s from '@kubernetes/client-node';
import type { ClusterConfig } from '../config/clusters.js';
import { kubeConfigForCluster } from './kubeconfig.js';
import { UserError } from '../util/errors.js';
import { callLean, leanMethod, SharedReads, type LeanGroup } from './lean-api.js';

/** The Kubernetes clients checks and remediation actions use; one set per cluster. */
export interface KubeClients {
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  rbac: k8s.RbacAuthorizationV1Api;
  version: k8s.VersionApi;
  /** Generic objects (server-side apply, dry-run) for remediation actions. */
  objects: k8s.KubernetesObjectApi;
}

type KubeApi = typeof import('@kubernetes/client-node');
let kubeApi: Promise<KubeApi> | undefined;

/**
 * client-node's index: every typed API and model (tens of MB once loaded). Loaded on first use of a method
 * without a lean form (a remediation's patch, server-side apply), never at start-up: the watch path and the
 * diagnosis use plain requests (kube/lean-request.ts, kube/lean-api.ts) and the bot idles without it.
 */
export function loadKubeApi(): Promise<KubeApi> {
  return (kubeApi ??= import('@kubernetes/client-node'));
}

/**
 * An API client whose methods are plain requests where they have a lean form (kube/lean-api.ts: the diagnosis'
 * reads, the probe pods' create/read/log/delete) and otherwise the typed client, made on its first call. Every
 * method of client-node's API classes returns a promise, so a call can wait for the module: `await
 * kube.core.listNode()` works the same, and only the first typed call pays for loading it.
 */
function hybridClient<T extends object>(
  kc: k8s.KubeConfig,
  group: LeanGroup | 'objects',
  make: (api: KubeApi) => T,
  shared: SharedReads | undefined,
): T {
  let client: Promise<T> | undefined;
  return new Proxy({} as T, {
    get(_target, prop) {
      // Not a thenable, not inspectable as a method table: only method calls are forwarded.
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      const lean = leanMethod(group, prop);
      return (...args: unknown[]) => {
        // A second argument is client-node's per-call configuration (headers, middleware): typed only.
        if (lean && args.length <= 1)
          return callLean(kc, lean, args[0] as Record<string, unknown> | undefined, shared);
        return (client ??= loadKubeApi().then(make)).then((c) =>
          (c as unknown as Record<string, (...a: unknown[]) => unknown>)[prop](...args),
        );
      };
    },
  });
}

export interface KubeClientsOptions {
  /**
   * Identical list requests share one answer (kube/lean-api.ts SharedReads): for the diagnosis, whose checks run
   * at once and list the same pods and nodes. Not for remediation steps, which read what they just changed.
   */
  shareReads?: boolean;
}

/** `clients(cluster)` for the diagnosis service and its workers: one KubeConfig (and client set) per cluster, built once. */
export function kubeClientsFactory(
  clusters: readonly ClusterConfig[],
  options: KubeClientsOptions = {},
): (cluster: string) => KubeClients {
  const cache = new Map<string, KubeClients>();
  return (name) => {
    const cached = cache.get(name);
    if (cached) return cached;
    const cluster = clusters.find((c) => c.name === name);
    if (!cluster)
      throw new UserError(
        `unknown cluster "${name}" (configured: ${clusters.map((c) => c.name).join(', ')})`,
      );
    const clients = kubeClients(kubeConfigForCluster(cluster), options);
    cache.set(name, clients);
    return clients;
  };
}

/** The API clients the checks use, all on one KubeConfig (one per cluster: never switch its context). */
export function kubeClients(kc: k8s.KubeConfig, options: KubeClientsOptions = {}): KubeClients {
  const shared = options.shareReads ? new SharedReads() : undefined;
  return {
    core: hybridClient(kc, 'core', (api) => kc.makeApiClient(api.CoreV1Api), shared),
    apps: hybridClient(kc, 'apps', (api) => kc.makeApiClient(api.AppsV1Api), shared),
    rbac: hybridClient(kc, 'rbac', (api) => kc.makeApiClient(api.RbacAuthorizationV1Api), shared),
    version: hybridClient(kc, 'version', (api) => kc.makeApiClient(api.VersionApi), shared),
    objects: hybridClient(kc, 'objects', (api) => api.KubernetesObjectApi.makeApiClient(kc), shared),
  };
}
