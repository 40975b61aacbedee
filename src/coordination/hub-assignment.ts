/**
 * Which replica should watch which cluster: a pure decision every replica computes alike from the same
 * membership (the live replicas and the clusters each one is configured with), so they agree without talking.
 *
 * Rendezvous (highest-random-weight) hashing with bounded loads: each cluster goes to the live replica that
 * ranks highest for it among those still under the fair share ⌈clusters / replicas⌉. Rendezvous ranks keep
 * churn low (a replica joining or leaving mostly moves only its own share); the bound keeps the load even.
 * A replica is only ever given a cluster it is configured with, so replicas running with different cluster
 * files (a rolling config change, `watch --cluster X`) still cover every cluster exactly once.
 */
import { createHash } from 'node:crypto';

export interface ReplicaView {
  /** Unique per process (host, pid and a random part). */
  id: string;
  /** The cluster names this replica is configured to watch. */
  clusters: readonly string[];
}

/** ⌈clusters / replicas⌉: the most any replica is given (0 replicas: every cluster is unowned). */
export function fairShare(clusters: number, replicas: number): number {
  return replicas <= 0 ? 0 : Math.ceil(clusters / replicas);
}

/** The rendezvous weight of (cluster, replica): 52 bits of SHA-256, deterministic everywhere. */
export function rendezvousWeight(cluster: string, replica: string): number {
  const digest = createHash('sha256').update(cluster).update('\0').update(replica).digest();
  return digest.readUIntBE(0, 6) * 16 + (digest[6] >> 4);
}

/**
 * Cluster -> replica id for every cluster some live replica is configured with. With identical cluster lists
 * no replica gets more than fairShare(clusters, replicas); a cluster only some replicas know is placed among
 * those (beyond the share only when no candidate is under it).
 */
export function assignClusters(replicas: readonly ReplicaView[]): Map<string, string> {
  const live = [...new Map(replicas.map((r) => [r.id, r])).values()];
  const candidates = new Map<string, string[]>();
  for (const r of live) {
    for (const cluster of new Set(r.clusters)) {
      const list = candidates.get(cluster) ?? [];
      list.push(r.id);
      candidates.set(cluster, list);
    }
  }
  const cap = fairShare(candidates.size, live.length);
  const load = new Map(live.map((r) => [r.id, 0]));
  // The most constrained clusters first, then by name: the same order on every replica.
  const order = [...candidates.keys()].sort(
    (a, b) => candidates.get(a)!.length - candidates.get(b)!.length || (a < b ? -1 : a > b ? 1 : 0),
  );
  const assignment = new Map<string, string>();
  for (const cluster of order) {
    const ranked = candidates
      .get(cluster)!
      .map((id) => ({ id, weight: rendezvousWeight(cluster, id) }))
      .sort((a, b) => b.weight - a.weight || (a.id < b.id ? -1 : 1));
    const chosen =
      ranked.find((c) => load.get(c.id)! < cap) ??
      // Every candidate is full (clusters known to few replicas): the least loaded, by rank on ties.
      ranked.reduce((best, c) => (load.get(c.id)! < load.get(best.id)! ? c : best));
    assignment.set(cluster, chosen.id);
    load.set(chosen.id, load.get(chosen.id)! + 1);
  }
  return assignment;
}

/** The clusters `self` should watch, and the most it may hold while others converge (share + 1). */
export function clustersFor(
  self: string,
  replicas: readonly ReplicaView[],
): { clusters: Set<string>; share: number; limit: number } {
  const assignment = assignClusters(replicas);
  const mine = new Set([...assignment].filter(([, id]) => id === self).map(([cluster]) => cluster));
  const share = fairShare(assignment.size, new Set(replicas.map((r) => r.id)).size);
  return { clusters: mine, share, limit: Math.max(share, mine.size) + 1 };
}
