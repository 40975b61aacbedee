import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCluster, loadClustersFile, parseClustersConfig } from '../../src/config/clusters.js';
import { ConfigError, formatProblems, type Problem } from '../../src/config/issues.js';
import { UserError } from '../../src/util/errors.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fo-clusters-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function problemsOf(file: string): Problem[] {
  try {
    loadClustersFile(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(1);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

// Verbatim from SPEC.md, "Clusters and configuration".
const SPEC_MINIMAL = `clusters:
  - name: prod
    kubeconfig: /path/to/kubeconfig   # omit both for in-cluster
    context: prod-admin               # optional: the kubeconfig's current context
    channel: C0123PROD                # Slack channel id for this cluster's incidents
`;

describe('loadClustersFile', () => {
  it('accepts the SPEC minimal file and fills in every default', () => {
    const file = write('minimal.yaml', SPEC_MINIMAL);
    const config = loadClustersFile(file);
    expect(config.file).toBe(file);
    expect(config.clusters).toEqual([
      {
        name: 'prod',
        kubeconfig: '/path/to/kubeconfig',
        context: 'prod-admin',
        channel: 'C0123PROD',
        reports: 'channel',
        ignoreNamespaces: [],
        approvals: {
          approvers: { users: [], groups: [] },
          required: { low: 1, medium: 1, high: 2 },
          requesterMayApproveHighRisk: false,
          planTtlMinutes: 30,
        },
        paging: { notify: { users: [], groups: [], here: false }, escalation: [{ afterMinutes: 15 }] },
        limits: { diagnosesPerUserPerMinute: 3, diagnosesPerClusterPerMinute: 6 },
        remediation: { maxPodDeletes: 20, probeConcurrency: 10 },
        verification: { quietPeriodSeconds: 60 },
        backups: { schedule: '0 3 * * *', keep: 20 },
        source: { file, index: 0 },
      },
    ]);
  });

  it('resolves kubeconfig paths against the clusters file directory and expands ~; none means in-cluster', () => {
    const file = write(
      'paths.yaml',
      `clusters:
  - { name: a, kubeconfig: kube/a.yaml, channel: C0A }
  - { name: b, kubeconfig: ~/.kube/config, channel: C0B }
  - { name: c, channel: G0C }
`,
    );
    const [a, b, c] = loadClustersFile(file).clusters;
    expect(a.kubeconfig).toBe(join(dir, 'kube/a.yaml'));
    expect(b.kubeconfig).toBe(join(homedir(), '.kube/config'));
    expect(c.kubeconfig).toBeUndefined();
    expect(c.context).toBeUndefined();
  });

  it('keeps explicit approval policy, approvers (group handles without @) and limits', () => {
    const file = write(
      'full.yaml',
      `clusters:
  - name: staging
    kubeconfig: ./kc
    channel: C0456STG
    ignoreNamespaces: [kube-public, scratch]
    approvals:
      approvers: { users: [UALICE, UBOB], groups: ["@oncall", S0123ABCD] }
      required: { low: 1, medium: 2, high: 3 }
      requesterMayApproveHighRisk: true
      planTtlMinutes: 15
    remediation: { maxPodDeletes: 5, probeConcurrency: 3 }
`,
    );
    const [cluster] = loadClustersFile(file).clusters;
    expect(cluster.ignoreNamespaces).toEqual(['kube-public', 'scratch']);
    expect(cluster.approvals).toEqual({
      approvers: { users: ['UALICE', 'UBOB'], groups: ['oncall', 'S0123ABCD'] },
      required: { low: 1, medium: 2, high: 3 },
      requesterMayApproveHighRisk: true,
      planTtlMinutes: 15,
    });
    expect(cluster.remediation).toEqual({ maxPodDeletes: 5, probeConcurrency: 3 });
  });

  it('names file, line, field and reason of an unknown key, with a suggestion', () => {
    const file = write(
      'typo.yaml',
      `clusters:\n  - name: prod\n    channel: C0123PROD\n    ignoreNamespace: [x]\n`,
    );
    expect(problemsOf(file)).toEqual([
      {
        file,
        field: 'clusters[0].ignoreNamespace',
        message: 'unknown key (did you mean "ignoreNamespaces"?)',
        line: 4,
        column: 5,
      },
    ]);
  });

  it('rejects unknown keys at every level, top level included', () => {
    const file = write(
      'unknown.yaml',
      `clusterz: []\nclusters:\n  - name: prod\n    channel: C0123PROD\n    approvals: { approvers: { usres: [UALICE] } }\n    remediation: { foo: 1 }\n`,
    );
    expect(problemsOf(file).map((p) => `${p.field}: ${p.message}`)).toEqual([
      'clusterz: unknown key (did you mean "clusters"?)',
      'clusters[0].approvals.approvers.usres: unknown key (did you mean "users"?)',
      'clusters[0].remediation.foo: unknown key (allowed: maxPodDeletes, probeConcurrency)',
    ]);
  });

  it('explains a bad channel id, and that a #name is not an id', () => {
    const file = write(
      'channel.yaml',
      `clusters:\n  - name: prod\n    channel: "#prod"\n  - name: dev\n    channel: c0123dev\n`,
    );
    const problems = problemsOf(file);
    expect(problems.map((p) => [p.field, p.line])).toEqual([
      ['clusters[0].channel', 3],
      ['clusters[1].channel', 5],
    ]);
    expect(problems[0].message).toMatch(
      /^must be a Slack channel id like C0123PROD, got "#prod" \(this is a channel name/,
    );
    expect(problems[1].message).toBe('must be a Slack channel id like C0123PROD, got "c0123dev"');
  });

  it('reports a duplicate name alongside the other errors of the same file', () => {
    const file = write(
      'dupe.yaml',
      `clusters:\n  - name: prod\n    channel: C0123PROD\n  - name: prod\n    channel: C0999PROD\n  - name: Prod_2\n`,
    );
    expect(formatProblems(problemsOf(file)).split('\n')).toEqual([
      `${file}:4:11: clusters[1].name: duplicate cluster name "prod" (also clusters[0].name)`,
      `${file}:6:5: clusters[2].channel: required (expected string)`,
      `${file}:6:11: clusters[2].name: must be a lowercase DNS label (a-z, 0-9, "-", at most 63 characters, e.g. "prod")`,
    ]);
  });

  it('gives the line and column of a YAML syntax error', () => {
    const file = write('syntax.yaml', `clusters:\n  - name: prod\n    channel: [C0123PROD\n  - name: dev\n`);
    const problems = problemsOf(file);
    expect(problems[0]).toMatchObject({ file, field: '(syntax)', line: 4, column: 3 });
    expect(problems[0].message).toMatch(/^invalid YAML: /);
  });

  it('treats a repeated key as a YAML error', () => {
    const file = write(
      'repeat.yaml',
      `clusters:\n  - name: prod\n    channel: C0123PROD\n    channel: C0456PROD\n`,
    );
    const [problem] = problemsOf(file);
    expect(problem).toMatchObject({ file, field: '(syntax)', line: 4 });
    expect(problem.message).toMatch(/unique/);
  });

  it('says which value is off: counts, TTL, risk level counts vs listed approvers, context without kubeconfig', () => {
    const file = write(
      'values.yaml',
      `clusters:
  - name: prod
    channel: C0123PROD
    context: prod-admin
    approvals:
      approvers: { users: [UALICE], groups: [] }
      required: { high: 2 }
      planTtlMinutes: 0
    remediation: { probeConcurrency: 0 }
`,
    );
    expect(problemsOf(file).map((p) => `${p.field}: ${p.message}`)).toEqual([
      'clusters[0].context: context is set but kubeconfig is not: give the kubeconfig file too (omit both for in-cluster)',
      'clusters[0].approvals.required.high: 2 approvals required but only 1 approver(s) listed in approvals.approvers.users',
      'clusters[0].approvals.planTtlMinutes: must be at least 1',
      'clusters[0].remediation.probeConcurrency: must be at least 1',
    ]);
    // The default of 2 approvals for high risk counts too; a group lifts the check (its size is not known offline).
    const single = write(
      'values2.yaml',
      `clusters:\n  - name: prod\n    channel: C0123PROD\n    approvals: { approvers: { users: [UALICE] } }\n`,
    );
    expect(problemsOf(single).map((p) => p.field)).toEqual(['clusters[0].approvals.required.high']);
    const withGroup = write(
      'values3.yaml',
      `clusters:\n  - name: prod\n    channel: C0123PROD\n    approvals: { approvers: { users: [UALICE], groups: [oncall] } }\n`,
    );
    expect(loadClustersFile(withGroup).clusters[0].approvals.approvers.groups).toEqual(['oncall']);
  });

  it('reports a missing file, an empty file and an empty cluster list', () => {
    const missing = join(dir, 'nope.yaml');
    expect(problemsOf(missing)).toEqual([
      {
        file: missing,
        field: '(file)',
        message:
          'clusters file not found: write one (README.md, "clusters.yaml"), or point --clusters or FLANNEL_OPS_CLUSTERS at it',
      },
    ]);
    const empty = write('empty.yaml', '# nothing yet\n');
    expect(problemsOf(empty)).toEqual([{ file: empty, field: '(top level)', message: 'the file is empty' }]);
    const none = write('none.yaml', 'clusters: []\n');
    expect(problemsOf(none)).toEqual([
      { file: none, field: 'clusters', message: 'must list at least one entry', line: 1, column: 11 },
    ]);
  });
});

describe('parseClustersConfig and findCluster', () => {
  it('validates clusters given as data and finds them by name', () => {
    const config = parseClustersConfig(
      { clusters: [{ name: 'demo', channel: 'C0DEMO' }] },
      join(dir, 'inline.yaml'),
    );
    expect(findCluster(config, 'demo').channel).toBe('C0DEMO');
    expect(() => findCluster(config, 'prod')).toThrow(UserError);
    expect(() => findCluster(config, 'prod')).toThrow(/unknown cluster "prod" .*defines: demo/);
    expect(() => parseClustersConfig({ clusters: [{ name: 'demo' }] })).toThrow(
      /clusters\[0\]\.channel: required/,
    );
  });
});

describe('schedules and backups in clusters.yaml', () => {
  it('accepts a diagnosis schedule, a backup schedule or `off`, and a kept count', () => {
    const file = write(
      'schedules.yaml',
      `clusters:
  - name: prod
    channel: C0123PROD
    schedule: "*/30 * * * *"
    backups: { schedule: "@daily", keep: 5 }
  - name: staging
    channel: C0123STAGE
    backups: { schedule: "off" }
`,
    );
    const [prod, staging] = loadClustersFile(file).clusters;
    expect(prod.schedule).toBe('*/30 * * * *');
    expect(prod.backups).toEqual({ schedule: '@daily', keep: 5 });
    expect(staging.schedule).toBeUndefined();
    expect(staging.backups).toEqual({ schedule: 'off', keep: 20 });
  });

  it('names file, line and field of a bad cron expression, a too-frequent one and a bad count', () => {
    const file = write(
      'bad-schedules.yaml',
      `clusters:
  - name: prod
    channel: C0123PROD
    schedule: "every day"
    backups: { schedule: "* * * * *", keep: 0 }
`,
    );
    const problems = problemsOf(file);
    const byField = Object.fromEntries(problems.map((p) => [p.field, p]));
    expect(byField['clusters[0].schedule']).toMatchObject({ file, line: 4 });
    expect(byField['clusters[0].schedule'].message).toMatch(
      /must be a cron expression like "\*\/30 \* \* \* \*".*got "every day"/,
    );
    expect(byField['clusters[0].backups.schedule'].message).toMatch(
      /"\* \* \* \* \*" runs every 60 s; runs must be at least 5 minutes apart/,
    );
    expect(byField['clusters[0].backups.keep'].message).toMatch(/>=1|at least 1|too small/i);
  });
});
