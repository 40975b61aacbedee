/**
 * The hub membership: every replica heartbeats its id and its configured clusters into Redis and reads back
 * the live replicas. A replica that stops heartbeating (killed, partitioned) expires after ttl; a clean stop
 * leaves at once. Expiry uses Redis' clock (TIME inside the script), so replicas' clocks never matter.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { defineLuaCommands } from './lua-scripts.js';
import type { ReplicaView } from './hub-assignment.js';

interface MembershipScripts {
  flannelOpsMembershipHeartbeat(
    membersKey: string,
    clustersKey: string,
    id: string,
    ttlMs: number,
    clustersJson: string,
  ): Promise<string[]>;
  flannelOpsMembershipLeave(membersKey: string, clustersKey: string, id: string): Promise<number>;
}

/** A replica id unique per process: readable (host, pid) plus a random part against pid reuse. */
export function newReplicaId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function membershipKeys(prefix: string): { members: string; clusters: string } {
  return { members: `${prefix}:hub:replicas`, clusters: `${prefix}:hub:replica-clusters` };
}

export interface MembershipOptions {
  redis: Redis;
  prefix: string;
  id: string;
  clusters: readonly string[];
  /** How long a replica counts as live after its last heartbeat. Default 10 s. */
  ttlMs?: number;
  /** Heartbeat period. Default 1 s (at most ttl/3). */
  heartbeatMs?: number;
  /** Called after every heartbeat with the live replicas (this one included), in id order. */
  onView(replicas: ReplicaView[]): void;
  onError?(err: unknown): void;
}

function parseClusters(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return []; // a replica of another version wrote something else: it simply gets no cluster
  }
}

export class ReplicaMembership {
  private readonly redis: Redis & MembershipScripts;
  private readonly keys: { members: string; clusters: string };
  private readonly ttlMs: number;
  private readonly heartbeatMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private beat: Promise<void> = Promise.resolve();

  constructor(private readonly opts: MembershipOptions) {
    defineLuaCommands(opts.redis, {
      flannelOpsMembershipHeartbeat: { file: 'coordination/lua/membership-heartbeat.lua', keys: 2 },
      flannelOpsMembershipLeave: { file: 'coordination/lua/membership-leave.lua', keys: 2 },
    });
    this.redis = opts.redis as Redis & MembershipScripts;
    this.keys = membershipKeys(opts.prefix);
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.heartbeatMs = Math.max(50, Math.min(opts.heartbeatMs ?? 1000, Math.floor(this.ttlMs / 3)));
  }

  get id(): string {
    return this.opts.id;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  /** Leaves the membership (the others take this replica's clusters at their next heartbeat). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.timer);
    await this.beat;
    await this.redis
      .flannelOpsMembershipLeave(this.keys.members, this.keys.clusters, this.opts.id)
      .catch((err: unknown) => this.opts.onError?.(err)); // it then expires after ttl
  }

  /** One heartbeat now (tests, and a replica that wants a fresh view). */
  async heartbeat(): Promise<ReplicaView[]> {
    const reply = await this.redis.flannelOpsMembershipHeartbeat(
      this.keys.members,
      this.keys.clusters,
      this.opts.id,
      this.ttlMs,
      JSON.stringify([...this.opts.clusters]),
    );
    const view: ReplicaView[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2)
      view.push({ id: reply[i], clusters: parseClusters(reply[i + 1]) });
    return view;
  }

  private tick(): void {
    this.beat = this.heartbeat().then(
      (view) => {
        if (this.running) this.opts.onView(view);
      },
      (err: unknown) => this.opts.onError?.(err),
    );
    void this.beat.then(() => {
      if (!this.running) return;
      this.timer = setTimeout(() => this.tick(), this.heartbeatMs);
    });
  }
}
