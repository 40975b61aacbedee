/**
 * How an action pod's `nsenter -t 1 -m ... -- CMD` reaches the simulated node's files without any
 * privilege (see src/sim/kube/README.md, "Action pods"). Pure string work:
 *
 *  1. The kubelet rewrites the container's command: every absolute path under the node-state
 *     directories (/etc, /opt, /run, /var) gets the pod's container root in front, and absolute paths of
 *     the node tools (ip, nsenter, systemctl, crictl) point at the simulator's stand-ins. Outside nsenter
 *     the container therefore sees its own (empty) filesystem, never this machine's /var/lib/cni or /run.
 *  2. The nsenter stand-in (./bin/nsenter) swaps the container root for the node root in CMD's argv: the
 *     host script's `/var/lib/cni/...` now names `<node root>/var/lib/cni/...`.
 *  3. What the pod prints goes through `unmapRoots`, so its log shows `/var/lib/cni/...` as on a real node.
 */

/** Top-level directories whose content is node state; everything else (/bin, /usr, /dev, /proc, /tmp) stays this machine's. */
export const NODE_STATE_DIRS = ['/etc', '/opt', '/run', '/var'] as const;

/** Node tools the simulator replaces, and whether they exist only on the host (after nsenter -m). */
export const STAND_IN_TOOLS = {
  ip: 'container',
  nsenter: 'container',
  systemctl: 'host',
  crictl: 'host',
} as const;
export type StandInTool = keyof typeof STAND_IN_TOOLS;

/** Roots are spliced into shell text and sed expressions, so they must be plain path characters. */
const SAFE_ROOT = /^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/;

export function isSafeRoot(root: string): boolean {
  return SAFE_ROOT.test(root) && !root.split('/').includes('..');
}

// A path starts at the beginning or after anything that cannot continue a word of a path or end an
// expansion: `x/var`, `./var`, `~/var`, `${d}/var` and `$(pwd)/var` are relative to something else.
const LEAD = String.raw`(?<![A-Za-z0-9_.~/$})\]])`;
// ...and the name must end there: `/var` or `/var/...`, not `/variable` or `/run-x`.
const TAIL = String.raw`(?=$|[^A-Za-z0-9_.-])`;
const TOOL_RE = String.raw`(?:/usr)?(?:/local)?/s?bin/(${Object.keys(STAND_IN_TOOLS).join('|')})`;
const DIR_RE = `(${NODE_STATE_DIRS.join('|')})`;
const CONTAINER_PATH = new RegExp(`${LEAD}(?:${TOOL_RE}|${DIR_RE})${TAIL}`, 'g');

export interface StandInDirs {
  /** Tools a container sees (ip, nsenter). */
  containerBin: string;
  /** Tools only the host has (systemctl, crictl). */
  hostBin: string;
}

/**
 * Rewrites a container command (or env value) for an action pod: `/var/lib/cni` becomes
 * `<containerRoot>/var/lib/cni`, `/usr/sbin/ip` becomes the ip stand-in. One pass, so replaced text is
 * never rewritten again (roots may themselves live under /var).
 */
export function rewriteContainerPaths(text: string, containerRoot: string, bins: StandInDirs): string {
  return text.replace(CONTAINER_PATH, (_m, tool: string | undefined, dir: string | undefined) => {
    if (tool) {
      const where = STAND_IN_TOOLS[tool as StandInTool] === 'host' ? bins.hostBin : bins.containerBin;
      return `${where}/${tool}`;
    }
    return `${containerRoot}${dir}`;
  });
}

/**
 * Maps the simulator's directories back to what the pod would print on a real node: `<root>/x` → `/x`
 * and a bare `<root>` → `/`. Roots must be isSafeRoot (no regex metacharacters but `.`).
 */
export function unmapRoots(text: string, roots: readonly string[]): string {
  let out = text;
  for (const root of [...roots].sort((a, b) => b.length - a.length)) {
    const re = new RegExp(`${root.replace(/\./g, '\\.')}(?:/|${TAIL})`, 'g');
    out = out.replace(re, '/');
  }
  return out;
}

/**
 * Unmaps a process's output line by line, so a root split across two chunks is still recognised.
 * `push` returns what can be written now; `flush` the rest at exit.
 */
export class LineUnmapper {
  private pending = '';

  constructor(private readonly roots: readonly string[]) {}

  push(chunk: string): string {
    const text = this.pending + chunk;
    const cut = text.lastIndexOf('\n') + 1;
    this.pending = text.slice(cut);
    return cut > 0 ? unmapRoots(text.slice(0, cut), this.roots) : '';
  }

  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest ? unmapRoots(rest, this.roots) : '';
  }
}
