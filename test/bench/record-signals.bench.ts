/**
 * Micro-benchmark (not a test) of redis-server's CPU for IncidentStore.recordSignals on large batches: a private
 * redis-server, `INFO cpu` (used_cpu_user + used_cpu_sys) read before and after each batch.
 *
 *   npx tsx test/bench/record-signals.bench.ts [events per batch=20000] [batches=10]
 *
 * Each run opens one incident with the first batch, then records new batches of fresh events (3 error classes,
 * counts 1–5) and re-deliveries of earlier ones with higher counts, as a storm does.
 */
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../../src/demo/private-redis.js';
import { IncidentStore } from '../../src/incidents/store.js';
import type { SandboxSignalLike } from '../../src/incidents/types.js';

const EVENTS = Number(process.argv[2] ?? 20_000);
const BATCHES = Number(process.argv[3] ?? 10);
const CLASSES = ['ip-exhausted', 'subnet-env-missing', 'network-not-ready'];

function batch(offset: number, bump: number): SandboxSignalLike[] {
  return Array.from({ length: EVENTS }, (_, i) => {
    const n = offset + i;
    return {
      eventUid: `6f1c2a9e-4b5d-4e6f-8a7b-${n.toString(16).padStart(12, '0')}`,
      namespace: `ns-${n % 20}`,
      podName: `web-7d9f8c6b5-${n.toString(36)}`,
      node: `node-${n % 500}`,
      count: 1 + (n % 5) + bump,
      firstSeen: 1_700_000_000_000 + n,
      lastSeen: 1_700_000_000_000 + n,
      message: `failed to setup network for sandbox: ${CLASSES[n % 3]}`,
      signature: { errorClass: CLASSES[n % 3] },
    };
  });
}

async function serverCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const user = Number(/^used_cpu_user:([\d.]+)/m.exec(info)?.[1] ?? 0);
  const sys = Number(/^used_cpu_sys:([\d.]+)/m.exec(info)?.[1] ?? 0);
  return (user + sys) * 1000;
}

const server = await startPrivateRedis();
const redis = new Redis(server.url);
try {
  const store = new IncidentStore({ redis, prefix: 'bench' });
  const results: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    // Even batches: fresh events; odd ones: the previous batch re-delivered with higher counts.
    const signals = b % 2 === 0 ? batch(b * EVENTS, 0) : batch((b - 1) * EVENTS, 2);
    const before = await serverCpuMs(redis);
    const started = performance.now();
    await store.recordSignals('bench-cluster', 'flannel', signals);
    const wall = performance.now() - started;
    const cpu = (await serverCpuMs(redis)) - before;
    results.push(cpu);
    console.log(
      `batch ${b} (${b % 2 === 0 ? 'new' : 're-delivered'}): redis-server ${cpu.toFixed(1)} ms CPU, ${wall.toFixed(1)} ms wall`,
    );
  }
  const total = results.reduce((a, b) => a + b, 0);
  const incident = await store.findActive('bench-cluster', 'flannel');
  console.log(
    `redis-server CPU per 1k events: ${((total / (EVENTS * BATCHES)) * 1000).toFixed(2)} ms ` +
      `(${BATCHES} batches × ${EVENTS} events); incident counts ${JSON.stringify(incident?.counts)}`,
  );
} finally {
  await redis.quit();
  await server.stop();
}
