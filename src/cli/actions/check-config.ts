import { loadClustersFile, type ClusterConfig, type ClustersConfig } from '../../config/clusters.js';
import { loadEnv, redactRedisUrl, type Env, type EnvRequirement } from '../../config/env.js';
import { formatProblem, isConfigError, type Problem } from '../../config/issues.js';
import { inspectKubeconfig } from '../../kube/kubeconfig.js';
import { loadRunbooks } from '../../runbooks/load.js';
import { isUserError } from '../../util/errors.js';
import { resolveClustersPath, resolveRunbooksDir } from '../options.js';

export interface CheckConfigOptions {
  clusters?: string;
  runbooks?: string;
  /** false with --no-slack: Slack credentials are not required (their format is still checked). */
  slack?: boolean;
}

export interface CheckConfigReport {
  /** One line per error, each naming file, field and reason. */
  errors: string[];
  /** What was found, for a valid (or partly valid) configuration. */
  summary: string[];
}

/** Validates everything `run` will read, collecting every error instead of stopping at the first. */
export function checkConfig(
  opts: CheckConfigOptions,
  env: NodeJS.ProcessEnv = process.env,
): CheckConfigReport {
  const errors: string[] = [];
  const summary: string[] = [];
  const collect = (err: unknown) => {
    if (isConfigError(err)) errors.push(...err.problems.map(formatProblem));
    else if (isUserError(err)) errors.push(err.message);
    else throw err;
  };

  const requirements: EnvRequirement[] = opts.slack === false ? [] : ['slack'];
  try {
    summary.push(envSummary(loadEnv(env, { require: requirements })));
  } catch (err) {
    collect(err);
  }

  const clustersPath = resolveClustersPath(opts, env);
  let config: ClustersConfig | undefined;
  try {
    config = loadClustersFile(clustersPath);
  } catch (err) {
    collect(err);
  }
  if (config) {
    summary.push(`clusters file ${config.file}: ${plural(config.clusters.length, 'cluster')}`);
    for (const cluster of config.clusters) {
      const { problems, line } = clusterSummary(cluster);
      errors.push(...problems.map(formatProblem));
      summary.push(line);
    }
  }

  const runbooksDir = resolveRunbooksDir(opts, env);
  try {
    summary.push(`runbooks ${runbooksDir}: ${runbooksSummary(runbooksDir)}`);
  } catch (err) {
    collect(err);
  }
  return { errors, summary };
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
  const line =
    `  ${cluster.name}: channel ${cluster.channel}, ${connection}; ${approvers} ` +
    `(approvals needed: low ${required.low}, medium ${required.medium}, high ${required.high})`;
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
export function runCheckConfig(opts: CheckConfigOptions): number {
  const report = checkConfig(opts);
  if (report.errors.length > 0) {
    for (const line of report.errors) process.stderr.write(`${line}\n`);
    process.stdout.write(`configuration invalid: ${plural(report.errors.length, 'error')}\n`);
    return 1;
  }
  process.stdout.write(`configuration OK\n${report.summary.join('\n')}\n`);
  return 0;
}
