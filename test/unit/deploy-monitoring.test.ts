/**
 * deploy/components/monitoring: the PrometheusRule's rules pass `promtool check rules` and their unit tests
 * (`promtool test rules` on tests/*.yaml, against the rule groups extracted from the PrometheusRule), every
 * flannel_ops_* series they read is one the bot exports, and the ServiceMonitor reaches the bot's pods.
 * promtool comes with Debian's `prometheus` package (.ci/run installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import YAML from 'yaml';
import { BotMetrics } from '../../src/observability/metrics.js';

const DIR = resolve('deploy/components/monitoring');
const rule = YAML.parse(readFileSync(join(DIR, 'prometheusrule.yaml'), 'utf8'));
const TESTS = readdirSync(join(DIR, 'tests')).filter((f) => f.endsWith('.yaml'));

let work: string;

function promtool(args: string[], cwd: string) {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('promtool is not installed: apt-get install prometheus (Debian ships promtool with it)');
  }
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'flannel-ops-rules-'));
  writeFileSync(join(work, 'rules.yaml'), YAML.stringify({ groups: rule.spec.groups }));
  for (const file of TESTS) copyFileSync(join(DIR, 'tests', file), join(work, file));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the PrometheusRule', () => {
  it('is valid for promtool check rules', () => {
    const { code, output } = promtool(['check', 'rules', 'rules.yaml'], work);
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(code).toBe(0);
  });

  it('passes its unit tests (promtool test rules)', () => {
    expect(TESTS.sort()).toEqual(['bot.yaml', 'flannel.yaml']);
    const { code, output } = promtool(['test', 'rules', ...TESTS], work);
    expect(output).not.toContain('FAILED');
    expect(code).toBe(0);
  });

  it('has a unit test for every alert', () => {
    const alerts = rule.spec.groups.flatMap((g: { rules: Array<{ alert?: string }> }) =>
      g.rules.map((r) => r.alert),
    );
    const tested = new Set(
      TESTS.flatMap((file) =>
        [...readFileSync(join(DIR, 'tests', file), 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]),
      ),
    );
    expect(alerts.filter((a: string) => !tested.has(a))).toEqual([]);
  });

  it('reads only flannel_ops_* series the bot exports', async () => {
    const metrics = new BotMetrics({ defaultMetrics: false });
    const exported = new Set<string>();
    for (const m of await metrics.registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === 'histogram')
        for (const s of ['_bucket', '_sum', '_count']) exported.add(`${m.name}${s}`);
    }
    const used = new Set(
      rule.spec.groups.flatMap((g: { rules: Array<{ expr: string }> }) =>
        g.rules.flatMap((r) => [...r.expr.matchAll(/\bflannel_ops_[a-z_]+/g)].map((m) => m[0])),
      ),
    );
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((name) => !exported.has(name as string))).toEqual([]);
  });
});

describe('the Service and ServiceMonitor', () => {
  const docs = (file: string) =>
    YAML.parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => d.toJS());
  const [service] = docs('service.yaml');
  const [monitor] = docs('servicemonitor.yaml');

  it("select the bot's pods and scrape GET /metrics on its HTTP port", () => {
    const deployment = ['deploy/deployment.yaml', 'deploy/base/deployment.yaml'].find((f) => existsSync(f));
    expect(deployment).toBeDefined();
    const pod = YAML.parseAllDocuments(readFileSync(deployment!, 'utf8'))
      .map((d) => d.toJS())
      .find((d) => d?.kind === 'Deployment').spec.template;
    expect(pod.metadata.labels).toMatchObject(service.spec.selector);
    const ports = pod.spec.containers.flatMap((c: { ports?: Array<{ name: string }> }) => c.ports ?? []);
    expect(ports.map((p: { name: string }) => p.name)).toContain(service.spec.ports[0].targetPort);
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.namespaceSelector.matchNames).toContain(service.metadata.namespace);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    // FlannelOpsDown finds the scrape job by the Service's name.
    expect(JSON.stringify(rule.spec.groups)).toContain(`up{job=\\"${service.metadata.name}\\"}`);
  });

  it('render as a kustomize component', () => {
    const overlay = join(work, 'overlay');
    rmSync(overlay, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', overlay]);
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      YAML.stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        components: [relative(overlay, DIR)],
      }),
    );
    const run = spawnSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' });
    if (run.error)
      throw new Error(`kubectl is needed (apt-get install kubernetes-client): ${run.error.message}`);
    expect(run.stderr).toBe('');
    const kinds = YAML.parseAllDocuments(run.stdout).map((d) => d.toJS().kind);
    expect(kinds.sort()).toEqual(['PrometheusRule', 'Service', 'ServiceMonitor']);
  });
});
