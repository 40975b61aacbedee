/**
 * Pure classification of kubelet sandbox-failure messages and events (domain/flannel.md §1, §5.7, §7).
 * No I/O: the event watcher calls `signalFromEvent` for every Warning event, so this must be cheap.
 */
import * as P from './patterns.js';
import type { ErrorClass, FailureSignature, Runtime } from './signature.js';
import { readEvent, type CoreV1EventLike, type EventFields } from './event-fields.js';

export type { ErrorClass, FailureSignature, Runtime, SubnetEnvWording } from './signature.js';
export { ERROR_CLASSES, RUNTIMES } from './signature.js';
export type { CoreV1EventLike } from './event-fields.js';

/** Event reasons detection turns into signals; every other reason is ignored. */
export const SANDBOX_REASONS = ['FailedCreatePodSandBox', 'NetworkNotReady'] as const;
export type SandboxReason = (typeof SANDBOX_REASONS)[number];

/**
 * Longer messages are cut before matching: real ones are a few hundred characters, and a bound keeps
 * a hostile multi-megabyte message from costing more than a normal one.
 */
export const MAX_MESSAGE_CHARS = 8192;

/**
 * A classified sandbox-failure event: the event's fields (see EventFields: `node` is `source.host`, else
 * `reportingInstance`; `eventUid` is the idempotency key; RFC 3339 timestamps or null) plus its signature.
 */
export interface SandboxSignal extends EventFields {
  reason: SandboxReason;
  signature: FailureSignature;
}

interface ClassMatch {
  index: number;
  errorClass: ErrorClass;
  details: Partial<FailureSignature>;
}

type Detector = (m: Message) => ClassMatch | undefined;

/** Classes a plugin (not the runtime) reports: on containerd ≥1.6 these carry libcni's `plugin type=`. */
const PLUGIN_LEVEL_CLASSES: ReadonlySet<ErrorClass> = new Set([
  'ip-exhausted',
  'plugin-missing',
  'subnet-env-missing',
  'subnet-env-incomplete',
  'cni0-address-mismatch',
  'cni-config-invalid',
]);

export function classifySandboxMessage(message: string): FailureSignature {
  let text = normaliseMessage(message);
  const combined = P.COMBINED_PREFIX.test(text);
  if (combined) text = text.replace(P.COMBINED_PREFIX, '');
  const m = new Message(text);

  const match = classify(m);
  const signature: FailureSignature = {
    errorClass: match?.errorClass ?? 'other',
    runtime: 'unknown',
    multus: m.test(P.MULTUS),
    delegateAdd: m.test(P.DELEGATE_ADD),
    combined,
  };
  assignDefined(signature, describePlugin(m));
  assignDefined(signature, describeWrapper(m));
  assignDefined(signature, match?.details);
  signature.runtime = detectRuntime(m, signature);
  return signature;
}

/**
 * A normalised message and its lower-case copy, for the cheap key checks that let most regexes be skipped
 * (patterns.ts PATTERN_KEYS). The checks only skip: what a regex finds is unchanged. All patterns are ASCII and
 * case-insensitive without the `u` flag, so a match always shows up as its lower-cased literal in `lower`.
 */
class Message {
  readonly lower: string;
  constructor(readonly text: string) {
    this.lower = text.toLowerCase();
  }

  /** False when the message lacks every key of the pattern, so the pattern cannot match. */
  mayMatch(re: RegExp): boolean {
    const keys = P.PATTERN_KEYS.get(re);
    if (keys === undefined) return true;
    for (let i = 0; i < keys.length; i++) if (this.lower.includes(keys[i])) return true;
    return false;
  }

  exec(re: RegExp): RegExpExecArray | null {
    return this.mayMatch(re) ? re.exec(this.text) : null;
  }

  test(re: RegExp): boolean {
    return this.mayMatch(re) && re.test(this.text);
  }

  /** For global patterns. */
  matchAll(re: RegExp): Iterable<RegExpMatchArray> {
    return this.mayMatch(re) ? this.text.matchAll(re) : [];
  }
}

/**
 * The signal for one core/v1 or events.k8s.io/v1 Event, or null when the event is not a sandbox
 * failure detection handles (other reasons, no message).
 */
export function signalFromEvent(event: CoreV1EventLike): SandboxSignal | null {
  const e = readEvent(event);
  if (!e || !isSandboxReason(e.reason) || e.message === '') return null;
  const message = e.message.length > MAX_MESSAGE_CHARS ? e.message.slice(0, MAX_MESSAGE_CHARS) : e.message;
  return {
    reason: e.reason,
    type: e.type,
    kind: e.kind,
    namespace: e.namespace,
    podName: e.podName,
    podUid: e.podUid,
    node: e.node,
    eventUid: e.eventUid,
    eventName: e.eventName,
    count: e.count,
    firstSeen: e.firstSeen,
    lastSeen: e.lastSeen,
    message,
    signature: classifySandboxMessage(message),
  };
}

/**
 * Is the sandbox failure the pod network's (a CNI plugin, the runtime's CNI setup, network not ready), rather
 * than another sandbox problem (the pause image, cgroups, the runtime itself)? Every runtime's network wrapper
 * (§1.2), libcni's `plugin type=`, Multus, or any classified CNI error counts.
 */
export function isCniFailure(signal: {
  reason: string;
  message: string;
  signature: Pick<FailureSignature, 'errorClass' | 'pluginType'>;
}): boolean {
  if (signal.reason === 'NetworkNotReady') return true;
  if (signal.signature.errorClass !== 'other' || signal.signature.pluginType) return true;
  const m = new Message(normaliseMessage(signal.message));
  return CNI_WRAPPERS.some((re) => m.test(re));
}

const CNI_WRAPPERS: readonly RegExp[] = [
  P.CONTAINERD_SANDBOX,
  P.LIBCNI_PREFIX,
  P.CRIO_SANDBOX,
  P.CRIO_ADDING_POD,
  P.DOCKERSHIM_PLUGIN,
  P.DOCKERSHIM_SANDBOX,
  P.PRE_CRI,
  P.MULTUS,
];

export function isSandboxReason(reason: string): reason is SandboxReason {
  return (SANDBOX_REASONS as readonly string[]).includes(reason);
}

/** Whitespace other than single spaces: only then does collapsing change anything. */
const UNUSUAL_WHITESPACE = /[^\S ]| {2}/;

function normaliseMessage(message: string): string {
  const bounded = typeof message === 'string' ? message.slice(0, MAX_MESSAGE_CHARS) : '';
  // Line breaks and doubled spaces appear when messages are copied from logs; patterns use single spaces.
  return UNUSUAL_WHITESPACE.test(bounded) ? bounded.replace(/\s+/g, ' ').trim() : bounded.trim();
}

// ---- error class -------------------------------------------------------------------------------

/**
 * Specific detectors compete by position: the error a message states first is the one that failed
 * the sandbox (dockershim appends its clean-up error after the set-up error).
 */
const SPECIFIC: Detector[] = [
  detectIpExhausted,
  detectPluginMissing,
  detectSubnetEnvMissing,
  detectSubnetEnvIncomplete,
  detectBridgeMismatch,
  detectNetworkNotReady,
  detectConfigInvalid,
];

/** Only consulted when no specific wording matched. */
const FALLBACK: Detector[] = [detectSubnetEnvOther];

function classify(message: Message): ClassMatch | undefined {
  let best: ClassMatch | undefined;
  for (const detect of SPECIFIC) {
    const m = detect(message);
    if (m && (!best || m.index < best.index)) best = m;
  }
  if (best) return best;
  for (const detect of FALLBACK) {
    const m = detect(message);
    if (m) return m;
  }
  return undefined;
}

function detectIpExhausted(message: Message): ClassMatch | undefined {
  const m = message.exec(P.IP_EXHAUSTED);
  if (!m) return undefined;
  return {
    index: m.index,
    errorClass: 'ip-exhausted',
    details: { range: trimDots(m[1]), network: trimDots(m[2]), subnet: m[3] },
  };
}

function detectPluginMissing(message: Message): ClassMatch | undefined {
  const matches = [...message.matchAll(P.PLUGIN_MISSING)];
  if (matches.length === 0) return undefined;
  const plugins = [...new Set(matches.map((m) => m[1]))];
  return {
    index: matches[0].index ?? 0,
    errorClass: 'plugin-missing',
    details: { plugin: plugins[0], plugins, searchPath: matches[0][2] },
  };
}

function detectSubnetEnvMissing(message: Message): ClassMatch | undefined {
  const m = message.exec(P.SUBNET_ENV_MISSING);
  if (!m) return undefined;
  const text = message.text;
  const before = text.slice(Math.max(0, m.index - 60), m.index).toLowerCase();
  const wording = before.endsWith(P.SUBNET_ENV_PREFIX_FAILED_TO_LOAD)
    ? 'failed-to-load-file'
    : before.endsWith(P.SUBNET_ENV_PREFIX_LOAD)
      ? 'loadFlannelSubnetEnv'
      : 'bare';
  return {
    index: m.index,
    errorClass: 'subnet-env-missing',
    details: { subnetEnvPath: m[1], subnetEnvWording: wording },
  };
}

function detectSubnetEnvIncomplete(message: Message): ClassMatch | undefined {
  const m = message.exec(P.SUBNET_ENV_INCOMPLETE);
  if (!m) return undefined;
  const dir = tokenEndingAt(message.text, m.index);
  return {
    index: m.index - dir.length,
    errorClass: 'subnet-env-incomplete',
    details: { subnetEnvPath: `${dir}subnet.env`, missingKeys: m[1].split(/, ?/) },
  };
}

function detectSubnetEnvOther(message: Message): ClassMatch | undefined {
  const m = P.SUBNET_ENV_OTHER.exec(message.text); // fallback only: rare, no key
  return m ? { index: m.index, errorClass: 'subnet-env-missing', details: {} } : undefined;
}

function detectBridgeMismatch(message: Message): ClassMatch | undefined {
  const m = message.exec(P.BRIDGE_ADDRESS_MISMATCH);
  if (!m) return undefined;
  return {
    index: m.index,
    errorClass: 'cni0-address-mismatch',
    details: { bridge: m[1], expectedAddress: trimDots(m[2]) },
  };
}

function detectNetworkNotReady(message: Message): ClassMatch | undefined {
  const m = message.exec(P.NETWORK_NOT_READY);
  if (!m) return undefined;
  const dir = P.CNI_CONF_DIR.exec(message.text)?.[1];
  return { index: m.index, errorClass: 'network-not-ready', details: { cniConfDir: trimDots(dir) } };
}

function detectConfigInvalid(message: Message): ClassMatch | undefined {
  const m = message.exec(P.CNI_CONFIG_INVALID);
  return m ? { index: m.index, errorClass: 'cni-config-invalid', details: {} } : undefined;
}

// ---- wrapper details ---------------------------------------------------------------------------

function describePlugin(message: Message): Partial<FailureSignature> {
  const text = message.text;
  // The innermost non-Multus plugin is the one whose error was wrapped (Multus delegates to it).
  let pluginType: string | undefined;
  let pluginName: string | undefined;
  for (const m of message.matchAll(P.PLUGIN_DESCRIPTION)) {
    if (m[1].toLowerCase() === 'multus') continue;
    pluginType = m[1];
    pluginName = m[2];
  }
  pluginType ??= message.exec(P.MULTUS_DELEGATE_TYPE)?.[1];
  let cniNetwork: string | undefined;
  for (const m of text.matchAll(P.NETWORK_NAME)) cniNetwork = m[1];
  return { pluginType, pluginName, cniNetwork };
}

function describeWrapper(message: Message): Partial<FailureSignature> {
  const crio = message.exec(P.CRIO_SANDBOX);
  if (crio) {
    return { podName: crio[1], podNamespace: crio[2], podUid: crio[3], sandboxId: crio[5] };
  }
  const crioAdding = message.exec(P.CRIO_ADDING_POD);
  if (crioAdding) return { podNamespace: crioAdding[1], podName: crioAdding[2] };

  const sandboxId = message.exec(P.SANDBOX_ID)?.[1];
  const dockershim = message.exec(P.DOCKERSHIM_PLUGIN);
  if (dockershim) return { sandboxId, ...splitPodNamespace(dockershim[1]) };
  const dockershimSandbox = message.exec(P.DOCKERSHIM_SANDBOX);
  if (dockershimSandbox) return { sandboxId, podName: dockershimSandbox[2] };
  const preCri = message.exec(P.PRE_CRI_POD);
  if (preCri) return { podName: preCri[1], podNamespace: preCri[2], podUid: preCri[3] };
  return { sandboxId };
}

/** dockershim names pods `<pod>_<ns>`; neither part may contain `_` (DNS-1123 names). */
function splitPodNamespace(value: string): Partial<FailureSignature> {
  const cut = value.lastIndexOf('_');
  if (cut <= 0) return { podName: value || undefined };
  return { podName: value.slice(0, cut), podNamespace: value.slice(cut + 1) };
}

function detectRuntime(m: Message, signature: FailureSignature): Runtime {
  if (m.test(P.CRIO_SANDBOX) || m.test(P.CRIO_ADDING_POD)) {
    return 'cri-o';
  }
  if (m.test(P.DOCKERSHIM_PLUGIN) || m.test(P.DOCKERSHIM_SANDBOX) || m.test(P.DOCKERSHIM_NOT_READY)) {
    return 'dockershim';
  }
  if (m.test(P.PRE_CRI) && m.test(P.PRE_CRI_PLUGINS)) return 'pre-cri';
  if (m.test(P.CONTAINERD_SANDBOX)) {
    // containerd ≥1.6 vendors libcni ≥1.0, which prefixes plugin errors with `plugin type=... failed (add)`.
    // Runtime-side errors (CNI not initialised) never carry it, so its absence only dates plugin errors.
    return !m.test(P.LIBCNI_PREFIX) && PLUGIN_LEVEL_CLASSES.has(signature.errorClass)
      ? 'containerd-1.5'
      : 'containerd';
  }
  if (m.test(P.CONTAINERD_15_NOT_READY)) return 'containerd-1.5';
  if (m.test(P.CONTAINERD_NOT_READY)) return 'containerd';
  if (m.test(P.CRIO_NOT_READY)) return 'cri-o';
  return 'unknown';
}

// ---- small helpers -----------------------------------------------------------------------------

/** The run of non-separator characters that ends at `end` (e.g. `/run/flannel/` before `subnet.env`). */
function tokenEndingAt(text: string, end: number): string {
  let start = end;
  while (start > 0 && !/[\s:"'[(]/.test(text[start - 1])) start--;
  return text.slice(start, end);
}

/** Sentence punctuation glued to the end of an address or name (`10.244.0.1/24.`). */
function trimDots(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.replace(/[.,]+$/, '');
  return trimmed === '' ? undefined : trimmed;
}

/** Copies the defined fields only: a signature never carries `undefined` values (it travels as JSON). */
function assignDefined<T extends object>(target: T, source: Partial<T> | undefined): void {
  if (!source) return;
  for (const key in source) {
    const value = source[key];
    if (value !== undefined) target[key] = value as T[typeof key];
  }
}
