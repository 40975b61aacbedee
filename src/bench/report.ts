import { buildProduct, machineInfo, projectRoot, type BenchOptions, type BenchReport } from './run.js';
import { runDeployedBench } from './deployed.js';
import { runDiagnosisBench } from './diagnosis.js';
import { runHubBench } from './hub.js';

/** Probe pods in the diagnosis benchmark start this long after they are bound (an image pull, a sandbox). */
export const PROBE_POD_START_MS = 1_000;

/**
 * The SPEC's performance targets ("Performance targets"), checked against measured figures (reported, never
 * asserted by tests). A figure that was not measured is `met: null`.
 */
export function evaluateTargets(r: Omit<BenchReport, 'targets'>): BenchReport['targets'] {
  const check = (target: string, value: number | null | undefined, ok: (v: number) => boolean) => {
    const v = value === undefined || value === null || Number.isNaN(value) ? null : value;
    return { target, value: v, met: v === null ? null : ok(v) };
  };
  const hub = r.hub.status === 'ok' ? r.hub : undefined;
  const fairShare = hub ? Math.ceil(hub.clusters / hub.replicas) + 1 : NaN;
  return {
    'page.p99_ms': check('<= 100', r.page.p99_ms, (v) => v <= 100),
    'storm.incidents': check('= 1', r.storm.incidents, (v) => v === 1),
    // One root post, the diagnosis' thread and coalesced updates: a bounded number, far fewer than events.
    'storm.slack_calls': check('<= 50', r.storm.slack_calls, (v) => v <= 50),
    ratio_vs_baseline: check('>= 3', r.ratio_vs_baseline, (v) => v >= 3),
    'memory.rss_idle_mb': check('<= 120', r.memory.rss_idle_mb, (v) => v <= 120),
    'memory.rss_peak_mb': check('<= 200', r.memory.rss_peak_mb, (v) => v <= 200),
    // The SPEC's target is for 200 nodes.
    'diagnosis.wall_ms': check('<= 5000', r.diagnosis.wall_ms, (v) => v <= 5000),
    'hub.max_per_replica': check(
      hub ? `<= ${fairShare}` : '<= ceil(clusters/replicas) + 1',
      hub?.max_per_replica,
      (v) => v <= fairShare,
    ),
    'hub.failover_s': check('<= 15', hub?.failover_s, (v) => v <= 15),
    'hub.duplicate_incidents': check('= 0', hub?.duplicate_incidents, (v) => v === 0),
  };
}

export const NO_HUB_FIGURES = {
  clusters: null,
  replicas: null,
  max_per_replica: null,
  per_replica: null,
  per_replica_after: null,
  failover_s: null,
  duplicate_incidents: null,
  rss_per_cluster_mb: null,
};

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const t0 = Date.now();
  const opts = {
    ...options,
    log: (line: string) => options.log(`[+${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`),
  };
  const machine = machineInfo();
  const root = projectRoot();
  await buildProduct(root, opts.log);
  const deployed = await runDeployedBench({ ...opts, root });
  const diagnosis = await runDiagnosisBench({ ...opts, nodes: 200, podStartMs: PROBE_POD_START_MS });
  let hub: BenchReport['hub'];
  try {
    hub = { status: 'ok', ...(await runHubBench(opts)) };
  } catch (err) {
    const reason = (err as Error).message;
    hub = { status: 'not run', reason, ...NO_HUB_FIGURES };
    opts.log(`hub: not run (${reason})`);
  }
  const partial = { machine, quick: opts.quick, ...deployed, diagnosis, hub };
  return { ...partial, targets: evaluateTargets(partial) };
}

type Row = [figure: string, value: string, target: string, verdict: string];

/** A table a person reads: figure, value, target, verdict. */
export function formatReport(r: BenchReport): string {
  const rows: Row[] = [];
  const info = (name: string, value: string) => rows.push([name, value, '', '']);
  const figure = (name: string, value: number | null | undefined, unit = '') => {
    const t = r.targets[name];
    const verdict = !t || t.met === null ? (t ? 'not measured' : '') : t.met ? 'ok' : 'MISSED';
    rows.push([
      name,
      value === null || value === undefined || Number.isNaN(value) ? 'n/a' : `${value}${unit}`,
      t?.target ?? '',
      verdict,
    ]);
  };
  info('page.incidents', String(r.page.incidents));
  figure('page.p50_ms', r.page.p50_ms, ' ms');
  figure('page.p99_ms', r.page.p99_ms, ' ms');
  info('storm.events', `${r.storm.events} over ${r.storm.nodes} nodes`);
  figure('storm.incidents', r.storm.incidents);
  figure('storm.first_post_ms', r.storm.first_post_ms, ' ms');
  figure('storm.events_per_s', r.storm.events_per_s);
  figure('storm.cpu_ms_per_1k_events', r.storm.cpu_ms_per_1k_events, ' ms');
  info(
    '  of which bot / redis',
    `${r.storm.bot_cpu_ms_per_1k_events} / ${r.storm.redis_cpu_ms_per_1k_events} ms`,
  );
  figure('storm.slack_calls', r.storm.slack_calls);
  figure('baseline.cpu_ms_per_1k_events', r.baseline.cpu_ms_per_1k_events, ' ms');
  figure('ratio_vs_baseline', r.ratio_vs_baseline, 'x');
  figure('memory.rss_idle_mb', r.memory.rss_idle_mb, ' MiB');
  figure('memory.rss_peak_mb', r.memory.rss_peak_mb, ' MiB');
  info(
    'diagnosis.nodes',
    `${r.diagnosis.nodes} (${r.diagnosis.nodes_probed} probed, pods start in ${r.diagnosis.pod_start_ms} ms, ${r.diagnosis.root_cause ?? 'no cause'})`,
  );
  figure('diagnosis.wall_ms', r.diagnosis.wall_ms, ' ms');
  info(
    '  probe queued / starting / running',
    `${r.diagnosis.probe_queued_ms} / ${r.diagnosis.probe_starting_ms} / ${r.diagnosis.probe_running_ms} ms (mean)`,
  );
  for (const g of r.growth.clusters)
    info(`growth.clusters ${g.clusters}`, `${g.rss_idle_mb} MiB idle, all watching in ${g.watching_ms} ms`);
  for (const g of r.growth.events)
    info(
      `growth.events ${g.events}`,
      `${g.wall_ms} ms, ${g.cpu_ms_per_1k_events} ms CPU per 1k, ${g.rss_mb} MiB after`,
    );
  if (r.hub.status === 'ok') {
    info('hub.clusters', `${r.hub.clusters} on ${r.hub.replicas} replicas`);
    figure('hub.max_per_replica', r.hub.max_per_replica);
    figure('hub.failover_s', r.hub.failover_s, ' s');
    figure('hub.duplicate_incidents', r.hub.duplicate_incidents);
  } else {
    info('hub', `not run: ${r.hub.reason}`);
  }
  const width = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i].length), 6));
  const lines = rows.map((row) =>
    row
      .map((cell, i) => (i < 3 ? cell.padEnd(width[i]) : cell))
      .join('  ')
      .trimEnd(),
  );
  const m = r.machine;
  return [
    `flannel-ops bench${r.quick ? ' --quick' : ''} on ${m.cpu_model} (${m.cpus} cpus, ${m.mem_gb} GiB, load ${m.load_1m}), node ${m.node}`,
    `baseline: ${r.baseline.tool}; redis: ${r.redis}; bot started with NODE_OPTIONS=${r.memory.node_options}`,
    '',
    ...lines,
  ].join('\n');
}

/** Where a full run's table goes in docs/benchmarks.md: between these two lines, replaced on every full run. */
export const LATEST_RUN_START =
  '<!-- bench:latest-run:start (written by `flannel-ops bench`; do not edit) -->';
export const LATEST_RUN_END = '<!-- bench:latest-run:end -->';

/**
 * docs/benchmarks.md with its latest-run block replaced by this report's table (when it was run, the table, and
 * each missed target with its value); the hand-written text around it (how it measures, why a target is missed)
 * is kept. A document without the markers gets the block appended. Pure.
 */
export function withLatestRun(doc: string, r: BenchReport, at: Date): string {
  const missed = Object.entries(r.targets).filter(([, t]) => t.met === false);
  const block = [
    LATEST_RUN_START,
    `Run ${at.toISOString().replace(/\.\d+Z$/, 'Z')}:`,
    '',
    '```',
    formatReport(r),
    '```',
    '',
    missed.length === 0
      ? 'Every target met.'
      : `Missed: ${missed.map(([name, t]) => `\`${name}\` ${t.value} (target ${t.target})`).join(', ')}.`,
    LATEST_RUN_END,
  ].join('\n');
  const start = doc.indexOf(LATEST_RUN_START);
  const end = doc.indexOf(LATEST_RUN_END);
  if (start < 0 || end < start) return `${doc.trimEnd()}\n\n${block}\n`;
  return doc.slice(0, start) + block + doc.slice(end + LATEST_RUN_END.length);
}
