import { z } from 'zod';
import { BUILTIN_SCENARIOS } from '../../sim/kube/scenario/builtin-names.js';
import { RESOURCE_TYPES } from '../../sim/kube/resources.js';
import { type SimulatorOptions, startSimulator } from '../../sim/kube/simulator.js';
import { UserError } from '../../util/errors.js';
import { untilSignal } from '../signals.js';

export interface SimFlags {
  scenario?: string;
  scenarioFile?: string;
  port?: string;
  host?: string;
  kubeconfig?: string;
  context?: string;
  nodes?: string;
  storm?: string;
  stormDelay?: string;
  rbac?: boolean;
  latency?: string;
  retryInterval?: string;
  eventTtl?: string;
  workDir?: string;
}

const intFlag = (flag: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, `${flag} must be a whole number`)
    .transform(Number)
    .pipe(z.number().min(min, `${flag} must be at least ${min}`).max(max, `${flag} must be at most ${max}`))
    .optional();

const flagsSchema = z.object({
  port: intFlag('--port', 0, 65535),
  nodes: intFlag('--nodes', 1, 5000),
  storm: intFlag('--storm', 0),
  stormDelay: intFlag('--storm-delay', 0),
  latency: intFlag('--latency', 0),
  retryInterval: intFlag('--retry-interval', 10),
  eventTtl: intFlag('--event-ttl', 1),
});

/** Parses and checks the flags; every problem is a UserError naming the flag. */
export function simOptionsFromFlags(flags: SimFlags): SimulatorOptions {
  if (flags.scenario !== undefined && flags.scenarioFile !== undefined)
    throw new UserError('use either --scenario or --scenario-file, not both');
  if (flags.scenario !== undefined && !(BUILTIN_SCENARIOS as readonly string[]).includes(flags.scenario))
    throw new UserError(
      `unknown scenario "${flags.scenario}"; built-in scenarios: ${BUILTIN_SCENARIOS.join(', ')}`,
    );
  const parsed = flagsSchema.safeParse(flags);
  if (!parsed.success) throw new UserError(parsed.error.issues.map((i) => i.message).join('; '));
  const n = parsed.data;
  return {
    scenario: flags.scenario,
    scenarioFile: flags.scenarioFile,
    port: n.port ?? 0,
    host: flags.host,
    kubeconfigPath: flags.kubeconfig,
    contextName: flags.context,
    nodes: n.nodes,
    storm: n.storm,
    stormDelayMs: n.stormDelay,
    rbac: Boolean(flags.rbac),
    latencyMs: n.latency,
    retryIntervalMs: n.retryInterval,
    eventTtlMs: n.eventTtl === undefined ? undefined : n.eventTtl * 1000,
    workDir: flags.workDir,
  };
}

function servedResources(): string {
  return RESOURCE_TYPES.map((r) => {
    const sub = r.subresources.length > 0 ? ` (+${r.subresources.join(', ')})` : '';
    return `${r.plural}${r.group ? `.${r.group}` : ''}${sub}`;
  }).join(', ');
}

/** `flannel-ops sim`: runs the simulator and prints where it listens, until SIGINT/SIGTERM. */
export async function runSim(flags: SimFlags): Promise<void> {
  const opts = simOptionsFromFlags(flags);
  const sim = await startSimulator(opts);
  const { scenario } = sim;
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(`Kubernetes API simulator listening on ${sim.url}`);
  out(`  kubeconfig:  ${sim.kubeconfigPath}`);
  out(`               kubectl --kubeconfig ${sim.kubeconfigPath} get pods -A`);
  out(`  scenario:    ${scenario.name}: ${scenario.description.trim().split('\n')[0]}`);
  out(`  root cause:  ${scenario.rootCause}`);
  out(
    `  nodes:       ${scenario.nodes.length} (${scenario.nodes
      .slice(0, 5)
      .map((n) => n.name)
      .join(', ')}${scenario.nodes.length > 5 ? ', ...' : ''})`,
  );
  out(`  serves:      ${servedResources()}`);
  out(
    `  faults:      POST ${sim.url}/_sim/faults/{drop-watches,expire-next-watch,fail?count=N&status=503,latency?ms=N,reset}`,
  );
  out(`  health:      GET ${sim.url}/_sim/healthz`);
  out(
    `  rbac:        ${opts.rbac ? 'enforced for service-account tokens' : 'off (every token has full access)'}`,
  );
  out(`  work dir:    ${sim.workDir}`);
  if (sim.stormDone) {
    void sim.stormDone.then((r) =>
      out(`  storm:       ${r.events} FailedCreatePodSandBox events in ${r.durationMs} ms`),
    );
  }
  out('Press Ctrl-C to stop.');
  await untilSignal();
  await sim.stop();
  out('simulator stopped');
}
