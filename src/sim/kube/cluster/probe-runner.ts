import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeHost } from '../host/node-host.js';
import type { KubeObject, ObjectStore } from '../store.js';
import { type Container, nodeInternalIP, podSpec } from './objects.js';

/**
 * Runs a probe pod's container as a real process on this machine, with the pod's hostPath mounts
 * mapped into the simulated node's host tree (see src/sim/kube/README.md, "Probe pods"):
 *  - a per-pod "container root" directory holds, at each mountPath, a symlink to NodeHost.root + hostPath
 *    (configMap volumes become real files there, emptyDir an empty directory);
 *  - command, args, env values (and configMap file contents) that mention a mountPath at a word
 *    boundary are rewritten to point into the container root;
 *  - PATH starts with src/sim/kube/host/bin (the `ip` stand-in), FLANNEL_OPS_SIM_NODE_ROOT is the node root.
 */

export const PROBE_LABEL = 'app.kubernetes.io/name';
export const PROBE_LABEL_VALUE = 'flannel-ops-probe';
export const SIM_BIN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../host/bin');

export function isProbePod(pod: KubeObject): boolean {
  return pod.metadata.labels?.[PROBE_LABEL] === PROBE_LABEL_VALUE;
}

export interface ProbeExit {
  exitCode: number;
  /** Killed because activeDeadlineSeconds passed. */
  deadlineExceeded: boolean;
  startedAt: number;
  finishedAt: number;
}

export interface ProbeRun {
  readonly exited: Promise<ProbeExit>;
  kill(): void;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Rewrites each mountPath that appears as a path at a word boundary (pure). */
export function rewritePaths(text: string, mountPaths: string[], containerRoot: string): string {
  let out = text;
  for (const mp of [...mountPaths].sort((a, b) => b.length - a.length)) {
    if (mp === '/' || mp === '') continue;
    const re = new RegExp(`(^|[\\s'"=:;(,\`])${escapeRegExp(mp)}(?=$|[/\\s'"=:;),\`])`, 'g');
    out = out.replace(re, (_m, lead: string) => `${lead}${containerRoot}${mp}`);
  }
  return out;
}

export interface ProbeSetup {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

/** Builds the container root and the process's argv/env (I/O: creates directories and symlinks). */
export function prepareProbe(
  store: ObjectStore,
  pod: KubeObject,
  container: Container,
  host: NodeHost,
  containerRoot: string,
): ProbeSetup {
  const spec = podSpec(pod);
  const volumes = spec.volumes ?? [];
  const mounts = [...(container.volumeMounts ?? [])].sort((a, b) => a.mountPath.length - b.mountPath.length);
  const mountPaths = mounts.map((m) => m.mountPath);
  fs.mkdirSync(containerRoot, { recursive: true });
  for (const m of mounts) {
    const target = path.join(containerRoot, m.mountPath);
    // A mount inside another hostPath mount would land in the node tree itself: the outer one covers it.
    if (
      mounts.some(
        (o) =>
          o !== m && o.mountPath.length < m.mountPath.length && m.mountPath.startsWith(o.mountPath + '/'),
      )
    )
      continue;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const v = volumes.find((x) => x.name === m.name);
    if (v?.hostPath) {
      const real = host.hostPath(path.posix.join(v.hostPath.path, m.subPath ?? ''));
      if (!fs.existsSync(real) && v.hostPath.type === 'DirectoryOrCreate')
        fs.mkdirSync(real, { recursive: true });
      fs.symlinkSync(real, target);
    } else if (v?.configMap) {
      fs.mkdirSync(target, { recursive: true });
      const cm = store.get('ConfigMap', pod.metadata.namespace, v.configMap.name);
      const data = (cm?.data ?? {}) as Record<string, string>;
      const items = v.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items) {
        if (data[item.key] === undefined) continue;
        const file = path.join(target, item.path);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, rewritePaths(data[item.key], mountPaths, containerRoot), { mode: 0o755 });
      }
    } else {
      fs.mkdirSync(target, { recursive: true });
    }
  }
  const node = store.get('Node', undefined, host.name);
  const fieldValue = (fieldPath: string | undefined): string => {
    switch (fieldPath) {
      case 'spec.nodeName':
        return host.name;
      case 'metadata.name':
        return pod.metadata.name;
      case 'metadata.namespace':
        return pod.metadata.namespace ?? 'default';
      case 'metadata.uid':
        return pod.metadata.uid ?? '';
      case 'status.hostIP':
      case 'status.podIP':
        return node ? nodeInternalIP(node) : '';
      default:
        return '';
    }
  };
  const env: Record<string, string> = {
    PATH: `${SIM_BIN_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOSTNAME: host.name,
    HOME: containerRoot,
    FLANNEL_OPS_SIM_NODE_ROOT: host.root,
  };
  for (const e of container.env ?? []) {
    const value = e.value ?? fieldValue(e.valueFrom?.fieldRef?.fieldPath);
    env[e.name] = rewritePaths(value, mountPaths, containerRoot);
  }
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a) =>
    rewritePaths(a, mountPaths, containerRoot),
  );
  return { argv, env, cwd: containerRoot };
}

/** Starts the process; output goes to `onOutput` as it arrives. */
export function runProbe(
  setup: ProbeSetup,
  deadlineMs: number | undefined,
  onOutput: (text: string, stream: 'stdout' | 'stderr') => void,
): ProbeRun {
  const startedAt = Date.now();
  if (setup.argv.length === 0) {
    onOutput('error: container has no command (the simulator cannot run an image entrypoint)\n', 'stderr');
    return {
      exited: Promise.resolve({ exitCode: 128, deadlineExceeded: false, startedAt, finishedAt: Date.now() }),
      kill() {},
    };
  }
  const child = spawn(setup.argv[0], setup.argv.slice(1), {
    cwd: setup.cwd,
    env: setup.env,
    detached: true, // own process group, so a deadline kills the whole pipeline
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.setEncoding('utf8').on('data', (text: string) => onOutput(text, 'stdout'));
  child.stderr.setEncoding('utf8').on('data', (text: string) => onOutput(text, 'stderr'));
  let deadlineExceeded = false;
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const timer =
    deadlineMs !== undefined
      ? setTimeout(() => {
          deadlineExceeded = true;
          killGroup();
        }, deadlineMs)
      : undefined;
  const exited = new Promise<ProbeExit>((resolve) => {
    let done = false;
    const finish = (exitCode: number) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      resolve({ exitCode, deadlineExceeded, startedAt, finishedAt: Date.now() });
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      onOutput(
        `exec ${setup.argv[0]}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}\n`,
        'stderr',
      );
      finish(err.code === 'ENOENT' ? 127 : 126);
    });
    child.on('close', (code, signal) => finish(code ?? (signal === 'SIGKILL' ? 137 : 143)));
  });
  return { exited, kill: killGroup };
}
