/**
 * deploy/Dockerfile, without Docker (this machine has no engine and no registry): the test reads the
 * Dockerfile, performs its build steps stage by stage in clean directories (a directory per stage stands for
 * its WORKDIR; COPY copies from the repository or the named stage; RUN runs in a shell there), then starts
 * the runtime stage as the image would: its ENTRYPOINT + CMD (tini, then `node bin/flannel-ops.js run`), its
 * ENV, as its USER when this test runs as root, with nothing of the repository beside it.
 *
 * Performed for real: `npm ci --omit=dev` of the runtime stage (from the npm registry, with a private npm
 * cache), `npm run build` and the asset copy of the build stage, every COPY. Two stand-ins, said here
 * plainly: the build stage's `npm ci` (all dependencies, needed only to compile) is this repository's
 * node_modules, which `npm ci` made from the same package-lock.json; and `apt-get install` steps are not
 * run: the package they install must be on this machine (tini: `apt-get install tini`), at the path the
 * ENTRYPOINT names.
 *
 * The started image must: print its version, run against the Kubernetes simulator and the Slack emulator
 * (HTTP mode), answer /healthz and /readyz, open the incident of the scenario in Slack and diagnose it (the
 * Lua scripts, runbooks and the probe script found from dist/), write nothing in its own files, and exit 0
 * on SIGTERM sent to PID 1 (tini), as Kubernetes does on a pod's deletion.
 *
 * SLOW: about 2-3 minutes (the TypeScript build and a production npm install); it needs the npm registry.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative } from 'node:path';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import { startSlackEmulator, type SlackEmulator } from '../../src/sim/slack/index.js';
import { freePort } from '../../src/util/net.js';
import { ROOT } from '../helpers/bot-process.js';
import { deleteKeys, TEST_REDIS_URL, testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const DOCKERFILE = join(ROOT, 'deploy/Dockerfile');
const SECRET = 'deploy-image-signing-secret';
const BOT_TOKEN = 'xoxb-deploy-image';
const PREFIX = `t-image-${randomUUID().slice(0, 8)}`;
const CHANNEL = 'C0DEMO';
const { version: VERSION } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
};

// ---- a Dockerfile, read and performed -------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}

/** Instructions in order: comments and blank lines dropped, `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (pending && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const space = full.search(/\s/);
    out.push({ op: full.slice(0, space).toUpperCase(), args: full.slice(space + 1).trim() });
  }
  return out;
}

interface Stage {
  name: string;
  image: string;
  /** The host directory that stands for the stage's WORKDIR. */
  dir: string;
  workdir?: string;
  env: Record<string, string>;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  exposed: string[];
  /** RUN steps not performed (system packages), for the test to check. */
  systemPackages: string[];
}

interface Build {
  stages: Stage[];
  runtime: Stage;
  log: string[];
}

function run(
  command: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { ...opts, timeout: 300_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Variables in `${NAME}` form, from the ARGs declared before the first FROM. */
function substitute(text: string, args: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? '');
}

/** A path inside the stage's filesystem, as a host path (only under its WORKDIR). */
function hostPath(stage: Stage, path: string): string {
  if (!stage.workdir) throw new Error(`stage ${stage.name}: COPY/RUN before WORKDIR`);
  const abs = posix.resolve(stage.workdir, path);
  const rel = posix.relative(stage.workdir, abs);
  if (rel.startsWith('..'))
    throw new Error(`stage ${stage.name}: ${path} is outside WORKDIR ${stage.workdir}`);
  return join(stage.dir, rel);
}

async function performDockerfile(workDir: string): Promise<Build> {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  const log: string[] = [];
  const npmCache = join(workDir, 'npm-cache');
  for (const { op, args: rest } of parseDockerfile(readFileSync(DOCKERFILE, 'utf8'))) {
    const stage = stages.at(-1);
    if (op === 'ARG') {
      const [name, value = ''] = rest.split('=');
      args[name] = value;
      continue;
    }
    if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(substitute(rest, args));
      if (!m) throw new Error(`FROM ${rest}: not understood`);
      const dir = join(workDir, `stage-${stages.length}-${m[2] ?? 'unnamed'}`);
      mkdirSync(dir, { mode: 0o755 });
      stages.push({
        name: m[2] ?? String(stages.length),
        image: m[1],
        dir,
        env: {},
        exposed: [],
        systemPackages: [],
      });
      continue;
    }
    if (!stage) throw new Error(`${op} before FROM`);
    switch (op) {
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir ?? '/', rest);
        break;
      case 'ENV':
        for (const m of rest.matchAll(/(\w+)=("[^"]*"|\S+)/g)) stage.env[m[1]] = m[2].replace(/^"|"$/g, '');
        break;
      case 'USER':
        stage.user = rest;
        break;
      case 'EXPOSE':
        stage.exposed.push(...rest.split(/\s+/));
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = JSON.parse(rest) as string[];
        break;
      case 'CMD':
        stage.cmd = JSON.parse(rest) as string[];
        break;
      case 'COPY': {
        const words = rest.split(/\s+/);
        const from = words[0].startsWith('--from=') ? words.shift()!.slice('--from='.length) : undefined;
        const dest = words.pop()!;
        const source = from === undefined ? undefined : stages.find((s) => s.name === from);
        if (from !== undefined && !source) throw new Error(`COPY --from=${from}: no such stage`);
        for (const src of words) {
          const origin = source ? hostPath(source, src) : join(ROOT, src);
          const target =
            dest.endsWith('/') || words.length > 1
              ? join(hostPath(stage, dest), basename(src))
              : hostPath(stage, dest);
          mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
          cpSync(origin, target, { recursive: true, dereference: false });
          log.push(`${stage.name}: COPY ${from ? `--from=${from} ` : ''}${src} -> ${dest}`);
        }
        break;
      }
      case 'RUN': {
        if (/^apt-get\b/.test(rest)) {
          const install = /apt-get install\s+((?:-\S+\s+)*)([^&]+)/.exec(rest);
          stage.systemPackages.push(...(install?.[2].trim().split(/\s+/) ?? []));
          log.push(`${stage.name}: RUN ${rest} (not performed: system packages)`);
          break;
        }
        const cwd = hostPath(stage, '.');
        if (/^npm ci\b/.test(rest) && !/--omit=dev/.test(rest)) {
          // The build stage's full install: this repository's node_modules, from the same lock file.
          expect(readFileSync(join(cwd, 'package-lock.json'), 'utf8')).toBe(
            readFileSync(join(ROOT, 'package-lock.json'), 'utf8'),
          );
          symlinkSync(join(ROOT, 'node_modules'), join(cwd, 'node_modules'));
          log.push(`${stage.name}: RUN ${rest} (the repository's node_modules)`);
          break;
        }
        const result = await run('/bin/sh', ['-c', rest], {
          cwd,
          env: {
            PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
            HOME: join(workDir, 'home'),
            npm_config_cache: npmCache,
            npm_config_update_notifier: 'false',
            ...stage.env,
          },
        });
        log.push(`${stage.name}: RUN ${rest} -> exit ${result.code}`);
        if (result.code !== 0)
          throw new Error(
            `RUN ${rest} failed (${result.code}):\n${result.stdout}\n${result.stderr}`.slice(-4000),
          );
        break;
      }
      default:
        throw new Error(`Dockerfile instruction ${op} is not understood by this test`);
    }
  }
  return { stages, runtime: stages.at(-1)!, log };
}

/** Every file under dir (relative paths), node_modules excluded. */
function filesUnder(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.name === 'node_modules') return [];
    return e.isDirectory() ? filesUnder(path, base) : [relative(base, path)];
  });
}

// ---- the test -------------------------------------------------------------------------------------------

const workDir = mkdtempSync(join(tmpdir(), 'deploy-image-'));
let build: Build;
let app: string;
let sim: Simulator;
let slack: SlackEmulator;
let configDir: string;

/** The image's process: ENTRYPOINT + CMD (or `cmd`), its ENV plus `env`, as its USER when we are root. */
function startImage(cmd: string[] | undefined, env: Record<string, string>) {
  const { runtime } = build;
  const argv = [...runtime.entrypoint!, ...(cmd ?? runtime.cmd ?? [])];
  const [uid, gid] = (runtime.user ?? '').split(':').map(Number);
  const asUser = process.getuid?.() === 0 && Number.isInteger(uid);
  const child = spawn(argv[0], argv.slice(1), {
    cwd: app,
    env: {
      // node is on the image's PATH; here it is this Node.
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      HOME: '/nonexistent',
      ...runtime.env,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(asUser && { uid, gid: Number.isInteger(gid) ? gid : uid }),
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((done) =>
    child.once('exit', (code, signal) => done(code ?? signal ?? 'unknown')),
  );
  return { child, exited, stdout: () => out, stderr: () => err, asUser };
}

beforeAll(async () => {
  if (!existsSync(DOCKERFILE)) throw new Error(`${DOCKERFILE} is missing`);
  try {
    accessSync('/usr/bin/tini', constants.X_OK);
  } catch {
    throw new Error('/usr/bin/tini is missing: apt-get install tini (the image installs the same package)');
  }
  chmodSync(workDir, 0o755);
  build = await performDockerfile(workDir);
  app = hostPath(build.runtime, '.');
  sim = await startSimulator({ scenario: 'flannel-missing', port: 0, onError: () => undefined });
  slack = await startSlackEmulator({ port: 0, signingSecret: SECRET, botToken: BOT_TOKEN });
  // What the Deployment mounts: the clusters file and a kubeconfig, readable by the image's user.
  configDir = join(workDir, 'etc-flannel-ops');
  mkdirSync(configDir, { mode: 0o755 });
  writeFileSync(join(configDir, 'sim.kubeconfig'), readFileSync(sim.kubeconfigPath), { mode: 0o644 });
  writeFileSync(
    join(configDir, 'clusters.yaml'),
    `clusters:\n  - name: image\n    kubeconfig: sim.kubeconfig\n    channel: ${CHANNEL}\n`,
    { mode: 0o644 },
  );
}, 600_000);

afterAll(async () => {
  await slack?.close();
  await sim?.stop();
  const redis = testRedis();
  await deleteKeys(redis, PREFIX);
  await redis.quit();
  rmSync(workDir, { recursive: true, force: true });
});

describe('deploy/Dockerfile (SLOW: builds and installs for real)', () => {
  it('is multi-stage: the runtime stage holds production dependencies, dist/ and the runbooks, no sources and no tsx', () => {
    expect(build.stages.length).toBeGreaterThanOrEqual(2);
    const { runtime } = build;
    expect(runtime.env.FLANNEL_OPS_COMPILED).toBe('1');
    expect(runtime.env.NODE_ENV).toBe('production');
    // Production dependencies only: the dev-time tools are not installed (tsx would compile at start-up).
    // (typescript may be there: valibot, under @bull-board/api, lists it as an optional peer dependency, and npm
    // installs it. Nothing loads it: dist/ is plain JavaScript, and the run below works without tsx.)
    for (const devOnly of ['tsx', 'ts-jest', 'jest', 'eslint', 'prettier', 'playwright-core', '@types/jest'])
      expect({ devOnly, present: existsSync(join(app, 'node_modules', devOnly)) }).toEqual({
        devOnly,
        present: false,
      });
    for (const dep of ['@slack/bolt', '@kubernetes/client-node', 'bullmq', 'ioredis', 'zod'])
      expect({ dep, present: existsSync(join(app, 'node_modules', dep, 'package.json')) }).toEqual({
        dep,
        present: true,
      });
    // No TypeScript sources: the compiled build, with the Lua scripts and the probe script beside it.
    const files = filesUnder(app);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(existsSync(join(app, 'src'))).toBe(false);
    expect(files).toContain('dist/src/cli/main.js');
    expect(files).toContain('dist/src/incidents/lua/record-signals.lua');
    expect(files).toContain('dist/src/checks/probe/flannel-probe.sh');
    expect(files).toContain('runbooks/flannel.yaml');
    // Not root; numeric, so Kubernetes can verify runAsNonRoot.
    expect(runtime.user).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(runtime.exposed).toContain('3000');
  });

  it('has a real init as PID 1: tini, installed by the runtime stage', () => {
    const { runtime } = build;
    expect(runtime.entrypoint?.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    expect(runtime.systemPackages).toContain('tini');
    // The one step this test does not perform: the package must be here instead.
    try {
      accessSync('/usr/bin/tini', constants.X_OK);
    } catch {
      throw new Error('/usr/bin/tini is missing: apt-get install tini (the image installs the same package)');
    }
  });

  it('prints its version, and without FLANNEL_OPS_COMPILED says why it cannot run the sources', async () => {
    const version = startImage(['--version'], {});
    expect(await version.exited).toBe(0);
    expect(version.stdout()).toBe(`${VERSION}\n`);

    const sources = startImage(['--version'], { FLANNEL_OPS_COMPILED: '' });
    expect(await sources.exited).toBe(2);
    expect(sources.stderr()).toMatch(/tsx is not installed .*FLANNEL_OPS_COMPILED=1/);
  }, 60_000);

  it('runs the bot: healthy and ready, opens and diagnoses the incident, writes nothing of its own, exits 0 on SIGTERM', async () => {
    const before = filesUnder(app).map((f) => `${f} ${statSync(join(app, f)).mtimeMs}`);
    const port = await freePort();
    const bot = startImage(undefined, {
      FLANNEL_OPS_CLUSTERS: join(configDir, 'clusters.yaml'),
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_MODE: 'http',
      SLACK_API_URL: slack.apiUrl,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      REDIS_URL: TEST_REDIS_URL,
      FLANNEL_OPS_KEY_PREFIX: PREFIX,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    });
    let ended = false;
    void bot.exited.then(() => (ended = true));
    const alive = () => {
      if (ended) throw new Error(`the image exited; stderr:\n${bot.stderr().slice(-3000)}`);
    };
    try {
      for (const path of ['/healthz', '/readyz']) {
        await waitFor(
          `${path} to answer 200`,
          async () => {
            alive();
            return (await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined))?.status === 200;
          },
          { timeoutMs: 90_000, intervalMs: 250 },
        );
      }
      // The scenario's incident, diagnosed: runbooks, Lua scripts and the node probe script all came from
      // the image (the verdict needs the probe pods' reports).
      const thread = await waitFor(
        'the incident thread with its verdict',
        () => {
          alive();
          const replies = slack.messages(CHANNEL)[0]?.replies ?? [];
          const verdict = replies.find((r) => /^Verdict for image: Flannel is not deployed/.test(r.text));
          return verdict ? JSON.stringify(replies) : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      // Evidence only the probe pods on the nodes give (the probe script, read from dist/).
      expect(thread).toContain('ls /etc/cni/net.d: no .conf/.conflist/.json file');
    } finally {
      // Kubernetes stops a container with SIGTERM to its PID 1: tini, which passes it on to Node.
      bot.child.kill('SIGTERM');
    }
    expect(await bot.exited).toBe(0);
    expect(bot.stderr()).toMatch(/shutting down/);
    expect(bot.stderr()).not.toMatch(/internal error|\n\s+at /);
    // A read-only root filesystem is enough: nothing in the image's files was written or added.
    expect(filesUnder(app).map((f) => `${f} ${statSync(join(app, f)).mtimeMs}`)).toEqual(before);
  }, 300_000);
});
