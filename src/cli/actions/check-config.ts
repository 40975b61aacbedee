import { loadClustersFile, type ClusterConfig, type ClustersConfig } from '../../config/clusters.js';
import { loadEnv, redactRedisUrl, redisUrlProblem, type Env, type EnvRequirement } from '../../config/env.js';
import { DEFAULT_REDIS_URL } from '../../coordination/redis-connection.js';
import { probeRedis } from '../../coordination/redis-startup.js';
import { kubeClients } from '../../kube/clients.js';
import { describeCheckFailure } from '../../diagnosis/run-check.js';
import { formatProblem, isConfigError, type Problem } from '../../config/issues.js';
import { inspectKubeconfig, kubeConfigForCluster } from '../../kube/kubeconfig.js';
import { loadRunbooks } from '../../runbooks/load.js';
import { isUserError } from '../../util/errors.js';
import { resolveClustersPath, resolveRunbooksDir } from '../options.js';

export interface CheckConfigOptions {
  clusters?: string;
  runbooks?: string;
  /** false with --no-slack: Slack credentials are not required (their format is still checked). */
  slack?: boolean;
  /** --offline: do not contact the clusters' API servers (Redis is still tried). */
  offline?: boolean;
}

export interface CheckConfigReport {
  /** One line per error, each naming file, field and reason. */
  errors: string[];
  /** What was found, for a valid (or partly valid) configuration. */
  summary: string[];
}

/**
 * Validates everything `run` will read, collecting every error instead of stopping at the first; then tries
 * what it can reach: Redis always, each cluster's API server unless `offline`.
 */
export async function checkConfig(
  opts: CheckConfigOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CheckConfigReport> {
  const errors: string[] = [];
  const summary: string[] = [];
  const collect = (err: unknown) => {
    if (isConfigError(err)) errors.push(...err.problems.map(formatProblem));
    else if (isUserError(err)) errors.push(err.message);
    else throw err;
  };

  const requirements: EnvRequirement[] = opts.slack === false ? [] : ['slack'];
  let loaded: Env | undefined;
  try {
    loaded = loadEnv(env, { require: requirements });
    summary.push(envSummary(loaded));
  } catch (err) {
    collect(err);
  }
  const redisUrl = loaded?.redisUrl ?? (redisUrlProblem(env.REDIS_URL ?? '') ? undefined : env.REDIS_URL);
  const redisCheck = redisSummary(redisUrl ?? DEFAULT_REDIS_URL);

  const clustersPath = resolveClustersPath(opts, env);
  let config: ClustersConfig | undefined;
  try {
    config = loadClustersFile(clustersPath);
  } catch (err) {
    collect(err);
  }
  if (config) {
    summary.push(`clusters file ${config.file}: ${plural(config.clusters.length, 'cluster')}`);
    const reachable = config.clusters.map((cluster) =>
      opts.offline ? Promise.resolve(undefined) : apiServerCheck(cluster),
    );
    for (const [i, cluster] of config.clusters.entries()) {
      const { problems, line } = clusterSummary(cluster);
      errors.push(...problems.map(formatProblem));
      summary.push(line);
      const api = problems.length === 0 ? await reachable[i] : undefined;
      if (api?.ok) summary.push(`    API server answers: Kubernetes ${api.version}`);
      if (api && !api.ok) errors.push(`cluster ${cluster.name}: API server not reachable: ${api.reason}`);
    }
  }

  const runbooksDir = resolveRunbooksDir(opts, env);
  try {
    summary.push(`runbooks ${runbooksDir}: ${runbooksSummary(runbooksDir)}`);
  } catch (err) {
    collect(err);
  }
  const redis = await redisCheck;
  if (redis.ok) summary.push(redis.line);
  else errors.push(redis.line);
  return { errors, summary };
}

async function redisSummary(url: string): Promise<{ ok: boolean; line: string }> {
  const probe = await probeRedis(url);
  const where = `Redis ${redactRedisUrl(url)}`;
  if (probe.ok) return { ok: true, line: `${where}: answers (Redis ${probe.version}, db ${probe.db})` };
  const kind = probe.permanent ? 'refused' : 'not reachable';
  return { ok: false, line: `REDIS_URL: ${where} ${kind}: ${probe.reason}` };
}

const API_TIMEOUT_MS = 5000;

/** GET /version on the cluster's API server, bounded in time. */
async function apiServerCheck(
  cluster: ClusterConfig,
): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const { version } = kubeClients(kubeConfigForCluster(cluster));
    const answer = await Promise.race([
      version.getCode(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${API_TIMEOUT_MS / 1000} s`)),
          API_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, version: answer.gitVersion };
  } catch (err) {
    if (isConfigError(err)) return { ok: false, reason: err.problems.map((p) => p.message).join('; ') };
    return { ok: false, reason: describeCheckFailure(err).reason };
  } finally {
    clearTimeout(timer);
  }
}

function envSummary(env: Env): string {
  const slack = env.slackBotToken
    ? `Slack ${env.slackMode} mode${env.slackApiUrl ? ` via ${env.slackApiUrl}` : ''}`
    : 'Slack not configured';
  return (
    `environment: ${slack}, Redis ${redactRedisUrl(env.redisUrl)} (db ${env.redisDb}, key prefix ${env.keyPrefix}), ` +
    `HTTP port ${env.httpPort}, log level ${env.logLevel}`
  );
}

function clusterSummary(cluster: ClusterConfig): { problems: Problem[]; line: string } {
  const { problems, target } = inspectKubeconfig(cluster);
  let connection = 'kubeconfig unusable (see errors)';
  if (target?.kind === 'kubeconfig')
    connection = `context ${target.context} in ${target.file} (${target.server})`;
  if (target?.kind === 'in-cluster') {
    connection = target.available ? 'in-cluster' : `in-cluster (not available from here: ${target.reason})`;
  }
  const { users, groups } = cluster.approvals.approvers;
  const approvers =
    users.length + groups.length === 0
      ? 'no approvers: remediation plans cannot be approved'
      : `approvers ${[...users, ...groups.map((g) => `@${g}`)].join(', ')}`;
  const required = cluster.approvals.required;
  const schedules = [
    cluster.schedule ? `diagnosis "${cluster.schedule}"` : 'no scheduled diagnosis',
    cluster.backups.schedule === 'off'
      ? 'scheduled backups off'
      : `backups "${cluster.backups.schedule}" (keep ${cluster.backups.keep})`,
  ];
  const line =
    `  ${cluster.name}: channel ${cluster.channel}, ${connection}; ${approvers} ` +
    `(approvals needed: low ${required.low}, medium ${required.medium}, high ${required.high})\n` +
    `    schedules (UTC): ${schedules.join(', ')}`;
  return { problems, line };
}

function runbooksSummary(dir: string): string {
  const runbooks = loadRunbooks(dir);
  return `${plural(runbooks.length, 'runbook')} loaded (${runbooks.map((r) => r.id).join(', ')})`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `flannel-ops check-config`: prints every error and returns exit code 1, or a summary and 0. */
export async function runCheckConfig(opts: CheckConfigOptions): Promise<number> {
  const report = await checkConfig(opts);
  if (report.errors.length > 0) {
    for (const line of report.errors) process.stderr.write(`${line}\n`);
    process.stdout.write(`configuration invalid: ${plural(report.errors.length, 'error')}\n`);
    return 1;
  }
  process.stdout.write(`configuration OK\n${report.summary.join('\n')}\n`);
  return 0;
}
