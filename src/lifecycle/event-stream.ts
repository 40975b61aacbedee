/**
 * Lifecycle events for other processes: the coordinator's changes of incident state are appended to a Redis
 * stream (`{p}:lifecycle:events`, capped), and `flannel-ops watch` follows it with a blocking XREAD, so it
 * prints an incident resolving without polling the store. Only what the CLI printer shows is published.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Incident } from '../incidents/types.js';
import type { LifecycleEvent, LifecycleSink } from './types.js';

const MAX_LEN = 10_000;

export const streamKey = (prefix: string) => `${prefix}:lifecycle:events`;

export class RedisStreamSink implements LifecycleSink {
  readonly name = 'redis-stream';

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async handle(e: LifecycleEvent): Promise<void> {
    if (e.type !== 'incident' || e.change !== 'state') return;
    await this.redis.xadd(
      streamKey(this.prefix),
      'MAXLEN',
      '~',
      MAX_LEN,
      '*',
      'incident',
      JSON.stringify({ ...e.incident, extras: {} }),
    );
  }
}

const incidentSchema = z.looseObject({
  id: z.string(),
  cluster: z.string(),
  runbookId: z.string(),
  state: z.string(),
});

/**
 * Follows the stream from now on until `signal` aborts, calling `onIncident` for each state change. Uses its
 * own connection (a blocking read holds it).
 */
export async function followLifecycle(
  redis: Redis,
  prefix: string,
  onIncident: (incident: Incident) => void,
  signal: AbortSignal,
): Promise<void> {
  let last = '$';
  while (!signal.aborted) {
    let reply: Array<[string, Array<[string, string[]]>]> | null;
    try {
      reply = (await redis.xread('BLOCK', 1000, 'STREAMS', streamKey(prefix), last)) as typeof reply;
    } catch {
      if (signal.aborted) return;
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        last = id;
        const raw = fields[fields.indexOf('incident') + 1];
        try {
          const parsed = incidentSchema.safeParse(JSON.parse(raw));
          if (parsed.success) onIncident(parsed.data as unknown as Incident);
        } catch {
          // a malformed entry is skipped
        }
      }
    }
  }
}
