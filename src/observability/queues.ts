/**
 * Handles on every BullMQ queue of the bot, for inspection only (depths in /metrics, the queue board): they
 * add no jobs. The names come from the modules that own the queues.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_NAMES as DIAGNOSIS_QUEUES } from '../diagnosis/queue-names.js';
import { LIFECYCLE_QUEUE } from '../lifecycle/jobs.js';
import { OUTBOX_QUEUE } from '../slack/outbox.js';

export const BOT_QUEUE_NAMES = [...DIAGNOSIS_QUEUES, LIFECYCLE_QUEUE, OUTBOX_QUEUE] as const;

export interface BotQueues {
  all: Queue[];
  close(): Promise<void>;
}

export function botQueues(connection: Redis, prefix: string): BotQueues {
  const all = BOT_QUEUE_NAMES.map((name) => new Queue(name, { connection, prefix }));
  for (const q of all) q.on('error', () => undefined); // connection trouble shows in /healthz
  return { all, close: async () => void (await Promise.all(all.map((q) => q.close()))) };
}
