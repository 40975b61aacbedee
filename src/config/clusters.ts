import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
// Before cron-parser: see cron-locale.ts.
import './cron-locale.js';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { ConfigError, zodIssuesToProblems } from './issues.js';
import { readYamlFile, validateYaml } from './yaml-file.js';

/** Risk levels of remediation steps; approvals are counted per level. */
export const RISK_LEVELS = ['low', 'medium', 'high'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

// A cluster name appears in commands (`/flannel diagnose prod`), Redis keys and job ids: keep it a DNS label.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const CHANNEL_ID = /^[CG][A-Z0-9]{2,}$/;
const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const USERGROUP_ID = /^S[A-Z0-9]{2,}$/;
const USERGROUP_HANDLE = /^@?[a-z0-9][a-z0-9._-]*$/;

const clusterName = z
  .string()
  .regex(DNS_LABEL, 'must be a lowercase DNS label (a-z, 0-9, "-", at most 63 characters, e.g. "prod")');

const namespaceName = z
  .string()
  .regex(DNS_LABEL, 'must be a namespace name (lowercase a-z, 0-9, "-", at most 63 characters)');

const channelId = z.string().superRefine((value, ctx) => {
  if (CHANNEL_ID.test(value)) return;
  const hint = value.startsWith('#')
    ? ' (this is a channel name; use the channel id: in Slack, channel details, bottom of the About tab)'
    : '';
  ctx.addIssue({
    code: 'custom',
    message: `must be a Slack channel id like C0123PROD, got "${value}"${hint}`,
  });
});

const userId = z.string().superRefine((value, ctx) => {
  if (!USER_ID.test(value)) {
    ctx.addIssue({ code: 'custom', message: `must be a Slack user id like U0123ABCD, got "${value}"` });
  }
});

const userGroup = z
  .string()
  .superRefine((value, ctx) => {
    if (!USERGROUP_ID.test(value) && !USERGROUP_HANDLE.test(value)) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a Slack user group handle like "oncall" or a user group id like S0123ABCD, got "${value}"`,
      });
    }
  })
  .transform((value) => value.replace(/^@/, ''));

const approvalCount = (fallback: number) => z.number().int().min(1).max(10).default(fallback);

const approvalsSchema = z
  .strictObject({
    /** Who may approve. Empty (the default) means nobody: plans are shown but cannot be approved. */
    approvers: z
      .strictObject({
        users: z.array(userId).default([]),
        groups: z.array(userGroup).default([]),
      })
      .prefault({}),
    /** Distinct approvals a step of each risk level needs before it runs. */
    required: z
      .strictObject({ low: approvalCount(1), medium: approvalCount(1), high: approvalCount(2) })
      .prefault({}),
    requesterMayApproveHighRisk: z.boolean().default(false),
    /** A plan (and its buttons) expires after this long; a new diagnosis makes a new plan. */
    planTtlMinutes: z.number().int().min(1).max(1440).default(30),
  })
  .prefault({})
  .superRefine((approvals, ctx) => {
    // With a fixed list of users (no groups, whose size we cannot know offline) a count above the
    // list's length could never be met: say so now rather than at 3 a.m.
    const { users, groups } = approvals.approvers;
    if (users.length === 0 || groups.length > 0) return;
    for (const level of RISK_LEVELS) {
      if (approvals.required[level] > users.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['required', level],
          message: `${approvals.required[level]} approvals required but only ${users.length} approver(s) listed in approvals.approvers.users`,
        });
      }
    }
  });

const remediationSchema = z
  .strictObject({
    /** Upper bound of pods one "delete stuck pods" step may delete. */
    maxPodDeletes: z.number().int().min(0).max(10000).default(20),
    /** Node probe pods run at the same time during one diagnosis. */
    probeConcurrency: z.number().int().min(1).max(200).default(10),
  })
  .prefault({});

/** Slack people to notify: user ids, user groups (handle or S.. id), and optionally @here. */
const notifyFields = z.strictObject({
  users: z.array(userId).default([]),
  groups: z.array(userGroup).default([]),
  here: z.boolean().default(false),
});
const notifySchema = notifyFields.prefault({});

const pagingSchema = z
  .strictObject({
    /** Whom a new (or re-opened) incident mentions in its root message. */
    notify: notifySchema,
    /**
     * Nobody pressed Acknowledge: after each entry's time (from the incident's opening) page again — its own
     * `notify`, else the people above. Default: once after 15 minutes.
     */
    escalation: z
      .array(
        z.strictObject({
          afterMinutes: z
            .number()
            .min(0.05)
            .max(24 * 60),
          // Absent means "the same people again" (no default filled in here, unlike paging.notify).
          notify: notifyFields.optional(),
        }),
      )
      .max(10)
      .default([{ afterMinutes: 15 }]),
  })
  .prefault({})
  .superRefine((paging, ctx) => {
    const times = (paging.escalation ?? []).map((e) => e.afterMinutes);
    times.forEach((t, i) => {
      if (i > 0 && t <= times[i - 1]) {
        ctx.addIssue({
          code: 'custom',
          path: ['escalation', i, 'afterMinutes'],
          message: `must be later than the entry before it (${times[i - 1]} minutes)`,
        });
      }
    });
  });

const limitsSchema = z
  .strictObject({
    /** Diagnoses and re-runs one person may start per minute (slash command and buttons). */
    diagnosesPerUserPerMinute: z.number().int().min(1).max(1000).default(3),
    /** Diagnoses and re-runs of this cluster per minute, whoever starts them. */
    diagnosesPerClusterPerMinute: z.number().int().min(1).max(1000).default(6),
  })
  .prefault({});

const verificationSchema = z
  .strictObject({
    /** After the checks pass, how long no new sandbox failure may appear before the incident resolves. */
    quietPeriodSeconds: z.number().min(0).max(3600).default(60),
  })
  .prefault({});

/** Runs scheduled more often than this would load the cluster (probe pods) and Redis for little gain. */
const MIN_SCHEDULE_MINUTES = 5;

/**
 * A cron expression (5 fields: minute hour day-of-month month day-of-week, or 6 with seconds first; aliases like
 * `@daily`), evaluated in UTC, whose runs are at least MIN_SCHEDULE_MINUTES apart.
 */
const cronSchedule = z
  .string()
  .trim()
  .min(1)
  .superRefine((value, ctx) => {
    let times: number[];
    try {
      const it = CronExpressionParser.parse(value, { tz: 'UTC' });
      times = Array.from({ length: 12 }, () => it.next().getTime());
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a cron expression like "*/30 * * * *" (minute hour day-of-month month day-of-week, UTC), got "${value}": ${(err as Error).message}`,
      });
      return;
    }
    const gap = Math.min(...times.slice(1).map((t, i) => t - times[i]));
    if (gap < MIN_SCHEDULE_MINUTES * 60_000) {
      ctx.addIssue({
        code: 'custom',
        message: `"${value}" runs every ${Math.round(gap / 1000)} s; runs must be at least ${MIN_SCHEDULE_MINUTES} minutes apart`,
      });
    }
  });

const backupsSchema = z
  .strictObject({
    /** When to back up kube-flannel-cfg and the Flannel DaemonSet (cron, UTC), or `off`. Before every change regardless. */
    schedule: z.union([z.literal('off'), cronSchedule]).default('0 3 * * *'),
    /** Backups kept per cluster (the oldest go first). */
    keep: z.number().int().min(1).max(1000).default(20),
  })
  .prefault({});

const clusterSchema = z
  .strictObject({
    name: clusterName,
    kubeconfig: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    channel: channelId,
    /** Where `/flannel diagnose` reports go: the cluster's channel, or a direct message to whoever asked. */
    reports: z.enum(['channel', 'dm']).default('channel'),
    ignoreNamespaces: z.array(namespaceName).default([]),
    approvals: approvalsSchema,
    paging: pagingSchema,
    limits: limitsSchema,
    remediation: remediationSchema,
    verification: verificationSchema,
    /** A scheduled diagnosis (cron, UTC) that posts to the channel only when something is wrong. Default: none. */
    schedule: cronSchedule.optional(),
    backups: backupsSchema,
  })
  .superRefine(
    (cluster, ctx) => {
      // A context alone would silently fall back to in-cluster credentials; make the intent explicit.
      if (typeof cluster?.context === 'string' && cluster.kubeconfig === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['context'],
          message:
            'context is set but kubeconfig is not: give the kubeconfig file too (omit both for in-cluster)',
        });
      }
    },
    { when: () => true },
  );

/** The schema of clusters.yaml as written by the user (paths not yet resolved). */
export const clustersFileSchema = z
  .strictObject({
    clusters: z.array(clusterSchema).min(1),
  })
  // Runs even when entries have other errors, so one pass reports duplicates too.
  .superRefine(
    (file, ctx) => {
      const clusters: unknown[] = Array.isArray(file?.clusters) ? file.clusters : [];
      const firstIndex = new Map<string, number>();
      clusters.forEach((cluster, index) => {
        const name = (cluster as { name?: unknown } | null)?.name;
        if (typeof name !== 'string') return;
        const first = firstIndex.get(name);
        if (first === undefined) firstIndex.set(name, index);
        else {
          ctx.addIssue({
            code: 'custom',
            path: ['clusters', index, 'name'],
            message: `duplicate cluster name "${name}" (also clusters[${first}].name)`,
          });
        }
      });
    },
    { when: () => true },
  );

type ClusterEntry = z.output<typeof clusterSchema>;
export type ApprovalPolicy = ClusterEntry['approvals'];
export type RemediationLimits = ClusterEntry['remediation'];
export type PagingPolicy = ClusterEntry['paging'];
export type NotifyTargets = PagingPolicy['notify'];
export type BackupPolicy = ClusterEntry['backups'];

export interface ClusterConfig extends Omit<ClusterEntry, 'kubeconfig'> {
  /** Absolute path of the kubeconfig file; undefined means in-cluster (service account). */
  kubeconfig?: string;
  /** Context to use; undefined means the kubeconfig's current-context. */
  context?: string;
  /** Where the entry was written, so later messages can say `clusters.yaml: clusters[1].context`. */
  source?: { file: string; index: number };
}

export interface ClustersConfig {
  /** Absolute path of the clusters file the config came from. */
  file: string;
  clusters: ClusterConfig[];
}

/**
 * Loads and validates a clusters file. Throws a ConfigError listing every problem (missing file,
 * YAML syntax with line/column, unknown keys, bad values, duplicate names).
 */
export function loadClustersFile(path: string): ClustersConfig {
  const file = resolve(path);
  const parsed = readYamlFile(
    file,
    'clusters file',
    'write one (README.md, "clusters.yaml"), or point --clusters or FLANNEL_OPS_CLUSTERS at it',
  );
  return resolveClusters(validateYaml(parsed, clustersFileSchema), file);
}

/**
 * Validates clusters given as data (the demo and tests build them in code); relative kubeconfig
 * paths are taken from `file`'s directory, as if the data had been read from `file`.
 */
export function parseClustersConfig(value: unknown, file = resolve('clusters.yaml')): ClustersConfig {
  const result = clustersFileSchema.safeParse(value);
  if (!result.success)
    throw new ConfigError(zodIssuesToProblems(file, result.error, { schema: clustersFileSchema }));
  return resolveClusters(result.data, resolve(file));
}

function resolveClusters(raw: z.output<typeof clustersFileSchema>, file: string): ClustersConfig {
  return {
    file,
    clusters: raw.clusters.map((cluster, index) => ({
      ...cluster,
      kubeconfig:
        cluster.kubeconfig === undefined ? undefined : resolveUserPath(cluster.kubeconfig, dirname(file)),
      source: { file, index },
    })),
  };
}

/** `~` and `~/x` expand to the home directory; relative paths are taken from `baseDir`. */
export function resolveUserPath(path: string, baseDir: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** The named cluster, or a UserError listing the known names. */
export function findCluster(config: ClustersConfig, name: string): ClusterConfig {
  const cluster = config.clusters.find((c) => c.name === name);
  if (cluster) return cluster;
  const known = config.clusters.map((c) => c.name).join(', ');
  throw new UserError(`unknown cluster "${name}" (${config.file} defines: ${known})`);
}
