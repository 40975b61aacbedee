/**
 * The node tools an action pod's host script runs that need the simulator's in-memory state:
 * `crictl` (the runtime's sandboxes), `systemctl` (the kubelet unit) and `ip link delete` (devices).
 * Pure: given the command line and a view of the node, the output and the effect to apply. The stand-ins
 * in ./node-bin and ./bin/ip forward their argv here through the node agent (cluster/node-agent.ts).
 */
import type { Device, Runtime } from '../scenario/schema.js';
import { byCreatedDesc, type CriSandbox, humanDuration, inspectSandbox } from './cri.js';

export const NODE_TOOLS = ['crictl', 'systemctl', 'ip'] as const;
export type NodeTool = (typeof NODE_TOOLS)[number];

export interface ToolResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export type NodeEffect = { kind: 'restart-kubelet' } | { kind: 'delete-link'; name: string };

export interface NodeView {
  runtime: Runtime;
  devices: readonly Device[];
  sandboxes: readonly CriSandbox[];
  /** Prefix for host paths the tools print (the node root as the calling process sees it, or ''). */
  pathPrefix: string;
  /** For crictl's CREATED column. */
  now: number;
}

export interface ToolOutcome {
  result: ToolResult;
  effect?: NodeEffect;
}

const ok = (stdout = ''): ToolOutcome => ({ result: { stdout, stderr: '', exitCode: 0 } });
const fail = (stderr: string, exitCode = 1): ToolOutcome => ({
  result: { stdout: '', stderr: stderr.endsWith('\n') ? stderr : `${stderr}\n`, exitCode },
});

export function runNodeTool(tool: NodeTool, args: readonly string[], view: NodeView): ToolOutcome {
  if (tool === 'crictl') return crictl(args, view);
  if (tool === 'systemctl') return systemctl(args, view.runtime);
  return ipLink(args, view.devices);
}

// ---- crictl ------------------------------------------------------------------------------------

/** crictl logs fatal errors through logrus; without a terminal that is key=value text. */
function crictlFatal(message: string, now: number): ToolOutcome {
  const msg = message.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return fail(`time="${new Date(now).toISOString()}" level=fatal msg="${msg}"`);
}

interface ParsedFlags {
  flags: Map<string, string | true>;
  positional: string[];
  error?: string;
}

/** urfave/cli style: `--name value`, `--name=value`, `-q`; `valued` lists the flags that take a value. */
function parseFlags(args: readonly string[], valued: Set<string>, bool: Set<string>): ParsedFlags {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    const [rawName, inline] = a.replace(/^--?/, '').split(/=(.*)/s, 2);
    if (valued.has(rawName)) {
      const value = inline ?? args[++i];
      if (value === undefined) return { flags, positional, error: `flag needs an argument: -${rawName}` };
      flags.set(rawName, value);
    } else if (bool.has(rawName)) {
      flags.set(rawName, true);
    } else {
      return { flags, positional, error: `flag provided but not defined: -${rawName}` };
    }
  }
  return { flags, positional };
}

const GLOBAL_VALUED = new Set([
  'r',
  'runtime-endpoint',
  'i',
  'image-endpoint',
  't',
  'timeout',
  'c',
  'config',
]);
const GLOBAL_BOOL = new Set(['D', 'debug']);

function crictl(args: readonly string[], view: NodeView): ToolOutcome {
  // Global flags come before the command.
  let i = 0;
  while (i < args.length && args[i].startsWith('-')) {
    const name = args[i].replace(/^--?/, '').split('=')[0];
    if (GLOBAL_VALUED.has(name)) i += args[i].includes('=') ? 1 : 2;
    else if (GLOBAL_BOOL.has(name)) i += 1;
    else return fail(`Incorrect Usage: flag provided but not defined: ${args[i]}`);
  }
  const [command, ...rest] = args.slice(i);
  if (command === 'pods') return crictlPods(rest, view);
  if (command === 'inspectp') return crictlInspectp(rest, view);
  if (command === undefined)
    return fail('crictl: a command is required (the simulator supports pods, inspectp)');
  return fail(`crictl: "${command}" is not simulated (flannel-ops simulator: pods, inspectp)`);
}

const TRUNCATED_ID_LEN = 13;

function crictlPods(args: readonly string[], view: NodeView): ToolOutcome {
  const parsed = parseFlags(
    args,
    new Set(['s', 'state', 'name', 'namespace', 'id', 'o', 'output', 'l', 'label']),
    new Set(['q', 'quiet', 'no-trunc', 'v', 'verbose', 'latest', 'last']),
  );
  if (parsed.error) return fail(`Incorrect Usage: ${parsed.error}`);
  const { flags } = parsed;
  const state = (flags.get('s') ?? flags.get('state')) as string | undefined;
  let want: boolean | undefined;
  if (state !== undefined) {
    const s = state.toLowerCase();
    if (s !== 'ready' && s !== 'notready')
      return crictlFatal('--state should be ready or notready', view.now);
    want = s === 'ready';
  }
  const name = flags.get('name') as string | undefined;
  const namespace = flags.get('namespace') as string | undefined;
  const idPrefix = flags.get('id') as string | undefined;
  const labels = flags.get('l') ?? flags.get('label');
  const [labelKey, labelValue] = typeof labels === 'string' ? labels.split('=', 2) : [];
  const matches = (re: string | undefined, value: string): boolean => {
    if (re === undefined) return true;
    try {
      return new RegExp(re).test(value);
    } catch {
      return false;
    }
  };
  const list = [...view.sandboxes]
    .filter((sb) => want === undefined || sb.ready === want)
    .filter((sb) => matches(name, sb.name) && matches(namespace, sb.namespace))
    .filter((sb) => idPrefix === undefined || sb.id.startsWith(idPrefix))
    .filter((sb) => labelKey === undefined || sb.labels[labelKey] === labelValue)
    .sort(byCreatedDesc);
  const latest = flags.has('latest') || flags.has('last') ? list.slice(0, 1) : list;
  const noTrunc = flags.has('no-trunc');
  const id = (sb: CriSandbox) => (noTrunc ? sb.id : sb.id.slice(0, TRUNCATED_ID_LEN));
  if (flags.has('q') || flags.has('quiet')) return ok(latest.map((sb) => `${id(sb)}\n`).join(''));
  const output = (flags.get('o') ?? flags.get('output')) as string | undefined;
  if (output === 'json') {
    const items = latest.map((sb) => {
      const { status } = inspectSandbox(sb, view.pathPrefix) as { status: Record<string, unknown> };
      return {
        id: sb.id,
        metadata: status.metadata,
        state: status.state,
        createdAt: String(Date.parse(sb.createdAt) * 1_000_000),
        labels: status.labels,
        annotations: status.annotations,
        runtimeHandler: '',
      };
    });
    return ok(`${JSON.stringify({ items }, null, 2)}\n`);
  }
  if (output !== undefined && output !== 'table')
    return crictlFatal(`unsupported output format "${output}"`, view.now);
  const rows = [
    ['POD ID', 'CREATED', 'STATE', 'NAME', 'NAMESPACE', 'ATTEMPT', 'RUNTIME'],
    ...latest.map((sb) => [
      id(sb),
      `${humanDuration(view.now - Date.parse(sb.createdAt))} ago`,
      sb.ready ? 'Ready' : 'NotReady',
      sb.name,
      sb.namespace,
      String(sb.attempt),
      '(default)',
    ]),
  ];
  return ok(tabwriter(rows));
}

/** Go's text/tabwriter with minwidth 20, padding 3 (how crictl lays out tables). */
function tabwriter(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(20, ...rows.map((r) => r[c].length + 3)));
  return rows
    .map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join(''))
    .map((line) => `${line}\n`)
    .join('');
}

function crictlInspectp(args: readonly string[], view: NodeView): ToolOutcome {
  const parsed = parseFlags(args, new Set(['o', 'output', 'template']), new Set(['q', 'quiet']));
  if (parsed.error) return fail(`Incorrect Usage: ${parsed.error}`);
  const output = (parsed.flags.get('o') ?? parsed.flags.get('output') ?? 'json') as string;
  if (output !== 'json')
    return crictlFatal(`output format "${output}" is not simulated (json only)`, view.now);
  if (parsed.positional.length === 0) return crictlFatal('ID cannot be empty', view.now);
  let stdout = '';
  for (const wanted of parsed.positional) {
    const found = view.sandboxes.filter((sb) => sb.id.startsWith(wanted));
    if (found.length !== 1 || wanted === '') {
      const why =
        found.length > 1
          ? `rpc error: code = Unknown desc = an error occurred when try to find sandbox "${wanted}": ambiguous ID "${wanted}"`
          : 'rpc error: code = NotFound desc = an error occurred when try to find sandbox: not found';
      const out = crictlFatal(`getting the pod sandbox status for "${wanted}": ${why}`, view.now);
      return { result: { ...out.result, stdout } };
    }
    const doc = inspectSandbox(found[0], view.pathPrefix);
    stdout += `${JSON.stringify(parsed.flags.has('q') || parsed.flags.has('quiet') ? doc.status : doc, null, 2)}\n`;
  }
  return ok(stdout);
}

// ---- systemctl ---------------------------------------------------------------------------------

/** The runtime's systemd unit on the node. */
function runtimeUnit(runtime: Runtime): string {
  if (runtime === 'cri-o') return 'crio';
  if (runtime === 'dockershim') return 'docker';
  return 'containerd';
}

function unitName(arg: string): string {
  return arg.endsWith('.service') ? arg.slice(0, -'.service'.length) : arg;
}

function systemctl(args: readonly string[], runtime: Runtime): ToolOutcome {
  const quiet = args.includes('-q') || args.includes('--quiet');
  const words = args.filter((a) => !a.startsWith('-'));
  const [verb, ...units] = words;
  const known = new Set(['kubelet', runtimeUnit(runtime)]);
  if (verb === 'is-active') {
    if (units.length === 0) return fail('Too few arguments.');
    const states = units.map((u) => (known.has(unitName(u)) ? 'active' : 'inactive'));
    const allActive = states.every((s) => s === 'active');
    return {
      result: {
        stdout: quiet ? '' : states.map((s) => `${s}\n`).join(''),
        stderr: '',
        exitCode: allActive ? 0 : 3,
      },
    };
  }
  if (verb === 'restart') {
    if (units.length === 0) return fail('Too few arguments.');
    const unknown = units.find((u) => !known.has(unitName(u)));
    if (unknown !== undefined) {
      const unit = `${unitName(unknown)}.service`;
      return fail(`Failed to restart ${unit}: Unit ${unit} not found.`, 5);
    }
    // Restarting the runtime keeps its sandboxes and containers: nothing in the simulation changes.
    if (units.some((u) => unitName(u) === 'kubelet')) return { ...ok(), effect: { kind: 'restart-kubelet' } };
    return ok();
  }
  const what = verb ? `systemctl ${verb}` : 'systemctl';
  return fail(`${what}: not simulated (flannel-ops simulator: restart, is-active)`);
}

// ---- ip link delete ----------------------------------------------------------------------------

/** `ip link delete [dev] NAME [type T]` (the read-only `ip` commands are answered by ./bin/ip itself). */
function ipLink(args: readonly string[], devices: readonly Device[]): ToolOutcome {
  const words = args.filter((a) => !/^-/.test(a));
  if (words[0] !== 'link' || (words[1] !== 'delete' && words[1] !== 'del')) {
    return fail(`ip ${args.join(' ')}: not simulated here (flannel-ops simulator: ip link delete NAME)`);
  }
  const rest = words.slice(2);
  const name = rest[0] === 'dev' ? rest[1] : rest[0];
  if (!name) return fail('Not enough information: "dev" argument is required.', 255);
  const device = devices.find((d) => d.name === name);
  if (!device) return fail(`Cannot find device "${name}"`);
  if (device.type === 'loopback' || device.type === 'ether')
    return fail('RTNETLINK answers: Operation not supported', 2);
  return { ...ok(), effect: { kind: 'delete-link', name } };
}
