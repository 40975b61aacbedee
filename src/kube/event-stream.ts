import type * as k8s from '@kubernetes/client-node';
import { readApiError } from './api-error.js';
import { backoffDelay } from './backoff.js';
import { openWatch } from './watch-request.js';
import { kubeGetJson } from './lean-request.js';

/**
 * A core/v1 Event as it arrives from list or watch: the API's JSON (timestamps are RFC 3339 strings, not the
 * Date objects of client-node's typed models; detection reads both, see detect/event-fields.ts).
 */
export type KubeEvent = k8s.CoreV1Event;

/** One page of `GET /api/v1/events`, as much of it as the stream reads. */
interface EventListPage {
  items?: KubeEvent[];
  metadata?: { resourceVersion?: string; continue?: string };
}

export type StreamState = 'starting' | 'listing' | 'watching' | 'backoff' | 'stopped';

export interface StreamHealth {
  cluster: string;
  state: StreamState;
  /** Healthy once a list succeeded and the watch is open. */
  healthy: boolean;
  lastError?: string;
  /** Consecutive failures since the last successful list/watch. */
  failures: number;
  relists: number;
  resourceVersion?: string;
  lastEventAt?: string;
  since: string;
}

export interface EventStreamOptions {
  cluster: string;
  kubeConfig: k8s.KubeConfig;
  /** Server-side filter; Warning keeps the stream small (sandbox failures are all Warnings). */
  fieldSelector?: string;
  /** Asks the server to end each watch after this long, so a silently dead stream is replaced. */
  watchTimeoutSeconds?: number;
  /** A watch with no event and no bookmark for this long is assumed dead and restarted. */
  idleTimeoutMs?: number;
  backoff?: { baseMs: number; maxMs: number };
  pageSize?: number;
  /** Every event seen: list items arrive as 'LISTED' (replayed after each relist), then watch changes. */
  onEvent(type: 'LISTED' | 'ADDED' | 'MODIFIED' | 'DELETED', event: KubeEvent): void;
  /** A list completed (first list or relist after 410/reconnect). */
  onListed?(count: number, resourceVersion: string): void;
  /** The loop opens a new watch: after a clean close, an expired resourceVersion (relist) or an error. */
  onRestart?(reason: 'closed' | 'expired' | 'error'): void;
  onHealth?(health: StreamHealth): void;
}

/**
 * One cluster's list+watch of core/v1 Events, kept alive for as long as the bot runs.
 *
 * client-node's informer stops on any error other than 410 (domain/kubernetes-api.md §3.4), so this runs its
 * own loop: list (paged) -> watch from the list's resourceVersion with bookmarks -> on a clean close re-watch
 * from the last version seen; on 410 Expired relist; on any other error back off (capped, jittered) and relist.
 */
export class EventStream {
  private running = false;
  private resourceVersion: string | undefined;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private health: StreamHealth;
  /** Kept as a number: formatting a date for every event of a storm costs more than the event's routing. */
  private lastEventAtMs: number | undefined;

  constructor(private readonly opts: EventStreamOptions) {
    this.health = {
      cluster: opts.cluster,
      state: 'starting',
      healthy: false,
      failures: 0,
      relists: 0,
      since: new Date().toISOString(),
    };
  }

  get status(): StreamHealth {
    return this.withLastEvent({ ...this.health });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort?.abort();
    this.wake?.();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    await this.loop;
    this.setHealth({ state: 'stopped', healthy: false });
  }

  private async run(): Promise<void> {
    let quickCloses = 0;
    while (this.running) {
      try {
        if (!this.resourceVersion) await this.list();
        const openedAt = Date.now();
        const outcome = await this.watchOnce();
        if (this.running) this.opts.onRestart?.(outcome);
        if (outcome === 'expired') {
          this.resourceVersion = undefined;
          this.health.relists++;
        } else if (Date.now() - openedAt < 1000 && this.running) {
          // A server that closes every watch at once must not be hammered in a tight loop.
          quickCloses++;
          await this.sleep(backoffDelay(quickCloses, this.opts.backoff));
        } else {
          quickCloses = 0;
        }
      } catch (err) {
        if (!this.running) break;
        this.resourceVersion = undefined;
        this.opts.onRestart?.('error');
        const failures = this.health.failures + 1;
        this.setHealth({ state: 'backoff', healthy: false, failures, lastError: describeKubeError(err) });
        await this.sleep(backoffDelay(failures, this.opts.backoff));
      }
    }
  }

  private async list(): Promise<void> {
    this.setHealth({ state: 'listing' });
    let continueToken: string | undefined;
    let resourceVersion = '';
    let count = 0;
    do {
      // A plain JSON list: the typed API would build a model object (and Dates) for each of thousands of events.
      const page = await kubeGetJson<EventListPage>(this.opts.kubeConfig, '/api/v1/events', {
        fieldSelector: this.opts.fieldSelector,
        limit: this.opts.pageSize ?? 500,
        continue: continueToken,
      });
      const items = page.items ?? [];
      for (const item of items) {
        if (!this.running) return;
        this.opts.onEvent('LISTED', item);
      }
      count += items.length;
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (continueToken && this.running);
    this.resourceVersion = resourceVersion;
    this.opts.onListed?.(count, resourceVersion);
  }

  /** Resolves when the watch ends: 'closed' (re-watch from the last version) or 'expired' (relist). */
  private watchOnce(): Promise<'closed' | 'expired'> {
    const controller = new AbortController();
    this.abort = controller;
    if (!this.running) return Promise.resolve('closed');
    return new Promise((resolve, reject) => {
      let expired = false;
      let failed = false;
      let finished = false;
      const idleMs = this.opts.idleTimeoutMs ?? 5 * 60_000;
      // One timer per watch, not one per event: it checks the last activity when it fires and re-arms.
      let lastActivity = Date.now();
      const checkIdle = () => {
        const quiet = Date.now() - lastActivity;
        if (quiet >= idleMs) controller.abort();
        else this.idleTimer = setTimeout(checkIdle, idleMs - quiet);
      };
      const done = (err: unknown) => {
        finished = true;
        if (this.idleTimer) clearTimeout(this.idleTimer);
        // An abort we asked for (stop, idle) is a clean close.
        if (err && this.running) reject(err);
        else resolve(expired ? 'expired' : 'closed');
      };
      openWatch({
        kubeConfig: this.opts.kubeConfig,
        path: '/api/v1/events',
        query: {
          allowWatchBookmarks: true,
          resourceVersion: this.resourceVersion,
          fieldSelector: this.opts.fieldSelector,
          timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300,
        },
        signal: controller.signal,
        onEvent: (type, object) => {
          lastActivity = Date.now();
          if (type === 'ERROR') {
            // 410 Expired arrives as an in-stream ERROR and the server then closes the stream.
            if (object.code === 410) expired = true;
            else if (!failed) {
              failed = true;
              reject(new Error(`watch error: ${(object as { message?: string }).message ?? 'unknown'}`));
              controller.abort();
            }
            return;
          }
          const event = object as unknown as KubeEvent;
          const rv = event.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          this.lastEventAtMs = lastActivity;
          if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return; // BOOKMARK
          try {
            this.opts.onEvent(type, event);
          } catch {
            // One event a consumer cannot handle must not end the watch (it would be replayed forever).
          }
        },
        onClose: done,
      }).then(
        () => {
          if (finished) return;
          this.idleTimer = setTimeout(checkIdle, idleMs);
          this.setHealth({ state: 'watching', healthy: true, failures: 0, lastError: undefined });
        },
        (err: unknown) => done((err as { name?: string }).name === 'AbortError' ? null : err),
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private withLastEvent(health: StreamHealth): StreamHealth {
    if (this.lastEventAtMs !== undefined) health.lastEventAt = new Date(this.lastEventAtMs).toISOString();
    return health;
  }

  private setHealth(patch: Partial<StreamHealth>): void {
    const next = this.withLastEvent({ ...this.health, ...patch, resourceVersion: this.resourceVersion });
    const changed = next.state !== this.health.state || next.lastError !== this.health.lastError;
    if (changed) next.since = new Date().toISOString();
    this.health = next;
    if (changed) this.opts.onHealth?.({ ...next });
  }
}

/** A one-line reason an on-call engineer can act on, for API errors, HTTP errors and network failures. */
export function describeKubeError(err: unknown): string {
  const e = err as { code?: number | string; message?: string; cause?: unknown };
  const api = readApiError(err);
  const detail = api.message ?? api.rawBody?.slice(0, 200) ?? '';
  if (api.code === 401)
    return `unauthorized (401): the kubeconfig's credentials were rejected${detail ? `: ${detail}` : ''}`;
  if (api.code === 403)
    return `forbidden (403): ${detail || 'the bot lacks RBAC permission to list/watch events'}`;
  if (api.code) return `API answered ${api.code}${detail ? `: ${detail}` : ''}`;
  const cause = (e.cause ?? {}) as { code?: string };
  const netCode = typeof e.code === 'string' ? e.code : cause.code;
  if (netCode === 'ECONNREFUSED')
    return `API server unreachable (connection refused): ${e.message ?? ''}`.trim();
  if (netCode === 'ENOTFOUND') return `API server host not found: ${e.message ?? ''}`.trim();
  return e.message ?? String(err);
}
