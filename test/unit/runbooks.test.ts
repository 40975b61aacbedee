import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CAUSE_ID_LIST } from '../../src/checks/causes.js';
import { CHECK_ID_LIST } from '../../src/checks/catalog.js';
import { classifySandboxMessage, signalFromEvent, type SandboxSignal } from '../../src/detect/classify.js';
import { ACTION_IDS } from '../../src/remediations/catalog.js';
import {
  loadRunbooks,
  loadRunbooksFrom,
  matchRunbooks,
  shippedRunbooksDir,
  type Runbook,
} from '../../src/runbooks/load.js';
import { UserError } from '../../src/util/errors.js';

const SHIPPED = shippedRunbooksDir();
const FIXTURES = resolve('test/fixtures/runbooks');
const SANDBOX = '566461a584386191b1cc4dcc05193d30f7120f467ab2c694e2811eda1db34247';

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory holding the given files. */
function runbookDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'flannel-ops-runbooks-'));
  tempDirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** The error loading throws, for assertions on its type and message. */
function loadError(dirs: string[]): UserError {
  try {
    loadRunbooksFrom(dirs);
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected loading to fail');
}

const VALID = `id: sample
title: Sample runbook
trigger:
  reasons: [FailedCreatePodSandBox]
  errorClasses: [plugin-missing]
checks:
  - id: node-cni-plugins
remediation:
  - id: report
    action: report-missing-cni-plugins
    risk: low
    title: Report the missing binaries
    when:
      causes: [cni-plugin-missing]
verification:
  - id: node-cni-plugins
`;

function signal(message: string, reason: SandboxSignal['reason'] = 'FailedCreatePodSandBox'): SandboxSignal {
  const s = signalFromEvent({
    metadata: { name: 'p.1', namespace: 'default', uid: 'u' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'p' },
    reason,
    type: 'Warning',
    message,
    source: { host: 'node-1' },
  });
  if (!s) throw new Error('not a signal');
  return s;
}

const ids = (runbooks: Runbook[]) => runbooks.map((r) => r.id);

describe('the shipped Flannel runbook', () => {
  const runbooks = loadRunbooks(SHIPPED);
  const flannel = runbooks.find((r) => r.id === 'flannel')!;

  test('loads, with defaults filled in', () => {
    expect(flannel).toBeDefined();
    expect(flannel.file).toBe(join(SHIPPED, 'flannel.yaml'));
    expect(flannel.trigger.reasons).toEqual(['FailedCreatePodSandBox', 'NetworkNotReady']);
    expect(flannel.trigger.involvedKinds).toEqual(['Pod']);
    expect(flannel.trigger.cooldownMinutes).toBe(30);
  });

  test('runs every built-in check', () => {
    expect(flannel.checks.map((c) => c.id).sort()).toEqual([...CHECK_ID_LIST].sort());
  });

  test('offers at least one step for every root cause', () => {
    const covered = new Set(flannel.remediation.flatMap((step) => step.when.causes));
    expect(CAUSE_ID_LIST.filter((cause) => !covered.has(cause))).toEqual([]);
  });

  test('high-risk actions are declared high risk; mismatches and missing binaries are only reported', () => {
    const riskOf = (action: string) => flannel.remediation.find((s) => s.action === action)?.risk;
    expect(riskOf('reapply-flannel-manifest')).toBe('high');
    expect(riskOf('delete-stale-cni0')).toBe('high');
    const podcidrSteps = flannel.remediation.filter((s) =>
      s.when.causes.some((c) => c === 'podcidr-missing' || c === 'podcidr-outside-network'),
    );
    expect(podcidrSteps.every((s) => ACTION_IDS[s.action].reportOnly)).toBe(true);
  });

  test('the stale-cni0 plan cordons before deleting the bridge and uncordons after', () => {
    const order = flannel.remediation
      .filter((s) => s.when.causes.includes('stale-cni0'))
      .map((s) => s.action);
    expect(order.indexOf('cordon-node')).toBeLessThan(order.indexOf('delete-stale-cni0'));
    expect(order.indexOf('delete-stale-cni0')).toBeLessThan(order.indexOf('uncordon-node'));
  });

  test('has verification checks', () => {
    expect(flannel.verification.map((c) => c.id)).toEqual(
      expect.arrayContaining(['flannel-pods', 'node-subnet-env']),
    );
  });
});

describe('matchRunbooks with the shipped runbook', () => {
  const runbooks = loadRunbooks(SHIPPED);

  test.each([
    [
      'the seed (dockershim, legacy wording)',
      'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to set up sandbox container "xxx" network for pod "xxx": networkPlugin cni failed to set up pod "xxx" network: plugin type="flannel" name="kube-flannel-ds" failed (added netns /proc/28456/ns/net to delay queue): no IP addresses available in network: cni0',
    ],
    [
      'containerd range-set exhaustion',
      `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${SANDBOX}": plugin type="flannel" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254`,
    ],
    [
      'containerd 1.5 missing bridge binary (no plugin type in the text)',
      `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${SANDBOX}": failed to find plugin "bridge" in path [/opt/cni/bin]`,
    ],
    [
      'an unrecognised flannel plugin error, through the message pattern',
      `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${SANDBOX}": plugin type="flannel" failed (add): failed to set up IP masquerade: operation not permitted`,
    ],
  ])('%s matches', (_name, message) => {
    expect(ids(matchRunbooks(runbooks, signal(message)))).toEqual(['flannel']);
  });

  test('NetworkNotReady matches', () => {
    const s = signal(
      'network is not ready: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
      'NetworkNotReady',
    );
    expect(ids(matchRunbooks(runbooks, s))).toEqual(['flannel']);
  });

  test.each([
    [
      'an image pull failure',
      'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "registry.k8s.io/pause:3.6": failed to pull image "registry.k8s.io/pause:3.6": not found',
    ],
    [
      "Calico's IPAM",
      `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${SANDBOX}": plugin type="calico" failed (add): failed to request 1 IPv4 addresses. IPv4 addresses available to request: 0`,
    ],
    [
      "a host-local exhaustion under Calico's plugin",
      `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${SANDBOX}": plugin type="calico" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.1.0.1-10.1.0.62`,
    ],
  ])('%s does not match', (_name, message) => {
    expect(matchRunbooks(runbooks, signal(message))).toEqual([]);
  });

  test('a sandbox failure reported against another kind of object does not match', () => {
    const s = { ...signal('cni plugin not initialized'), kind: 'Node' };
    expect(matchRunbooks(runbooks, s)).toEqual([]);
  });
});

describe('a second runbook, added without code', () => {
  const runbooks = loadRunbooksFrom([SHIPPED, FIXTURES]);

  test('loads together with the shipped one', () => {
    expect(ids(runbooks)).toEqual(['flannel', 'calico-plugin-missing']);
    expect(runbooks[1].trigger.cooldownMinutes).toBe(15);
  });

  test("matches its CNI's missing plugin, and Flannel's runbook does not", () => {
    const message = `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${SANDBOX}": plugin type="calico" failed (add): failed to find plugin "calico-ipam" in path [/opt/cni/bin]`;
    expect(ids(matchRunbooks(runbooks, signal(message)))).toEqual(['calico-plugin-missing']);
  });

  test("Flannel's missing plugin still goes to the Flannel runbook only", () => {
    const message = `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${SANDBOX}": plugin type="flannel" failed (add): failed to find plugin "flannel" in path [/opt/cni/bin]`;
    expect(ids(matchRunbooks(runbooks, signal(message)))).toEqual(['flannel']);
  });

  test('a runbook triggered by message patterns only', () => {
    const dir = runbookDir({
      'mtu.yaml': `id: mtu
title: MTU trouble
trigger:
  reasons: [FailedCreatePodSandBox]
  messagePatterns: ['MTU \\d+ (is )?too (large|big)']
checks: [{ id: node-devices }]
`,
    });
    const all = loadRunbooksFrom([dir]);
    const hit = signal('plugin type="flannel" failed (add): failed to set MTU 9001 is TOO LARGE for device');
    expect(hit.signature.errorClass).toBe('other');
    expect(ids(matchRunbooks(all, hit))).toEqual(['mtu']);
    expect(matchRunbooks(all, signal('failed to set MTU: invalid argument'))).toEqual([]);
    expect(all[0].remediation).toEqual([]);
  });
});

describe('invalid runbooks are reported with file, field and reason', () => {
  test('unknown check, action and cause ids, each at its field with its line', () => {
    const bad = VALID.replace('  - id: node-cni-plugins\nremediation', '  - id: node-dns\nremediation')
      .replace('action: report-missing-cni-plugins', 'action: flush-iptables')
      .replace('causes: [cni-plugin-missing]', 'causes: [cni-plugin-missing, dns-broken]');
    const dir = runbookDir({ 'bad.yaml': bad });
    const err = loadError([dir]);
    const file = join(dir, 'bad.yaml');
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain(
      `${file}:7:9: checks[0].id: unknown check id "node-dns" (known: flannel-daemonset,`,
    );
    expect(err.message).toContain(`${file}:10:13: remediation[0].action: unknown action id "flush-iptables"`);
    expect(err.message).toContain(
      `${file}:14:36: remediation[0].when.causes[1]: unknown cause id "dns-broken"`,
    );
    expect(err.message.split('\n')).toHaveLength(3);
  });

  test('an unknown verification check id is rejected', () => {
    const dir = runbookDir({
      'v.yaml': VALID.replace(/verification:\n {2}- id: node-cni-plugins/, 'verification:\n  - id: ping'),
    });
    expect(loadError([dir]).message).toMatch(
      /v\.yaml:\d+:\d+: verification\[0\]\.id: unknown check id "ping"/,
    );
  });

  test('a bad regex is reported with its field and the reason', () => {
    const dir = runbookDir({
      'regex.yaml': VALID.replace(
        '  errorClasses: [plugin-missing]',
        "  messagePatterns: ['ok', 'no IP (addresses']",
      ),
    });
    expect(loadError([dir]).message).toMatch(
      /regex\.yaml:\d+:\d+: trigger\.messagePatterns\[1\]: invalid regular expression: .*Unterminated group/,
    );
  });

  test('a step cannot declare less risk than its action carries', () => {
    const dir = runbookDir({
      'risk.yaml': VALID.replace('action: report-missing-cni-plugins', 'action: delete-stale-cni0'),
    });
    expect(loadError([dir]).message).toMatch(
      /risk\.yaml:\d+:\d+: remediation\[0\]\.risk: action "delete-stale-cni0" is at least high risk; "low" would skip/,
    );
  });

  test('wrong types, missing fields, misspelt reasons, unknown error classes and unknown keys', () => {
    const text = `id: Not_An_Id
trigger:
  reasons: [FailedCreatePodSandbox]
  errorClasses: [ip-exhaustion]
  cooldownMinutes: soon
checks: []
remediations: []
`;
    const dir = runbookDir({ 'many.yaml': text });
    const message = loadError([dir]).message;
    const file = join(dir, 'many.yaml');
    expect(message).toContain(`${file}:1:5: id: must be lower-case letters and digits joined by dashes`);
    expect(message).toMatch(/many\.yaml(:\d+:\d+)?: title: required/);
    expect(message).toMatch(/many\.yaml:3:\d+: trigger\.reasons\[0\]: .*"FailedCreatePodSandBox"/);
    expect(message).toMatch(/many\.yaml:4:\d+: trigger\.errorClasses\[0\]: .*"ip-exhausted"/);
    expect(message).toMatch(/many\.yaml:5:\d+: trigger\.cooldownMinutes: .*number/);
    expect(message).toMatch(/many\.yaml:6:\d+: checks: must list at least one entry/);
    expect(message).toMatch(/many\.yaml:\d+:\d+: remediations: unknown key \(did you mean "remediation"\?\)/);
  });

  test('duplicate step ids within a runbook', () => {
    const step = VALID.slice(VALID.indexOf('  - id: report'), VALID.indexOf('verification:'));
    const dir = runbookDir({ 'dup.yaml': VALID.replace('verification:', `${step}verification:`) });
    expect(loadError([dir]).message).toMatch(
      /dup\.yaml:\d+:\d+: remediation\[1\]\.id: duplicate step id "report"/,
    );
  });

  test('duplicate runbook ids across files and directories', () => {
    const a = runbookDir({ 'a.yaml': VALID });
    const b = runbookDir({ 'b.yaml': VALID });
    expect(loadError([a, b]).message).toBe(
      `${join(b, 'b.yaml')}: id: duplicate runbook id "sample" (also in ${join(a, 'a.yaml')})`,
    );
    const c = runbookDir({ 'one.yaml': VALID, 'two.yml': VALID });
    expect(loadError([c]).message).toContain(`${join(c, 'two.yml')}: id: duplicate runbook id "sample"`);
  });

  test('problems in several files are all listed in one error', () => {
    const dir = runbookDir({
      'a.yaml': VALID.replace('title: Sample runbook\n', ''),
      'b.yaml': VALID.replace('id: sample', 'id: other').replace('risk: low', 'risk: extreme'),
    });
    const message = loadError([dir]).message;
    expect(message).toMatch(/a\.yaml(:\d+:\d+)?: title: required/);
    expect(message).toMatch(/b\.yaml:\d+:\d+: remediation\[0\]\.risk: .*"low"/);
  });

  test('YAML syntax errors, empty files, missing and empty directories', () => {
    const syntax = runbookDir({ 'broken.yaml': 'id: x\ntrigger: [unclosed\n' });
    expect(loadError([syntax]).message).toMatch(/broken\.yaml:\d+:\d+: \(syntax\): invalid YAML/);

    const empty = runbookDir({ 'empty.yaml': '# nothing yet\n' });
    expect(loadError([empty]).message).toBe(`${join(empty, 'empty.yaml')}: (top level): the file is empty`);

    const missing = join(tmpdir(), 'flannel-ops-no-such-runbook-dir');
    expect(loadError([missing]).message).toBe(`${missing}: (directory): runbook directory not found`);

    const noYaml = runbookDir({ 'README.md': '# docs' });
    expect(loadError([noYaml]).message).toBe(
      `${noYaml}: (directory): no runbooks (*.yaml) in this directory`,
    );
  });

  test('files that are not YAML are ignored and .yml is read', () => {
    const dir = runbookDir({ 'README.md': 'not a runbook', 'sample.yml': VALID });
    mkdirSync(join(dir, 'sub.yaml.d'));
    expect(ids(loadRunbooks(dir))).toEqual(['sample']);
  });
});

describe('matchRunbooks is pure', () => {
  test('matching twice gives the same answer and changes nothing', () => {
    const runbooks = loadRunbooks(SHIPPED);
    const before = JSON.stringify(runbooks);
    const s = signal('cni plugin not initialized');
    expect(ids(matchRunbooks(runbooks, s))).toEqual(ids(matchRunbooks(runbooks, s)));
    expect(JSON.stringify(runbooks)).toBe(before);
    expect(s.signature).toEqual(classifySandboxMessage('cni plugin not initialized'));
  });
});
