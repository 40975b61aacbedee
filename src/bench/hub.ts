import type { BenchOptions } from './run.js';

/** Multi-replica watcher balancing: 100 clusters on 3 replicas, one killed (SPEC "Performance targets"). */
export interface HubFigures {
  clusters: number;
  replicas: number;
  /** Most clusters one replica leads once balanced. */
  max_per_replica: number;
  /** From a replica's death until its clusters are watched again. */
  failover_s: number;
  duplicate_incidents: number;
}

/** Measured on the `hub` branch; this branch only keeps the report's place for it. */
export async function runHubBench(options: BenchOptions): Promise<HubFigures> {
  void options;
  throw new Error('not implemented in this branch');
}
