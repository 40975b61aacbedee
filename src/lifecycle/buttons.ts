/**
 * Button values are opaque ids, never data: what a button does is stored here, under the id, for as long as
 * its message may be clicked. The same target always gets the same id (whichever replica renders it first),
 * so re-rendering a message keeps its buttons.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const buttonTargetSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.enum(['approve', 'reject']),
    incidentId: z.string(),
    version: z.number().int(),
    stepId: z.string(),
  }),
  z.object({
    kind: z.literal('rerun'),
    cluster: z.string(),
    incidentId: z.string().optional(),
    node: z.string().optional(),
  }),
  z.object({ kind: z.literal('ack'), incidentId: z.string() }),
  /** "…and N more evidence lines": every evidence line of one cause of a diagnosis, answered ephemerally. */
  z.object({ kind: z.literal('evidence'), diagnosisId: z.string(), cause: z.string() }),
]);

export type ButtonTarget = z.infer<typeof buttonTargetSchema>;

const BUTTON_ID = /^[a-f0-9]{24}$/;
const TTL_SECONDS = 14 * 86_400;

export class ButtonStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** The opaque id of a button doing `target`. */
  async issue(target: ButtonTarget): Promise<string> {
    const digest = createHash('sha256').update(JSON.stringify(target)).digest('hex').slice(0, 32);
    const slot = `${this.prefix}:button:slot:${digest}`;
    const candidate = randomBytes(12).toString('hex');
    await this.redis.set(slot, candidate, 'EX', TTL_SECONDS, 'NX');
    const id = (await this.redis.get(slot)) ?? candidate;
    await this.redis.set(this.key(id), JSON.stringify(target), 'EX', TTL_SECONDS);
    return id;
  }

  /** What a clicked button does; undefined for an unknown, expired or malformed id. */
  async resolve(id: string): Promise<ButtonTarget | undefined> {
    if (!BUTTON_ID.test(id)) return undefined;
    const raw = await this.redis.get(this.key(id));
    if (!raw) return undefined;
    const parsed = buttonTargetSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }

  private key(id: string): string {
    return `${this.prefix}:button:${id}`;
  }
}
