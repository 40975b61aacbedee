/**
 * The hub's placement decision: every cluster watched by exactly one live replica that knows it, no replica
 * above ⌈clusters/replicas⌉, and a replica joining or leaving moves few clusters.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  assignClusters,
  clustersFor,
  fairShare,
  type ReplicaView,
} from '../../src/coordination/hub-assignment.js';

const names = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}${i}`);
const same = (ids: string[], clusters: string[]): ReplicaView[] => ids.map((id) => ({ id, clusters }));

/** Per-replica cluster sets as every replica computes them (clustersFor), not the shared map. */
function perReplica(replicas: ReplicaView[]): Map<string, Set<string>> {
  return new Map(replicas.map((r) => [r.id, clustersFor(r.id, replicas).clusters]));
}

describe('assignClusters', () => {
  it('gives each of 100 clusters to one of 3 replicas, at most 34 each', () => {
    const replicas = same(['a', 'b', 'c'], names(100, 'cluster-'));
    const counts = [...perReplica(replicas).values()].map((s) => s.size);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(100);
    expect(Math.max(...counts)).toBeLessThanOrEqual(34);
  });

  it('property: every cluster exactly once, to a replica configured with it, within the fair share', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 20 }), { minLength: 0, maxLength: 60 }),
        fc.boolean(),
        fc.integer(),
        (ids, clusters, heterogeneous, seed) => {
          const replicas: ReplicaView[] = ids.map((id, i) => ({
            id,
            // Heterogeneous: each replica knows a subset (a rolling config change, `watch --cluster`).
            clusters: heterogeneous ? clusters.filter((_, j) => (i + j + seed) % 3 !== 0) : clusters,
          }));
          const known = new Set(replicas.flatMap((r) => r.clusters));
          const held = perReplica(replicas);
          const owners = new Map<string, string[]>();
          for (const [id, set] of held) for (const c of set) owners.set(c, [...(owners.get(c) ?? []), id]);
          for (const c of known) {
            expect(owners.get(c)).toHaveLength(1);
            const owner = replicas.find((r) => r.id === owners.get(c)![0])!;
            expect(owner.clusters).toContain(c);
          }
          expect([...owners.keys()].every((c) => known.has(c))).toBe(true);
          if (!heterogeneous) {
            const cap = fairShare(clusters.length, ids.length);
            for (const set of held.values()) expect(set.size).toBeLessThanOrEqual(cap);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('property: the same membership in any order gives the same placement', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 6 }),
        fc.uniqueArray(fc.string({ minLength: 1 }), { maxLength: 40 }),
        (ids, clusters) => {
          const replicas = same(ids, clusters);
          const shuffled = [...replicas]
            .reverse()
            .map((r) => ({ ...r, clusters: [...r.clusters].reverse() }));
          expect([...assignClusters(shuffled)].sort()).toEqual([...assignClusters(replicas)].sort());
        },
      ),
    );
  });

  it('a fourth replica joining takes a share, and most clusters stay where they were', () => {
    const clusters = names(60, 'c');
    const before = assignClusters(same(['r1', 'r2', 'r3'], clusters));
    const after = assignClusters(same(['r1', 'r2', 'r3', 'r4'], clusters));
    const taken = [...after.values()].filter((id) => id === 'r4').length;
    expect(taken).toBeGreaterThan(0);
    expect(taken).toBeLessThanOrEqual(15);
    const moved = clusters.filter((c) => before.get(c) !== after.get(c)).length;
    // Only r4's share has to move; bounded loads may shuffle a few more, never a wholesale reshuffle.
    expect(moved).toBeLessThan(clusters.length / 2);
  });

  it("a dead replica's clusters go to the survivors; theirs mostly stay", () => {
    const clusters = names(30, 'c');
    const before = assignClusters(same(['r1', 'r2', 'r3'], clusters));
    const after = assignClusters(same(['r1', 'r3'], clusters));
    expect([...after.values()].every((id) => id !== 'r2')).toBe(true);
    expect(after.size).toBe(30);
    const keptByR1 = clusters.filter((c) => before.get(c) === 'r1' && after.get(c) === 'r1').length;
    const hadR1 = clusters.filter((c) => before.get(c) === 'r1').length;
    expect(keptByR1).toBeGreaterThanOrEqual(hadR1 - 2);
  });

  it('a cluster only one replica knows goes to that replica even past the share', () => {
    const replicas: ReplicaView[] = [
      { id: 'a', clusters: ['x', 'y', 'only-a'] },
      { id: 'b', clusters: ['x', 'y'] },
    ];
    const assignment = assignClusters(replicas);
    expect(assignment.get('only-a')).toBe('a');
    expect(new Set(assignment.keys())).toEqual(new Set(['x', 'y', 'only-a']));
  });

  it('clustersFor allows one above the share while replicas converge', () => {
    const r = clustersFor('a', same(['a', 'b', 'c'], names(12, 'c')));
    expect(r.share).toBe(4);
    expect(r.limit).toBe(5);
    expect(clustersFor('a', []).clusters.size).toBe(0);
  });
});
