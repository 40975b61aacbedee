/**
 * What the bot loads: client-node's package index (every typed API and model, ~50 MB once loaded, and a model
 * object for every item of every list) is not needed to start, watch or diagnose (kube/lean-api.ts); only a
 * remediation's patch loads it. A stray `import ... from '@kubernetes/client-node'` in the start-up graph, or a
 * typed call in the diagnosis, silently undoes that; these tests record every module resolved, importing the CLI
 * as `bin/flannel-ops.js` does (its module hook included) and running a real diagnosis.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { BIN, ROOT } from '../helpers/bot-process.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { startSimulator } from '../../src/sim/kube/simulator.js';

/** A module hook that appends every resolved URL to `log`. */
function writeRecorder(dir: string, log: string): string {
  const recorder = join(dir, 'recorder.mjs');
  writeFileSync(
    recorder,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}
`,
  );
  writeFileSync(log, '');
  return recorder;
}

/** Imports `entry` the way bin/flannel-ops.js does (tsx on the sources) and returns every URL resolved. */
function modulesLoadedBy(entry: string, env: Record<string, string> = {}): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'flannel-ops-imports-'));
  try {
    const log = join(dir, 'resolved.txt');
    const recorder = writeRecorder(dir, log);
    const script = `
import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(recorder).href)});
if (process.env.FLANNEL_OPS_FULL_KUBE_INDEX !== '1')
  register('./bin/kube-config-hooks.mjs', ${JSON.stringify(pathToFileURL(ROOT + '/').href)});
const { register: tsx } = await import('tsx/esm/api');
tsx();
await import(${JSON.stringify(pathToFileURL(join(ROOT, entry)).href)});
`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (run.status !== 0) throw new Error(`import of ${entry} failed:\n${run.stderr}`);
    return readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const isKubeIndex = (url: string) => /\/@kubernetes\/client-node\/dist\/(index|gen\/index)\.js$/.test(url);

describe('what the bot loads at start-up', () => {
  test("the CLI and the bot load neither client-node's index nor its generated API index", () => {
    const urls = [...modulesLoadedBy('src/cli/main.ts'), ...modulesLoadedBy('src/bot/start-bot.ts')];
    // The recorder saw the graph: the KubeConfig class is loaded (the watch path needs it).
    expect(urls.some((u) => u.endsWith('/@kubernetes/client-node/dist/config.js'))).toBe(true);
    expect(urls.filter(isKubeIndex)).toEqual([]);
  });

  test('a whole diagnosis (API checks and probe pods on every affected node) reads the cluster without it', async () => {
    const sim = await startSimulator({ scenario: 'flannel-missing', port: 0, onError: () => undefined });
    const dir = mkdtempSync(join(tmpdir(), 'flannel-ops-imports-'));
    try {
      await sim.settle();
      const log = join(dir, 'resolved.txt');
      const register = join(dir, 'register.mjs');
      writeFileSync(
        register,
        `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(writeRecorder(dir, log)).href)});\n`,
      );
      writeFileSync(
        join(dir, 'clusters.yaml'),
        `clusters:\n  - name: broken\n    kubeconfig: ${sim.kubeconfigPath}\n    channel: C0123BROKEN\n`,
      );
      // Not spawnSync: the simulator answers from this process.
      const run = await promisify(execFile)(
        process.execPath,
        [BIN, 'diagnose', 'broken', '--clusters', join(dir, 'clusters.yaml')],
        {
          cwd: dir,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: dir,
            REDIS_URL: TEST_REDIS_URL,
            FLANNEL_OPS_KEY_PREFIX: `t-imports-${randomUUID()}`,
            NODE_OPTIONS: `--import=${pathToFileURL(register).href}`,
          },
          timeout: 120_000,
        },
      ).catch((err: { stdout?: string; stderr?: string }) => ({
        stdout: err.stdout ?? '',
        stderr: err.stderr ?? '',
      }));
      // The diagnosis ran to its verdict, probe pods included, and found what the simulator broke.
      expect(`${run.stdout}\n${run.stderr}`).toMatch(/flannel-not-deployed/);
      // Probe pods ran on the nodes and their findings are in the report.
      expect(run.stdout).toMatch(/Probed nodes: .*worker-1/);
      expect(run.stdout).toMatch(/node-cni-plugins .*missing from \/opt\/cni\/bin: flannel/);
      const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      expect(urls.some((u) => u.includes('/src/diagnosis/'))).toBe(true);
      expect(urls.filter(isKubeIndex)).toEqual([]);
    } finally {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the recorder would notice: with the hook off, config.js pulls in the generated index', () => {
    const urls = modulesLoadedBy('src/kube/kubeconfig.ts', { FLANNEL_OPS_FULL_KUBE_INDEX: '1' });
    expect(urls.filter(isKubeIndex).length).toBeGreaterThan(0);
  });
});
