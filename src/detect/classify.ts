/**
 * Pure classification of kubelet sandbox-failure messages and events (domain/flannel.md §1, §5.7, §7).
 * No I/O: the event watcher calls `signalFromEvent` for every Warning event, so this must be cheap.
 */
import * as P from './patterns.js';
import type { ErrorClass, FailureSignature, Runtime } from './signature.js';
import { readEvent, type CoreV1EventLike } from './event-fields.js';

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

export interface SandboxSignal {
  reason: SandboxReason;
  type: string;
  /** Kind of the involved object (`Pod` for both handled reasons). */
  kind: string;
  namespace: string;
  podName: string;
  podUid: string | null;
  /** `source.host`, else `reportingInstance` (the kubelet's node). */
  node: string | null;
  /** The Event's metadata.uid: stable across re-deliveries, the idempotency key. */
  eventUid: string;
  eventName: string;
  count: number;
  /** RFC 3339 timestamps (null when the event carries none). */
  firstSeen: string | null;
  lastSeen: string | null;
  message: string;
  signature: FailureSignature;
}

interface ClassMatch {
  index: number;
  errorClass: ErrorClass;
  details: Partial<FailureSignature>;
}

type Detector = (text: string) => ClassMatch | undefined;

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

  const match = classify(text);
  const signature: FailureSignature = {
    errorClass: match?.errorClass ?? 'other',
    runtime: 'unknown',
    multus: P.MULTUS.test(text),
    delegateAdd: P.DELEGATE_ADD.test(text),
    combined,
    ...describePlugin(text),
    ...describeWrapper(text),
    ...match?.details,
  };
  signature.runtime = detectRuntime(text, signature);
  return dropUndefined(signature);
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

export function isSandboxReason(reason: string): reason is SandboxReason {
  return (SANDBOX_REASONS as readonly string[]).includes(reason);
}

function normaliseMessage(message: string): string {
  const bounded = typeof message === 'string' ? message.slice(0, MAX_MESSAGE_CHARS) : '';
  // Line breaks and doubled spaces appear when messages are copied from logs; patterns use single spaces.
  return bounded.replace(/\s+/g, ' ').trim();
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

function classify(text: string): ClassMatch | undefined {
  let best: ClassMatch | undefined;
  for (const detect of SPECIFIC) {
    const m = detect(text);
    if (m && (!best || m.index < best.index)) best = m;
  }
  if (best) return best;
  for (const detect of FALLBACK) {
    const m = detect(text);
    if (m) return m;
  }
  return undefined;
}

function detectIpExhausted(text: string): ClassMatch | undefined {
  const m = P.IP_EXHAUSTED.exec(text);
  if (!m) return undefined;
  return {
    index: m.index,
    errorClass: 'ip-exhausted',
    details: { range: trimDots(m[1]), network: trimDots(m[2]), subnet: m[3] },
  };
}

function detectPluginMissing(text: string): ClassMatch | undefined {
  const matches = [...text.matchAll(P.PLUGIN_MISSING)];
  if (matches.length === 0) return undefined;
  const plugins = [...new Set(matches.map((m) => m[1]))];
  return {
    index: matches[0].index ?? 0,
    errorClass: 'plugin-missing',
    details: { plugin: plugins[0], plugins, searchPath: matches[0][2] },
  };
}

function detectSubnetEnvMissing(text: string): ClassMatch | undefined {
  const m = P.SUBNET_ENV_MISSING.exec(text);
  if (!m) return undefined;
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

function detectSubnetEnvIncomplete(text: string): ClassMatch | undefined {
  const m = P.SUBNET_ENV_INCOMPLETE.exec(text);
  if (!m) return undefined;
  const dir = tokenEndingAt(text, m.index);
  return {
    index: m.index - dir.length,
    errorClass: 'subnet-env-incomplete',
    details: { subnetEnvPath: `${dir}subnet.env`, missingKeys: m[1].split(/, ?/) },
  };
}

function detectSubnetEnvOther(text: string): ClassMatch | undefined {
  const m = P.SUBNET_ENV_OTHER.exec(text);
  return m ? { index: m.index, errorClass: 'subnet-env-missing', details: {} } : undefined;
}

function detectBridgeMismatch(text: string): ClassMatch | undefined {
  const m = P.BRIDGE_ADDRESS_MISMATCH.exec(text);
  if (!m) return undefined;
  return {
    index: m.index,
    errorClass: 'cni0-address-mismatch',
    details: { bridge: m[1], expectedAddress: trimDots(m[2]) },
  };
}

function detectNetworkNotReady(text: string): ClassMatch | undefined {
  const m = P.NETWORK_NOT_READY.exec(text);
  if (!m) return undefined;
  const dir = P.CNI_CONF_DIR.exec(text)?.[1];
  return { index: m.index, errorClass: 'network-not-ready', details: { cniConfDir: trimDots(dir) } };
}

function detectConfigInvalid(text: string): ClassMatch | undefined {
  const m = P.CNI_CONFIG_INVALID.exec(text);
  return m ? { index: m.index, errorClass: 'cni-config-invalid', details: {} } : undefined;
}

// ---- wrapper details ---------------------------------------------------------------------------

function describePlugin(text: string): Partial<FailureSignature> {
  // The innermost non-Multus plugin is the one whose error was wrapped (Multus delegates to it).
  let pluginType: string | undefined;
  let pluginName: string | undefined;
  for (const m of text.matchAll(P.PLUGIN_DESCRIPTION)) {
    if (m[1].toLowerCase() === 'multus') continue;
    pluginType = m[1];
    pluginName = m[2];
  }
  pluginType ??= P.MULTUS_DELEGATE_TYPE.exec(text)?.[1];
  let cniNetwork: string | undefined;
  for (const m of text.matchAll(P.NETWORK_NAME)) cniNetwork = m[1];
  return { pluginType, pluginName, cniNetwork };
}

function describeWrapper(text: string): Partial<FailureSignature> {
  const crio = P.CRIO_SANDBOX.exec(text);
  if (crio) {
    return { podName: crio[1], podNamespace: crio[2], podUid: crio[3], sandboxId: crio[5] };
  }
  const crioAdding = P.CRIO_ADDING_POD.exec(text);
  if (crioAdding) return { podNamespace: crioAdding[1], podName: crioAdding[2] };

  const sandboxId = P.SANDBOX_ID.exec(text)?.[1];
  const dockershim = P.DOCKERSHIM_PLUGIN.exec(text);
  if (dockershim) return { sandboxId, ...splitPodNamespace(dockershim[1]) };
  const dockershimSandbox = P.DOCKERSHIM_SANDBOX.exec(text);
  if (dockershimSandbox) return { sandboxId, podName: dockershimSandbox[2] };
  const preCri = P.PRE_CRI_POD.exec(text);
  if (preCri) return { podName: preCri[1], podNamespace: preCri[2], podUid: preCri[3] };
  return { sandboxId };
}

/** dockershim names pods `<pod>_<ns>`; neither part may contain `_` (DNS-1123 names). */
function splitPodNamespace(value: string): Partial<FailureSignature> {
  const cut = value.lastIndexOf('_');
  if (cut <= 0) return { podName: value || undefined };
  return { podName: value.slice(0, cut), podNamespace: value.slice(cut + 1) };
}

function detectRuntime(text: string, signature: FailureSignature): Runtime {
  if (P.CRIO_SANDBOX.test(text) || P.CRIO_ADDING_POD.test(text)) return 'cri-o';
  if (
    P.DOCKERSHIM_PLUGIN.test(text) ||
    P.DOCKERSHIM_SANDBOX.test(text) ||
    P.DOCKERSHIM_NOT_READY.test(text)
  ) {
    return 'dockershim';
  }
  if (P.PRE_CRI.test(text) && P.PRE_CRI_PLUGINS.test(text)) return 'pre-cri';
  if (P.CONTAINERD_SANDBOX.test(text)) {
    // containerd ≥1.6 vendors libcni ≥1.0, which prefixes plugin errors with `plugin type=... failed (add)`.
    // Runtime-side errors (CNI not initialised) never carry it, so its absence only dates plugin errors.
    return !P.LIBCNI_PREFIX.test(text) && PLUGIN_LEVEL_CLASSES.has(signature.errorClass)
      ? 'containerd-1.5'
      : 'containerd';
  }
  if (P.CONTAINERD_15_NOT_READY.test(text)) return 'containerd-1.5';
  if (P.CONTAINERD_NOT_READY.test(text)) return 'containerd';
  if (P.CRIO_NOT_READY.test(text)) return 'cri-o';
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

function dropUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
