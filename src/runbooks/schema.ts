/**
 * The runbook file format (runbooks/README.md): a trigger, the checks to run, remediation steps and
 * verification checks. Ids of checks, actions and causes are validated against the built-in catalogs,
 * so a typo fails at start-up instead of silently never running.
 */
import { z } from 'zod';
import { CAUSE_ID_LIST, isCauseId, type CauseId } from '../checks/causes.js';
import { CHECK_ID_LIST, isCheckId, type CheckId } from '../checks/catalog.js';
import { SANDBOX_REASONS } from '../detect/classify.js';
import { ERROR_CLASSES } from '../detect/signature.js';
import {
  ACTION_IDS,
  ACTION_ID_LIST,
  isActionId,
  RISKS,
  riskRank,
  type ActionId,
} from '../remediations/catalog.js';

/** Lower-case words joined by dashes: ids appear in Slack button values, Redis keys and `--json` output. */
const ID_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_PATTERN_CHARS = 500;

const idString = z.string().regex(ID_PATTERN, {
  error: 'must be lower-case letters and digits joined by dashes (e.g. "flannel-cni")',
});

function catalogId<T extends string>(what: string, isKnown: (v: string) => v is T, known: readonly string[]) {
  return z.string().refine(isKnown, {
    error: (issue) => `unknown ${what} id "${String(issue.input)}" (known: ${known.join(', ')})`,
  }) as unknown as z.ZodType<T, string>;
}

const checkId = catalogId<CheckId>('check', isCheckId, CHECK_ID_LIST);
const actionId = catalogId<ActionId>('action', isActionId, ACTION_ID_LIST);
const causeId = catalogId<CauseId>('cause', isCauseId, CAUSE_ID_LIST);

/** A regex source, compiled here so a bad one is reported with its field; matched case-insensitively. */
const regexSource = z
  .string()
  .min(1)
  .max(MAX_PATTERN_CHARS)
  .superRefine((source, ctx) => {
    try {
      new RegExp(source, 'i');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(err as Error).message}` });
    }
  });

const params = z.record(z.string(), z.unknown());

export const checkRefSchema = z.strictObject({
  id: checkId,
  params: params.optional(),
});

export const triggerSchema = z.strictObject({
  /** Event reasons; detection produces signals for these two only. */
  reasons: z.array(z.enum(SANDBOX_REASONS)).min(1),
  /** Matches when the message's error class is listed (or a message pattern matches). */
  errorClasses: z.array(z.enum(ERROR_CLASSES)).min(1).optional(),
  /** Matches when any of these regexes (case-insensitive) matches the message (or the class is listed). */
  messagePatterns: z.array(regexSource).min(1).optional(),
  /** Only when the message names a CNI plugin type: it must be one of these. */
  pluginTypes: z.array(z.string().min(1)).min(1).optional(),
  /**
   * The CNI this runbook is for. On a cluster that runs it (the watcher looks: a Flannel DaemonSet or nodes
   * with flanneld's annotations), a sandbox failure from any CNI plugin matches — a leftover config of another
   * CNI overriding it is its failure — and `pluginTypes` does not apply; until the watcher knows, or where it
   * does not run, the other trigger fields decide.
   */
  cni: z.enum(['flannel']).optional(),
  involvedKinds: z.array(z.string().min(1)).min(1).default(['Pod']),
  /** After an incident resolves, matching signals within this window reopen it instead of opening a new one. */
  cooldownMinutes: z
    .number()
    .min(0)
    .max(7 * 24 * 60)
    .default(30),
});

export const remediationStepSchema = z
  .strictObject({
    id: idString,
    action: actionId,
    risk: z.enum(RISKS),
    title: z.string().min(1),
    /** The verdict's causes that make this step applicable (any of them). */
    when: z.strictObject({ causes: z.array(causeId).min(1) }),
    params: params.optional(),
    /** Approvals needed, overriding the cluster policy's default for the step's risk. */
    approvals: z.number().int().min(1).max(10).optional(),
  })
  .superRefine((step, ctx) => {
    // zod runs this even when fields failed; only compare what validated.
    if (typeof step.action !== 'string' || !isActionId(step.action) || !RISKS.includes(step.risk)) return;
    const minRisk = ACTION_IDS[step.action].minRisk;
    if (riskRank(step.risk) < riskRank(minRisk)) {
      ctx.addIssue({
        code: 'custom',
        path: ['risk'],
        message: `action "${step.action}" is at least ${minRisk} risk; "${step.risk}" would skip the approvals it needs`,
      });
    }
  });

export const runbookSchema = z
  .strictObject({
    id: idString,
    title: z.string().min(1),
    description: z.string().default(''),
    trigger: triggerSchema,
    checks: z.array(checkRefSchema).min(1),
    remediation: z.array(remediationStepSchema).default([]),
    verification: z.array(checkRefSchema).default([]),
  })
  .superRefine((runbook, ctx) => {
    if (!Array.isArray(runbook.remediation)) return;
    const seen = new Set<string>();
    runbook.remediation.forEach((step, index) => {
      if (typeof step?.id !== 'string') return;
      if (seen.has(step.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['remediation', index, 'id'],
          message: `duplicate step id "${step.id}" (step ids must be unique within a runbook)`,
        });
      }
      seen.add(step.id);
    });
  });

export type RunbookSpec = z.output<typeof runbookSchema>;
export type RunbookTrigger = z.output<typeof triggerSchema>;
export type RemediationStep = z.output<typeof remediationStepSchema>;
export type CheckRef = z.output<typeof checkRefSchema>;

/** A validated runbook plus where it came from and its compiled message patterns. */
export interface Runbook extends RunbookSpec {
  file: string;
  messageRegexes: RegExp[];
}
