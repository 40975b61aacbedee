/**
 * Plans in Redis: one hash per plan version, `{p}:incident:{id}:plan:{version}`:
 *   doc                 the IncidentPlan (JSON, written once)
 *   s:<stepId>          the step's state (JSON StepState), changed only by the Lua scripts (lifecycle/lua/plan-*.lua)
 *   e:<stepId>:<node>   the execution record of one node ('*' for cluster actions): HSETNX'd before the
 *                       action runs, so a step killed mid-way is resumed or reported, never run twice
 * The incident's `x:planVersion` says which version is current: decisions on any other are refused.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { defineLuaCommands } from '../coordination/lua-scripts.js';
import { IncidentKeys } from '../incidents/keys.js';
import type { IncidentPlan, NodeOutcome, PlanView, StepState, StepStatus } from './types.js';

const PLAN_TTL_SECONDS = 30 * 86_400;

interface PlanScripts {
  flannelOpsPlanDecide(...args: (string | number)[]): Promise<[string, string]>;
  flannelOpsPlanStep(...args: (string | number)[]): Promise<[string, string]>;
  flannelOpsPlanNode(...args: (string | number)[]): Promise<string | null>;
}

// Lua's cjson writes an empty table as {} — read lists and maps back leniently.
const listOf = <T extends z.ZodTypeAny>(item: T) =>
  z.preprocess((v) => (Array.isArray(v) ? v : []), z.array(item));
const recordOf = <T extends z.ZodTypeAny>(item: T) =>
  z.preprocess((v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {}), z.record(z.string(), item));

const nodeOutcomeSchema = z.object({
  state: z.enum(['running', 'done', 'noop', 'failed', 'skipped', 'interrupted']),
  lines: listOf(z.string()),
});
const stepStateSchema = z.object({
  state: z.enum(['awaiting', 'approved', 'running', 'done', 'failed', 'rejected', 'skipped', 'report']),
  approvals: listOf(z.object({ user: z.string(), at: z.number() })),
  rejectedBy: z.object({ user: z.string(), at: z.number() }).optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  nodes: recordOf(nodeOutcomeSchema),
  lines: listOf(z.string()),
});

export function parseStepState(raw: string): StepState {
  return stepStateSchema.parse(JSON.parse(raw)) as StepState;
}

export type DecideOutcome =
  | { outcome: 'approved' | 'recorded' | 'rejected' | 'duplicate'; state: StepState }
  | { outcome: 'state'; state: StepState }
  | { outcome: 'superseded'; current?: number }
  | { outcome: 'unknown-step' };

export type ExecutionRecord =
  { status: 'started'; at: number } | { status: 'finished'; outcome: NodeOutcome };

export class PlanStore {
  private readonly redis: Redis & PlanScripts;
  private readonly keys: IncidentKeys;

  constructor(redis: Redis, prefix: string) {
    this.keys = new IncidentKeys(prefix);
    defineLuaCommands(redis, {
      flannelOpsPlanDecide: { file: 'lifecycle/lua/plan-decide.lua', keys: 2 },
      flannelOpsPlanStep: { file: 'lifecycle/lua/plan-step.lua', keys: 1 },
      flannelOpsPlanNode: { file: 'lifecycle/lua/plan-node.lua', keys: 1 },
    });
    this.redis = redis as Redis & PlanScripts;
  }

  key(incidentId: string, version: number): string {
    return `${this.keys.incident(incidentId)}:plan:${version}`;
  }

  /** Writes a new plan version with every step in its initial state (once: an existing version is kept). */
  async create(plan: IncidentPlan): Promise<PlanView> {
    const key = this.key(plan.incidentId, plan.version);
    const states: Record<string, StepState> = {};
    const fields: string[] = ['doc', JSON.stringify(plan)];
    for (const step of plan.steps) {
      const initial: StepState = {
        state: step.required === 0 ? 'report' : 'awaiting',
        approvals: [],
        nodes: {},
        lines: [],
      };
      states[step.id] = initial;
      fields.push(`s:${step.id}`, JSON.stringify(initial));
    }
    const created = await this.redis.hsetnx(key, 'doc', fields[1]);
    if (created === 1) {
      await this.redis
        .multi()
        .hset(key, ...fields)
        .expire(key, PLAN_TTL_SECONDS)
        .exec();
      return { plan, states };
    }
    return (await this.get(plan.incidentId, plan.version))!;
  }

  async get(incidentId: string, version: number): Promise<PlanView | undefined> {
    const hash = await this.redis.hgetall(this.key(incidentId, version));
    if (!hash.doc) return undefined;
    const plan = JSON.parse(hash.doc) as IncidentPlan;
    const states: Record<string, StepState> = {};
    for (const step of plan.steps) {
      const raw = hash[`s:${step.id}`];
      if (raw) states[step.id] = parseStepState(raw);
    }
    return { plan, states };
  }

  async decide(
    incidentId: string,
    version: number,
    stepId: string,
    user: string,
    decision: 'approve' | 'reject',
    required: number,
    nowMs: number,
  ): Promise<DecideOutcome> {
    const [outcome, raw] = await this.redis.flannelOpsPlanDecide(
      this.key(incidentId, version),
      this.keys.incident(incidentId),
      String(version),
      stepId,
      user,
      nowMs,
      decision,
      required,
    );
    if (outcome === 'superseded') return { outcome, ...(raw ? { current: Number(JSON.parse(raw)) } : {}) };
    if (outcome === 'unknown-step') return { outcome };
    return { outcome: outcome as 'approved', state: parseStepState(raw) };
  }

  /** Compare-and-set a step's state; undefined when the step was not in one of `from`. */
  async moveStep(
    incidentId: string,
    version: number,
    stepId: string,
    from: readonly StepStatus[],
    to: StepStatus,
    patch: Partial<StepState> = {},
  ): Promise<StepState | undefined> {
    const [ok, raw] = await this.redis.flannelOpsPlanStep(
      this.key(incidentId, version),
      stepId,
      from.join(','),
      to,
      JSON.stringify(patch),
    );
    return ok === 'ok' ? parseStepState(raw) : undefined;
  }

  async recordNode(
    incidentId: string,
    version: number,
    stepId: string,
    node: string,
    outcome: NodeOutcome,
  ): Promise<void> {
    await this.redis.flannelOpsPlanNode(this.key(incidentId, version), stepId, node, JSON.stringify(outcome));
  }

  /**
   * Claims the execution of one node of a step: true when this caller may run it. False means an earlier run
   * got that far: `existing` says whether it finished (then its outcome stands) or was interrupted mid-way.
   */
  async claimExecution(
    incidentId: string,
    version: number,
    stepId: string,
    node: string,
    nowMs: number,
  ): Promise<{ claimed: true } | { claimed: false; existing: ExecutionRecord }> {
    const key = this.key(incidentId, version);
    const field = `e:${stepId}:${node}`;
    const started: ExecutionRecord = { status: 'started', at: nowMs };
    if ((await this.redis.hsetnx(key, field, JSON.stringify(started))) === 1) return { claimed: true };
    const raw = await this.redis.hget(key, field);
    return { claimed: false, existing: raw ? (JSON.parse(raw) as ExecutionRecord) : started };
  }

  async finishExecution(
    incidentId: string,
    version: number,
    stepId: string,
    node: string,
    outcome: NodeOutcome,
  ): Promise<void> {
    const record: ExecutionRecord = { status: 'finished', outcome };
    await this.redis.hset(this.key(incidentId, version), `e:${stepId}:${node}`, JSON.stringify(record));
    await this.recordNode(incidentId, version, stepId, node, outcome);
  }
}
