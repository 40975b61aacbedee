import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
// config.js, not the index: the index loads every typed API and model (see kube/clients.ts and docs/benchmarks.md).
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { z } from 'zod';
import type { ClusterConfig } from '../config/clusters.js';
import { ConfigError, formatFieldPath, zodIssuesToProblems, type Problem } from '../config/issues.js';
import { describeReadError, parseYamlText } from '../config/yaml-file.js';

// Kubernetes mounts the service account here in every pod (unless automount is disabled).
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Only what flannel-ops relies on; kubeconfigs carry many more keys (extensions, exec, auth
 * providers), which stay allowed.
 */
const kubeconfigSchema = z.looseObject({
  clusters: z
    .array(z.looseObject({ name: z.string().min(1), cluster: z.looseObject({ server: z.string().min(1) }) }))
    .default([]),
  users: z.array(z.looseObject({ name: z.string().min(1), user: z.looseObject({}).nullish() })).default([]),
  contexts: z
    .array(
      z.looseObject({
        name: z.string().min(1),
        context: z.looseObject({ cluster: z.string().min(1), user: z.string().min(1).optional() }),
      }),
    )
    .default([]),
  'current-context': z.string().nullish(),
});

/** Summary of the connection a cluster entry resolves to, for `check-config` and logs. */
export type KubeTarget =
  | { kind: 'kubeconfig'; file: string; context: string; server: string }
  | { kind: 'in-cluster'; available: boolean; reason?: string };

/** Where a cluster entry's own fields are, for messages about them. */
function entryField(cluster: ClusterConfig, field: string): { file: string; field: string } {
  return {
    file: cluster.source?.file ?? 'clusters file',
    field: cluster.source
      ? `clusters[${cluster.source.index}].${field}`
      : `cluster "${cluster.name}" ${field}`,
  };
}

/**
 * Checks a cluster entry's connection without contacting the cluster: the kubeconfig exists,
 * parses, has the context, the context's cluster and user, and the files they reference.
 * Returns the problems (empty when usable) and, when usable, the target.
 */
export function inspectKubeconfig(cluster: ClusterConfig): { problems: Problem[]; target?: KubeTarget } {
  if (cluster.kubeconfig === undefined) return { problems: [], target: inClusterTarget() };
  const file = cluster.kubeconfig;

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return {
      problems: [
        { ...entryField(cluster, 'kubeconfig'), message: `${describeReadError(err, 'kubeconfig')}: ${file}` },
      ],
    };
  }

  let raw: unknown;
  try {
    raw = parseYamlText(file, text).value;
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.problems };
    throw err;
  }
  const result = kubeconfigSchema.safeParse(raw ?? {});
  if (!result.success) return { problems: zodIssuesToProblems(file, result.error) };
  const config = result.data;

  const contextNames = config.contexts.map((c) => c.name);
  const available = contextNames.length > 0 ? `it has: ${contextNames.join(', ')}` : 'it defines no contexts';
  const contextName = cluster.context ?? config['current-context'] ?? undefined;
  if (!contextName) {
    return {
      problems: [
        {
          ...entryField(cluster, 'context'),
          message: `required: ${file} sets no current-context, so name the context to use (${available})`,
        },
      ],
    };
  }
  const contextIndex = config.contexts.findIndex((c) => c.name === contextName);
  if (contextIndex < 0) {
    const where =
      cluster.context !== undefined ? entryField(cluster, 'context') : { file, field: 'current-context' };
    return { problems: [{ ...where, message: `no context "${contextName}" in ${file} (${available})` }] };
  }

  const problems: Problem[] = [];
  const context = config.contexts[contextIndex].context;
  const kubeCluster = config.clusters.find((c) => c.name === context.cluster);
  if (!kubeCluster) {
    problems.push({
      file,
      field: formatFieldPath(['contexts', contextIndex, 'context', 'cluster']),
      message: `context "${contextName}" refers to cluster "${context.cluster}", which is not in clusters`,
    });
  }
  const userIndex = context.user === undefined ? -1 : config.users.findIndex((u) => u.name === context.user);
  if (context.user !== undefined && userIndex < 0) {
    problems.push({
      file,
      field: formatFieldPath(['contexts', contextIndex, 'context', 'user']),
      message: `context "${contextName}" refers to user "${context.user}", which is not in users`,
    });
  }

  // Certificates and token files are read lazily by the client, at the first request: check now.
  const base = dirname(file);
  const clusterIndex = kubeCluster ? config.clusters.indexOf(kubeCluster) : -1;
  const referenced: Array<[PropertyKey[], unknown]> = [];
  if (kubeCluster) {
    referenced.push([
      ['clusters', clusterIndex, 'cluster', 'certificate-authority'],
      kubeCluster.cluster['certificate-authority'],
    ]);
  }
  const user = userIndex >= 0 ? config.users[userIndex].user : undefined;
  if (user) {
    for (const key of ['client-certificate', 'client-key', 'tokenFile']) {
      referenced.push([['users', userIndex, 'user', key], user[key]]);
    }
  }
  for (const [path, value] of referenced) {
    if (typeof value !== 'string' || value === '') continue;
    const target = isAbsolute(value) ? value : resolve(base, value);
    if (!existsSync(target))
      problems.push({ file, field: formatFieldPath(path), message: `file not found: ${target}` });
  }
  if (problems.length > 0) return { problems };

  // Last word to the client library itself, which has its own expectations of the file.
  try {
    new KubeConfig().loadFromFile(file);
  } catch (err) {
    return {
      problems: [
        { file, field: '(file)', message: `the Kubernetes client cannot load it: ${(err as Error).message}` },
      ],
    };
  }
  return {
    problems: [],
    target: { kind: 'kubeconfig', file, context: contextName, server: kubeCluster?.cluster.server ?? '' },
  };
}

function inClusterTarget(): KubeTarget {
  const reason = inClusterUnavailableReason();
  return reason ? { kind: 'in-cluster', available: false, reason } : { kind: 'in-cluster', available: true };
}

/** Why in-cluster credentials cannot be used from this process, or undefined when they can. */
export function inClusterUnavailableReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) {
    return 'KUBERNETES_SERVICE_HOST/PORT are not set (not running in a pod?)';
  }
  if (!existsSync(`${SERVICE_ACCOUNT_DIR}/token`)) {
    return `no service account token at ${SERVICE_ACCOUNT_DIR}/token (automountServiceAccountToken disabled?)`;
  }
  return undefined;
}

/**
 * A KubeConfig for one cluster entry: its own instance, with the cluster's context selected.
 * Never switch the context of an instance that clients were made from (they would send one
 * context's credentials to another's server); call this once per cluster and keep the result.
 * Throws a ConfigError (exit code 2: "could not diagnose") naming the file and field when the
 * kubeconfig or context is missing, or when in-cluster credentials are not available.
 */
export function kubeConfigForCluster(cluster: ClusterConfig): KubeConfig {
  const { problems, target } = inspectKubeconfig(cluster);
  if (problems.length > 0 || !target) throw new ConfigError(problems, 2);
  const kc = new KubeConfig();
  if (target.kind === 'in-cluster') {
    if (!target.available) {
      throw new ConfigError(
        [
          {
            ...entryField(cluster, 'kubeconfig'),
            message: `cluster "${cluster.name}" is configured in-cluster but ${target.reason}; set kubeconfig (and context) for it`,
          },
        ],
        2,
      );
    }
    kc.loadFromCluster();
    return kc;
  }
  kc.loadFromFile(target.file);
  kc.setCurrentContext(target.context);
  return kc;
}
