/**
 * Throwaway Redis topologies beyond one server, as real processes on free local ports in a temp dir:
 * a 3-master Redis Cluster (`redis-server --cluster-enabled yes` ×3 + `redis-cli --cluster create`) and a
 * Sentinel set-up (a master, a replica and one Sentinel). Nothing is persisted; stop() kills and removes all.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './wait.js';

export interface RedisTopology {
  /** REDIS_URL for the bot (redis+cluster:// or redis+sentinel://). */
  url: string;
  /** The plain redis:// URL of every data node (masters first). */
  nodes: string[];
  processes: ChildProcess[];
  stop(): Promise<void>;
}

function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Fails with the command that installs what is missing, instead of an obscure spawn error. */
export function assertRedisBinaries(): void {
  const missing = ['redis-server', 'redis-cli'].filter((b) => !onPath(b));
  if (missing.length > 0) {
    throw new Error(
      `these tests start their own Redis Cluster and Sentinel and need ${missing.join(' and ')} on PATH: ` +
        'apt-get install redis-server redis-tools',
    );
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` free ports whose cluster-bus twins (port + 10000) are free too. */
async function freePorts(count: number, withBus: boolean): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20000 + Math.floor(Math.random() * 9000);
    if (ports.includes(port) || (withBus && ports.includes(port + 10000))) continue;
    if (!(await portFree(port)) || (withBus && !(await portFree(port + 10000)))) continue;
    ports.push(port);
  }
  return ports;
}

function startServer(dir: string, args: string[]): ChildProcess {
  const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.once('exit', (code) => {
    if (code) process.stderr.write(`redis-server ${args.join(' ')} exited ${code}:\n${output}\n`);
  });
  return child;
}

async function untilPing(port: number): Promise<void> {
  await waitFor(`redis-server on port ${port}`, async () => {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } finally {
      client.disconnect();
    }
  });
}

async function stopAll(processes: ChildProcess[], dir: string): Promise<void> {
  await Promise.all(
    processes.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
}

const NO_PERSISTENCE = ['--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'];

/** Three masters, no replicas, every slot covered; resolves once cluster_state:ok on every node. */
export async function startRedisCluster(): Promise<RedisTopology> {
  assertRedisBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
  const ports = await freePorts(3, true);
  const processes = ports.map((port) =>
    startServer(dir, [
      '--port',
      String(port),
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--dir',
      dir,
      ...NO_PERSISTENCE,
    ]),
  );
  try {
    await Promise.all(ports.map(untilPing));
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    for (const port of ports) {
      await waitFor(
        `cluster_state:ok on ${port}`,
        async () => {
          const client = new Redis({ port, host: '127.0.0.1' });
          try {
            return /cluster_state:ok/.test(String(await client.call('CLUSTER', 'INFO')));
          } finally {
            client.disconnect();
          }
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    }
  } catch (err) {
    await stopAll(processes, dir);
    throw err;
  }
  return {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    nodes: ports.map((p) => `redis://127.0.0.1:${p}`),
    processes,
    stop: () => stopAll(processes, dir),
  };
}

/** A master, a replica of it and one Sentinel (quorum 1) watching them as `mymaster`. */
export async function startRedisSentinel(
  masterName = 'mymaster',
): Promise<RedisTopology & { sentinelPort: number }> {
  assertRedisBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'redis-sentinel-'));
  const [master, replica, sentinel] = await freePorts(3, false);
  const processes = [
    startServer(dir, ['--port', String(master), '--dir', dir, ...NO_PERSISTENCE]),
    startServer(dir, [
      '--port',
      String(replica),
      '--dir',
      dir,
      '--replicaof',
      '127.0.0.1',
      String(master),
      ...NO_PERSISTENCE,
    ]),
  ];
  try {
    await Promise.all([master, replica].map(untilPing));
    // Sentinel rewrites its config file: it must be writable and its own.
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${sentinel}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${master} 1`,
        `sentinel down-after-milliseconds ${masterName} 1000`,
        `sentinel failover-timeout ${masterName} 5000`,
        '',
      ].join('\n'),
    );
    processes.push(startServer(dir, [conf, '--sentinel']));
    // The Sentinel learns of replicas from the master's INFO, every 10 s: until it lists the replica as up, a
    // master that dies is never replaced (a failover test would wait for a promotion that cannot happen).
    await waitFor(
      'the Sentinel to know the master and its replica',
      async () => {
        const client = new Redis({
          port: sentinel,
          host: '127.0.0.1',
          lazyConnect: true,
          retryStrategy: () => null,
        });
        client.on('error', () => undefined);
        try {
          await client.connect();
          const addr = (await client.call('SENTINEL', 'get-master-addr-by-name', masterName)) as
            string[] | null;
          if (addr?.[1] !== String(master)) return false;
          const replicas = (await client.call('SENTINEL', 'replicas', masterName)) as string[][];
          return replicas.some((fields) => {
            const info = new Map<string, string>();
            for (let i = 0; i + 1 < fields.length; i += 2) info.set(fields[i], fields[i + 1]);
            return (
              info.get('port') === String(replica) &&
              info.get('flags') === 'slave' &&
              info.get('master-link-status') === 'ok'
            );
          });
        } finally {
          client.disconnect();
        }
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  } catch (err) {
    await stopAll(processes, dir);
    throw err;
  }
  return {
    url: `redis+sentinel://127.0.0.1:${sentinel}/${masterName}`,
    nodes: [`redis://127.0.0.1:${master}`, `redis://127.0.0.1:${replica}`],
    sentinelPort: sentinel,
    processes,
    stop: () => stopAll(processes, dir),
  };
}
