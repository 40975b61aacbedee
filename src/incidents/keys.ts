/**
 * Redis key layout. Everything lives under one configurable prefix (default 'flannel-ops') so several bots or
 * test runs can share a Redis database. Cluster and runbook names are user data: encoded so a ':' in them can
 * never collide with the layout.
 *
 *   {p}:incident:{id}                 hash: the incident (counts, times, state, x:* extras)
 *   {p}:incident:{id}:events          hash: event uid -> highest count seen
 *   {p}:incident:{id}:pods|nodes|namespaces   sets of distinct members (capped; overflow in ...:hll)
 *   {p}:incident:{id}:sigs            hash: per error class events / occurrences / sample
 *   {p}:incident:{id}:audit           stream: append-only audit log
 *   {p}:latest:{cluster}:{runbook}    string: id of the newest incident for that pair
 *   {p}:incidents                     zset: every incident by openedAt
 *   {p}:active                        zset: non-terminal incidents by openedAt
 *   {p}:cluster:{cluster}:incidents   zset: the cluster's incidents by openedAt
 *   {p}:cluster:{cluster}:active      zset: the cluster's non-terminal incidents
 */
export const DEFAULT_KEY_PREFIX = 'flannel-ops';

export function encodeKeyPart(value: string): string {
  return encodeURIComponent(value);
}

export class IncidentKeys {
  constructor(readonly prefix: string = DEFAULT_KEY_PREFIX) {}

  /** Prefix the Lua scripts append an incident id (and suffix) to. */
  get incidentBase(): string {
    return `${this.prefix}:incident:`;
  }
  incident(id: string): string {
    return `${this.incidentBase}${id}`;
  }
  signatures(id: string): string {
    return `${this.incident(id)}:sigs`;
  }
  audit(id: string): string {
    return `${this.incident(id)}:audit`;
  }
  latest(cluster: string, runbookId: string): string {
    return `${this.prefix}:latest:${encodeKeyPart(cluster)}:${encodeKeyPart(runbookId)}`;
  }
  get allIndex(): string {
    return `${this.prefix}:incidents`;
  }
  get activeIndex(): string {
    return `${this.prefix}:active`;
  }
  /** Base of the per-cluster indexes; the scripts append ':incidents' or ':active'. */
  clusterBase(cluster: string): string {
    return `${this.prefix}:cluster:${encodeKeyPart(cluster)}`;
  }
  clusterIndex(cluster: string): string {
    return `${this.clusterBase(cluster)}:incidents`;
  }
  clusterActiveIndex(cluster: string): string {
    return `${this.clusterBase(cluster)}:active`;
  }
}
