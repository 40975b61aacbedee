/**
 * Pure classification of kubelet sandbox-failure messages and events (domain/flannel.md §1, §5.7, §7).
 * No I/O: the event watcher calls `signalFromEvent` for every Warning event, so this must be cheap.
 */
import * as P from './patterns.js';
import type { ErrorClass, FailureSignature, Runtime } from './signature.js';
import { readEvent, type CoreV1EventLike, type EventFields } from './event-fields.js';
import { NO_TEMPLATE, NOT_NORMALISED, scanTemplate, TemplateCache, TemplateScan } from './template.js';

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

/**
 * Classifies a sandbox-failure message. Messages of one template (template.ts: the wording with ids, names and
 * numbers as placeholders) share everything but those ids, so the first message of a template is classified in
 * full and the next ones run only the regexes that read their own ids and details. The result is the same as
 * classifySandboxMessageUncached's for every message (test/unit/detect-template.test.ts).
 */
export function classifySandboxMessage(message: string): FailureSignature {
  return defaultClassifier.classify(message);
}

/** Full classification, no template cache: the reference the cached path must equal. */
export function classifySandboxMessageUncached(message: string): FailureSignature {
  return classifyInFull(normaliseMessage(message)).signature;
}

/** Templates remembered by the shared classifier; a storm has a handful, hostile input cannot grow it. */
export const DEFAULT_TEMPLATE_CAPACITY = 256;

/**
 * The cache pays only when most messages hit: a miss costs the scan on top of full classification. Over each
 * window of lookups the hit rate is measured; below MIN_HIT_RATE (wordings whose names carry no digit, say, so
 * every pod gets its own template) the classifier classifies in full for the next BYPASS_MESSAGES, then measures
 * again.
 */
const WINDOW = 512;
const MIN_HIT_RATE = 0.85;
const BYPASS_MESSAGES = 4_096;

export class SandboxMessageClassifier {
  private readonly templates: TemplateCache<TemplateFacts>;
  private readonly scan = new TemplateScan();
  private lookups = 0;
  private hits = 0;
  private bypass = 0;
  constructor(capacity = DEFAULT_TEMPLATE_CAPACITY) {
    this.templates = new TemplateCache(capacity);
  }

  get templateCount(): number {
    return this.templates.size;
  }

  classify(message: string): FailureSignature {
    if (typeof message !== 'string') return classifyInFull(normaliseMessage(message)).signature;
    if (this.bypass > 0) {
      this.bypass--;
      return classifyInFull(normaliseMessage(message)).signature;
    }
    let text = message.length > MAX_MESSAGE_CHARS ? message.slice(0, MAX_MESSAGE_CHARS) : message;
    const scan = this.scan;
    let found = scanTemplate(text, true, scan);
    if (found === NOT_NORMALISED) {
      text = normaliseMessage(text);
      found = scanTemplate(text, false, scan);
    }
    if (found === NO_TEMPLATE) return classifyInFull(text).signature;
    if (++this.lookups === WINDOW) this.endWindow();
    const hash = scan.hash();
    const facts = this.templates.get(hash, scan);
    if (facts) {
      const signature = classifyByFacts(text, facts);
      if (signature) {
        this.hits++;
        return signature;
      }
    }
    const full = classifyInFull(text);
    if (full.facts) this.templates.set(hash, scan, full.facts);
    return full.signature;
  }

  private endWindow(): void {
    if (this.hits < this.lookups * MIN_HIT_RATE) this.bypass = BYPASS_MESSAGES;
    this.lookups = 0;
    this.hits = 0;
  }
}

const defaultClassifier = new SandboxMessageClassifier();

/** What every message of one template shares (template.ts says why). */
interface TemplateFacts {
  /** Length of kubelet's `(combined from similar events): ` prefix, 0 without it. */
  bodyStart: number;
  combined: boolean;
  errorClass: ErrorClass;
  /** The detector that decided the class; a hit runs only it, for the details. */
  detector: Detector | undefined;
  runtime: Runtime;
  multus: boolean;
  delegateAdd: boolean;
  /** Which of describePlugin's patterns matched (a hit skips the others). */
  plugin: PluginMatches;
  wrapper: WrapperKind;
  /** Did SANDBOX_ID match (read by the containerd and dockershim wrappers)? */
  sandboxId: boolean;
}

function classifyInFull(text: string): { signature: FailureSignature; facts: TemplateFacts | undefined } {
  const combined = P.COMBINED_PREFIX.test(text);
  const body = combined ? text.replace(P.COMBINED_PREFIX, '') : text;
  const m = new Message(body);

  const decided = classify(m);
  const match = decided?.match;
  const plugin = describePlugin(m);
  const wrapperKind = findWrapper(m);
  const sandboxId = wrapperReadsSandboxId(wrapperKind) ? m.exec(P.SANDBOX_ID) : null;
  const wrapper = readWrapper(wrapperKind, m, sandboxId) ?? {};
  const errorClass = match?.errorClass ?? 'other';
  const multus = m.test(P.MULTUS);
  const delegateAdd = m.test(P.DELEGATE_ADD);
  const runtime = detectRuntime(m, errorClass);
  const signature = assemble(
    errorClass,
    runtime,
    multus,
    delegateAdd,
    combined,
    plugin.fields,
    wrapper,
    match?.details,
  );
  if (!shapeProof(m, wrapperKind)) return { signature, facts: undefined };
  return {
    signature,
    facts: {
      bodyStart: text.length - body.length,
      combined,
      errorClass,
      detector: decided?.detector,
      runtime,
      multus,
      delegateAdd,
      plugin: plugin.matched,
      wrapper: wrapperKind,
      sandboxId: sandboxId !== null,
    },
  };
}

/**
 * Can every message of this template be trusted to match CRIO_SANDBOX and BRIDGE_ADDRESS_MISMATCH as this one
 * does (template.ts SHAPE_SENSITIVE)? Yes when the keyword is absent, or present (once, for the bridge) and matched:
 * a hit re-runs the wrapper and the deciding detector, and a bridge match elsewhere than the winner cannot move.
 */
function shapeProof(m: Message, wrapper: WrapperKind): boolean {
  if (m.mayMatch(P.CRIO_SANDBOX) && wrapper !== 'crio') return false;
  if (m.mayMatch(P.BRIDGE_ADDRESS_MISMATCH)) {
    const key = P.PATTERN_KEYS.get(P.BRIDGE_ADDRESS_MISMATCH)?.[0] ?? '';
    const first = m.lower.indexOf(key);
    if (m.lower.indexOf(key, first + 1) >= 0 || !m.test(P.BRIDGE_ADDRESS_MISMATCH)) return false;
  }
  return true;
}

/** Undefined when the message does not read as its template promised (then it is classified in full). */
function classifyByFacts(text: string, f: TemplateFacts): FailureSignature | undefined {
  // Ungated: the template says which patterns match, so the keyword checks would only cost time.
  const m = new Message(f.bodyStart > 0 ? text.slice(f.bodyStart) : text, false);
  let details: Partial<FailureSignature> | undefined;
  if (f.detector) {
    const match = f.detector(m);
    if (!match || match.errorClass !== f.errorClass) return undefined;
    details = match.details;
  }
  let plugin: Partial<FailureSignature> | undefined;
  if (f.plugin.description || f.plugin.delegate || f.plugin.network) {
    const described = describePlugin(m, f.plugin);
    const found = described.matched;
    if (found.description !== f.plugin.description || found.network !== f.plugin.network) return undefined;
    if (found.delegate !== f.plugin.delegate) return undefined;
    plugin = described.fields;
  }
  let sandboxId: RegExpExecArray | null = null;
  if (f.sandboxId) {
    sandboxId = m.exec(P.SANDBOX_ID);
    if (!sandboxId) return undefined;
  }
  const wrapper = readWrapper(f.wrapper, m, sandboxId);
  if (!wrapper) return undefined;
  return assemble(f.errorClass, f.runtime, f.multus, f.delegateAdd, f.combined, plugin, wrapper, details);
}

function assemble(
  errorClass: ErrorClass,
  runtime: Runtime,
  multus: boolean,
  delegateAdd: boolean,
  combined: boolean,
  plugin: Partial<FailureSignature> | undefined,
  wrapper: Partial<FailureSignature>,
  details: Partial<FailureSignature> | undefined,
): FailureSignature {
  const signature: FailureSignature = { errorClass, runtime, multus, delegateAdd, combined };
  assignDefined(signature, plugin);
  assignDefined(signature, wrapper);
  assignDefined(signature, details);
  return signature;
}

/**
 * A normalised message and its lower-case copy, for the cheap key checks that let most regexes be skipped
 * (patterns.ts PATTERN_KEYS). The checks only skip: what a regex finds is unchanged. All patterns are ASCII and
 * case-insensitive without the `u` flag, so a match always shows up as its lower-cased literal in `lower`.
 */
class Message {
  readonly lower: string;
  constructor(
    readonly text: string,
    private readonly gated = true,
  ) {
    this.lower = gated ? text.toLowerCase() : '';
  }

  /** False when the message lacks every key of the pattern, so the pattern cannot match. */
  mayMatch(re: RegExp): boolean {
    if (!this.gated) return true;
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

function classify(message: Message): { match: ClassMatch; detector: Detector } | undefined {
  let best: ClassMatch | undefined;
  let bestDetector: Detector | undefined;
  for (const detect of SPECIFIC) {
    const m = detect(message);
    if (m && (!best || m.index < best.index)) {
      best = m;
      bestDetector = detect;
    }
  }
  if (best && bestDetector) return { match: best, detector: bestDetector };
  for (const detect of FALLBACK) {
    const m = detect(message);
    if (m) return { match: m, detector: detect };
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

/** Which of describePlugin's patterns matched; a template hit runs only those. */
interface PluginMatches {
  description: boolean;
  delegate: boolean;
  network: boolean;
}
const ALL_PLUGIN_PATTERNS: PluginMatches = { description: true, delegate: true, network: true };

function describePlugin(
  message: Message,
  run: PluginMatches = ALL_PLUGIN_PATTERNS,
): { fields: Partial<FailureSignature>; matched: PluginMatches } {
  const text = message.text;
  const matched: PluginMatches = { description: false, delegate: false, network: false };
  // The innermost non-Multus plugin is the one whose error was wrapped (Multus delegates to it).
  let pluginType: string | undefined;
  let pluginName: string | undefined;
  if (run.description) {
    for (const m of message.matchAll(P.PLUGIN_DESCRIPTION)) {
      matched.description = true;
      if (m[1].toLowerCase() === 'multus') continue;
      pluginType = m[1];
      pluginName = m[2];
    }
  }
  if (pluginType === undefined && run.delegate) {
    const delegate = message.exec(P.MULTUS_DELEGATE_TYPE);
    if (delegate) {
      matched.delegate = true;
      pluginType = delegate[1];
    }
  }
  let cniNetwork: string | undefined;
  if (run.network) {
    for (const m of text.matchAll(P.NETWORK_NAME)) {
      matched.network = true;
      cniNetwork = m[1];
    }
  }
  return { fields: { pluginType, pluginName, cniNetwork }, matched };
}

/** The runtime wrapper whose ids the signature carries; the first that matches, in this order. */
type WrapperKind = 'crio' | 'crio-adding' | 'dockershim' | 'dockershim-sandbox' | 'pre-cri' | 'none';

function findWrapper(message: Message): WrapperKind {
  if (message.test(P.CRIO_SANDBOX)) return 'crio';
  if (message.test(P.CRIO_ADDING_POD)) return 'crio-adding';
  if (message.test(P.DOCKERSHIM_PLUGIN)) return 'dockershim';
  if (message.test(P.DOCKERSHIM_SANDBOX)) return 'dockershim-sandbox';
  if (message.test(P.PRE_CRI_POD)) return 'pre-cri';
  return 'none';
}

function wrapperReadsSandboxId(kind: WrapperKind): boolean {
  return kind === 'dockershim' || kind === 'dockershim-sandbox' || kind === 'none';
}

/** The wrapper's ids; undefined when its pattern does not match (the message is not of the kind). */
function readWrapper(
  kind: WrapperKind,
  message: Message,
  sandboxMatch: RegExpExecArray | null,
): Partial<FailureSignature> | undefined {
  const sandboxId = sandboxMatch?.[1];
  switch (kind) {
    case 'crio': {
      const crio = message.exec(P.CRIO_SANDBOX);
      return crio
        ? { podName: crio[1], podNamespace: crio[2], podUid: crio[3], sandboxId: crio[5] }
        : undefined;
    }
    case 'crio-adding': {
      const adding = message.exec(P.CRIO_ADDING_POD);
      return adding ? { podNamespace: adding[1], podName: adding[2] } : undefined;
    }
    case 'dockershim': {
      const dockershim = message.exec(P.DOCKERSHIM_PLUGIN);
      return dockershim ? { sandboxId, ...splitPodNamespace(dockershim[1]) } : undefined;
    }
    case 'dockershim-sandbox': {
      const sandbox = message.exec(P.DOCKERSHIM_SANDBOX);
      return sandbox ? { sandboxId, podName: sandbox[2] } : undefined;
    }
    case 'pre-cri': {
      const preCri = message.exec(P.PRE_CRI_POD);
      return preCri ? { podName: preCri[1], podNamespace: preCri[2], podUid: preCri[3] } : undefined;
    }
    case 'none':
      return { sandboxId };
  }
}

/** dockershim names pods `<pod>_<ns>`; neither part may contain `_` (DNS-1123 names). */
function splitPodNamespace(value: string): Partial<FailureSignature> {
  const cut = value.lastIndexOf('_');
  if (cut <= 0) return { podName: value || undefined };
  return { podName: value.slice(0, cut), podNamespace: value.slice(cut + 1) };
}

function detectRuntime(m: Message, errorClass: ErrorClass): Runtime {
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
    return !m.test(P.LIBCNI_PREFIX) && PLUGIN_LEVEL_CLASSES.has(errorClass) ? 'containerd-1.5' : 'containerd';
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
