/**
 * The bot as deployed (`flannel-ops run`, compiled, its own process) against stand-ins that take every timestamp
 * themselves: the Kubernetes simulator (an event's creation) and the Slack emulator (a Web API request's receipt).
 * One run measures, in this order: idle memory with 10 and 100 clusters, page latency over ≥ 30 incidents, the
 * 10,000-event storm with the kubectl baseline reading the same stream, and the growth of cost with events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { IncidentStore } from '../incidents/store.js';
import type { Incident } from '../incidents/types.js';
import { startPrivateRedis, type RedisHandle } from '../demo/private-redis.js';
import { startSimulator, type Simulator } from '../sim/kube/simulator.js';
import { startSlackEmulator } from '../sim/slack/index.js';
import {
  BotProcess,
  DEPLOYED_NODE_OPTIONS,
  benchSlackSecrets,
  until,
  type BenchCluster,
} from './bot-process.js';
import { LineChild } from './child.js';
import { processCpuMs } from './proc.js';
import { percentile, round } from './stats.js';
import type { BenchOptions } from './run.js';

export interface PageFigures {
  incidents: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

export interface StormFigures {
  incidents: number;
  events: number;
  nodes: number;
  /** From the storm's first event to the incident's root post request (Slack emulator receipt). */
  first_post_ms: number;
  /** Until every event was counted in the incident. */
  wall_ms: number;
  events_per_s: number;
  /** The bot process plus redis-server, over the storm. */
  cpu_ms_per_1k_events: number;
  bot_cpu_ms_per_1k_events: number;
  redis_cpu_ms_per_1k_events: number;
  /** Web API calls in the storm cluster's channel from the storm's start until quiet (its diagnosis included). */
  slack_calls: number;
  slack_posts: number;
  slack_updates: number;
}

export interface BaselineFigures {
  tool: string;
  events_per_s: number;
  cpu_ms_per_1k_events: number;
}

export interface MemoryFigures {
  /** VmRSS of the bot watching 10 idle clusters. */
  rss_idle_mb: number;
  /** VmHWM of the bot through the page incidents, the storm and their diagnoses. */
  rss_peak_mb: number;
  node_options: string;
}

export interface GrowthFigures {
  clusters: Array<{ clusters: number; watching_ms: number; rss_idle_mb: number }>;
  events: Array<{
    events: number;
    wall_ms: number;
    cpu_ms: number;
    cpu_ms_per_1k_events: number;
    rss_mb: number;
  }>;
}

export interface DeployedFigures {
  page: PageFigures;
  storm: StormFigures;
  baseline: BaselineFigures;
  ratio_vs_baseline: number;
  memory: MemoryFigures;
  growth: GrowthFigures;
  redis: string;
}

const PAGE_CLUSTERS = 30;
/**
 * Idle means idle: V8 shrinks the heap of a quiet process some seconds after start-up (its memory reducer), so
 * the RSS read right after the watches open is start-up's, not the steady state a replica sits in for hours.
 * The bench waits this long after all watches are open, then takes the median of IDLE_SAMPLES reads 1 s apart.
 */
const IDLE_SETTLE_MS = 15_000;
const IDLE_SAMPLES = 5;

/** CPU of redis-server: its own process when the bench started it, else INFO cpu (shared with other clients). */
function redisCpu(handle: RedisHandle, client: Redis): () => Promise<number> {
  if (handle.pid) return async () => processCpuMs(handle.pid!);
  return async () => {
    const info = await client.info('cpu');
    const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    return (field('used_cpu_sys') + field('used_cpu_user')) * 1000;
  };
}

async function ownRedis(opts: BenchOptions): Promise<RedisHandle> {
  try {
    return await startPrivateRedis();
  } catch (err) {
    opts.log(`bench: no private redis-server (${(err as Error).message}); using ${opts.redisUrl}, shared`);
    return { url: opts.redisUrl, source: `REDIS_URL ${opts.redisUrl} (shared)`, stop: async () => {} };
  }
}

export async function runDeployedBench(opts: BenchOptions & { root: string }): Promise<DeployedFigures> {
  const stormNodes = opts.quick ? 100 : 500;
  const stormEvents = opts.quick ? 2_000 : 10_000;
  const growthEvents = opts.quick ? [1_000, 5_000] : [1_000, 10_000, 100_000];
  // --quick keeps the SPEC's 10 idle clusters; the full run adds 100 to show memory per cluster.
  const growthClusters = opts.quick ? [10] : [10, 100];
  const prefix = `${opts.keyPrefix}-bench-${randomBytes(4).toString('hex')}`;
  const redisHandle = await ownRedis(opts);
  const redis = new Redis(redisHandle.url, { maxRetriesPerRequest: null });
  // ioredis reconnects by itself (a loaded machine can time a connect out); the bench's waits report lasting trouble.
  redis.on('error', () => {});
  const store = new IncidentStore({ redis, prefix });
  const redisCpuMs = redisCpu(redisHandle, redis);
  const secrets = benchSlackSecrets();
  const channels = [
    ...Array.from({ length: PAGE_CLUSTERS }, (_, i) => ({ id: pageChannel(i), name: `page-${i}` })),
    { id: 'C0STORM', name: 'storm' },
  ];
  const slack = await startSlackEmulator({ port: 0, ...secrets, channels });
  const sims: Simulator[] = [];
  const children: LineChild[] = [];
  const cacheDir = mkdtempSync(join(tmpdir(), 'flannel-ops-bench-kubectl-'));
  let bot: BotProcess | undefined;
  const startBot = async (clusters: BenchCluster[]) => {
    const b = await BotProcess.start({
      root: opts.root,
      clusters,
      redisUrl: redisHandle.url,
      prefix,
      slack: { apiUrl: slack.apiUrl, ...secrets },
    });
    slack.setRequestUrl(`${b.url}/slack/events`);
    return b;
  };
  try {
    opts.log(`bench: ${PAGE_CLUSTERS} small clusters and a ${stormNodes}-node one (simulated)`);
    for (let i = 0; i < PAGE_CLUSTERS; i++)
      sims.push(await startSimulator({ scenario: 'healthy', nodes: 2, port: 0, startDelayMs: 10 }));
    const stormSim = await startSimulator({
      scenario: 'healthy',
      nodes: stormNodes,
      port: 0,
      startDelayMs: 10,
    });
    sims.push(stormSim);
    await Promise.all(sims.map((s) => s.settle()));
    const pageClusters = sims
      .slice(0, PAGE_CLUSTERS)
      .map((s, i) => ({ name: `page-${i}`, kubeconfig: s.kubeconfigPath, channel: pageChannel(i) }));

    // --- memory and growth with clusters: the bot watching N idle clusters ---------------------------------
    const clusterGrowth: GrowthFigures['clusters'] = [];
    for (const n of growthClusters) {
      const clusters = Array.from({ length: n }, (_, i) => ({
        ...pageClusters[i % PAGE_CLUSTERS],
        name: `idle-${i}`,
      }));
      opts.log(`memory: the bot watching ${n} idle clusters`);
      const started = Date.now();
      bot = await startBot(clusters);
      const watchingMs = Date.now() - started;
      await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
      const samples: number[] = [];
      for (let i = 0; i < IDLE_SAMPLES; i++) {
        samples.push(bot.rssMb());
        await new Promise((r) => setTimeout(r, 1_000));
      }
      clusterGrowth.push({
        clusters: n,
        watching_ms: watchingMs,
        rss_idle_mb: round(percentile(samples, 0.5)),
      });
      await bot.stop();
      bot = undefined;
    }

    // --- the measured bot: 30 page clusters and the storm cluster ------------------------------------------
    const stormCluster = { name: 'storm', kubeconfig: stormSim.kubeconfigPath, channel: 'C0STORM' };
    opts.log('page: starting flannel-ops run');
    bot = await startBot([...pageClusters, stormCluster]);

    // The baseline reads the storm cluster's stream from now on (its initial list is read before the storm).
    const initial = stormSim.store.list('Event', { fieldSelector: 'type=Warning' }).length;
    const kubectl = new LineChild('kubectl', [
      '--kubeconfig',
      stormSim.kubeconfigPath,
      '--cache-dir',
      cacheDir,
      'get',
      'events',
      '-A',
      '--watch',
      '-o',
      'json',
      '--field-selector',
      'type=Warning',
    ]);
    children.push(kubectl);
    const matcher = new LineChild(
      process.execPath,
      [join(opts.root, 'src', 'bench', 'baseline-matcher.mjs'), String(initial), String(stormEvents)],
      { stdin: kubectl.proc.stdout! },
    );
    children.push(matcher);

    // --- page: clusters failing one after another -------------------------------------------------------
    const latencies: number[] = [];
    for (let i = 0; i < PAGE_CLUSTERS; i++) {
      const sim = sims[i];
      const channel = pageChannel(i);
      const before = slack.calls().length;
      const createdAt = Date.now();
      await sim.storm(1);
      const created = createdAtOf(sim) ?? createdAt;
      let postedAt: number | undefined;
      await bot.until(
        `the page of cluster page-${i}`,
        () => {
          const post = slack
            .calls()
            .slice(before)
            .find((c) => c.method === 'chat.postMessage' && c.channel === channel);
          postedAt = post?.at;
          return post !== undefined;
        },
        30_000,
      );
      latencies.push(postedAt! - created);
      // One after another: the next cluster fails a little later, while this one's diagnosis runs.
      await new Promise((r) => setTimeout(r, 250));
    }
    const page: PageFigures = {
      incidents: latencies.length,
      p50_ms: round(percentile(latencies, 0.5)),
      p99_ms: round(percentile(latencies, 0.99)),
      max_ms: round(Math.max(...latencies)),
    };
    opts.log(`page: p50 ${page.p50_ms} ms, p99 ${page.p99_ms} ms over ${page.incidents} incidents`);
    // The storm starts on a quiet bot: every page incident diagnosed, nothing written to Slack for 2 s.
    await until(
      'the page incidents to be diagnosed',
      async () => {
        const all = await store.list({ limit: 1000 });
        return all.every((i) => !['open', 'diagnosing'].includes(i.state));
      },
      300_000,
    );
    await quiet(slack, 2_000, 120_000);
    await matcher.waitFor('baseline ready', (l) => l === 'READY', 60_000);

    // --- storm ---------------------------------------------------------------------------------------
    opts.log(`storm: ${stormEvents} events over ${stormNodes} nodes`);
    const botCpu0 = bot.cpuMs();
    const redisCpu0 = await redisCpuMs();
    const baseCpu0 = processCpuMs(kubectl.pid) + processCpuMs(matcher.pid);
    const callsBefore = slack.calls().length;
    const stormStart = Date.now();
    await stormSim.storm(stormEvents);
    const stormIncident = await countedUpTo(store, 'storm', stormEvents, 300_000);
    const stormDone = Date.now();
    const botCpu = bot.cpuMs() - botCpu0;
    const redisCpuUsed = (await redisCpuMs()) - redisCpu0;
    const baseDone = Number(
      (await matcher.waitFor('baseline done', (l) => l.startsWith('DONE '), 300_000)).slice(5),
    );
    const baseCpu = processCpuMs(kubectl.pid) + processCpuMs(matcher.pid) - baseCpu0;
    kubectl.kill();
    matcher.kill();
    // The storm's thread: the incident post, its diagnosis and the coalesced updates, until quiet.
    await until(
      'the storm incident to be diagnosed',
      async () => !['open', 'diagnosing'].includes((await store.get(stormIncident.id))?.state ?? 'open'),
      180_000,
    );
    await quiet(slack, 2_000, 120_000);
    // The storm's own calls: its channel (a page incident's thread may still get a late update elsewhere).
    const stormCalls = slack
      .calls()
      .slice(callsBefore)
      .filter((c) => c.channel === 'C0STORM');
    const firstPost = stormCalls.find((c) => c.method === 'chat.postMessage' && c.channel === 'C0STORM');
    const incidents = (await store.list({ cluster: 'storm' })).length;
    const per1k = (ms: number) => round((ms / stormEvents) * 1000);
    const storm: StormFigures = {
      incidents,
      events: stormEvents,
      nodes: stormNodes,
      first_post_ms: firstPost ? firstPost.at - stormStart : NaN,
      wall_ms: stormDone - stormStart,
      events_per_s: Math.round(stormEvents / (Math.max(1, stormDone - stormStart) / 1000)),
      cpu_ms_per_1k_events: per1k(botCpu + redisCpuUsed),
      bot_cpu_ms_per_1k_events: per1k(botCpu),
      redis_cpu_ms_per_1k_events: per1k(redisCpuUsed),
      slack_calls: stormCalls.length,
      slack_posts: stormCalls.filter((c) => c.method === 'chat.postMessage').length,
      slack_updates: stormCalls.filter((c) => c.method === 'chat.update').length,
    };
    const baseline: BaselineFigures = {
      tool: 'kubectl get events -A --watch -o json | node baseline-matcher.mjs',
      events_per_s: Math.round(stormEvents / (Math.max(1, baseDone - stormStart) / 1000)),
      cpu_ms_per_1k_events: per1k(baseCpu),
    };
    const memory: MemoryFigures = {
      rss_idle_mb: clusterGrowth[0].rss_idle_mb,
      rss_peak_mb: bot.peakRssMb(),
      node_options: DEPLOYED_NODE_OPTIONS,
    };
    opts.log(
      `storm: ${storm.cpu_ms_per_1k_events} ms CPU per 1k events (bot + Redis), ${incidents} incident(s)`,
    );

    // --- growth with events: the same incident takes 1k, 10k, 100k more --------------------------------
    const eventGrowth: GrowthFigures['events'] = [];
    let counted = stormIncident.counts.events;
    for (const n of growthEvents) {
      opts.log(`growth: ${n} events`);
      const cpu0 = bot.cpuMs() + (await redisCpuMs());
      const t0 = Date.now();
      await stormSim.storm(n);
      // Past the exact range the incident counts events with a HyperLogLog (±1%): wait for 98% of them.
      const inc = await countedUpTo(store, 'storm', Math.floor((counted + n) * 0.98), 600_000);
      counted = inc.counts.events;
      const cpu = bot.cpuMs() + (await redisCpuMs()) - cpu0;
      eventGrowth.push({
        events: n,
        wall_ms: Date.now() - t0,
        cpu_ms: cpu,
        cpu_ms_per_1k_events: round((cpu / n) * 1000),
        rss_mb: bot.rssMb(),
      });
    }

    return {
      page,
      storm,
      baseline,
      ratio_vs_baseline:
        storm.cpu_ms_per_1k_events > 0
          ? round(baseline.cpu_ms_per_1k_events / storm.cpu_ms_per_1k_events, 2)
          : NaN,
      memory,
      growth: { clusters: clusterGrowth, events: eventGrowth },
      redis: redisHandle.source,
    };
  } finally {
    for (const c of children) c.kill();
    await bot?.stop();
    await slack.close();
    for (const s of sims) await s.stop();
    rmSync(cacheDir, { recursive: true, force: true });
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await redisHandle.stop();
  }
}

function pageChannel(i: number): string {
  return `C0PAGE${String(i).padStart(2, '0')}`;
}

/** The creation time of the newest storm event in `sim` (its eventTime, microseconds, set by the simulator). */
function createdAtOf(sim: Simulator): number | undefined {
  const events = sim.store.list('Event', { fieldSelector: 'type=Warning' });
  let newest: number | undefined;
  for (const e of events) {
    const t = Date.parse(String((e as { eventTime?: string }).eventTime ?? ''));
    if (Number.isFinite(t) && (newest === undefined || t > newest)) newest = t;
  }
  return newest;
}

/** Waits until the cluster's incident counted `events` events (polled every 250 ms: little Redis work). */
async function countedUpTo(
  store: IncidentStore,
  cluster: string,
  events: number,
  timeoutMs: number,
): Promise<Incident> {
  let id: string | undefined;
  let incident: Incident | undefined;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!id) id = (await store.list({ cluster }))[0]?.id;
    incident = id ? await store.get(id) : undefined;
    if (incident && incident.counts.events >= events) return incident;
    if (Date.now() > deadline)
      throw new Error(
        `bench: ${cluster}'s incident counted ${incident?.counts.events ?? 0} of ${events} events in time`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Until the Slack emulator received nothing for `quietMs`. */
async function quiet(slack: { calls(): Array<{ at: number }> }, quietMs: number, timeoutMs: number) {
  await until('Slack to go quiet', () => Date.now() - (slack.calls().at(-1)?.at ?? 0) > quietMs, timeoutMs);
}
