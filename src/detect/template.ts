/**
 * Message templates: a sandbox-failure message with its variable tokens (sandbox ids, pod names and uids, IP
 * ranges, counters) replaced by placeholders. In an event storm thousands of messages share one template, and
 * everything classification decides from the wording (class, runtime, which wrapper) is the same for all of them;
 * classify.ts caches that per template and re-reads only the ids of each message.
 *
 * Why two messages with one template classify alike (keep in step with patterns.ts):
 * - A token is a maximal run of ASCII letters and digits. Only tokens containing a digit, or following a `-`
 *   (the random parts of pod names, digit-free uuid segments), are replaced; every other character (separators,
 *   quotes, punctuation, other words) stays as it is, so two messages with one template differ only inside
 *   replaced tokens, at the same places. A digit-free token equal to a word of the patterns is kept (a word
 *   between required separators, like ` add: `, can only be met by a token equal to it).
 * - A token that contains any word of the patterns' literal text (DANGER_WORDS, e.g. `k8s`, `multus`,
 *   `networkpluginnotready`, `no`) is kept as it is: a pod named `multus-1` or `x1no` could start, end or hold a
 *   keyword. Every pattern starts with a literal and is case-insensitive, so a match can only begin or end inside a
 *   replaced token if the token holds a literal word of that pattern (its first or last word) — which it does not.
 * - Where a pattern reads a token with a character class, any token does: negated classes (`[^"]*`, `[^_\s]+`,
 *   `[^\s:]+` ...) and `\w` take every letter and digit, and `'[a-z]+'` none with a digit (a digit-free token is
 *   replaced only after a `-`, never right after the quote). Classes inside optional
 *   groups (the IP range, the legacy subnet) only change the details, which a cache hit re-reads from the message.
 *   Two patterns need a token of a given shape: CRIO_SANDBOX (`_(\d+)`) and BRIDGE_ADDRESS_MISMATCH
 *   (`different from ([0-9a-f.:/]+)`). SHAPE_SENSITIVE lists them; classify.ts caches no template in which one
 *   of them could match or not depending on a token (its keyword is there but it did not match, or the
 *   bridge keyword is there twice), and re-runs them on a hit where they matched.
 * The template is never built as a string: scanTemplate finds the replaced tokens in one pass, the cache is keyed
 * by a cheap hash of the result, and an entry answers only a message whose literal segments and placeholders
 * equal its own (TemplateScan.matches).
 */
import * as P from './patterns.js';

/** Longer messages are classified in full: real wordings are a few hundred characters. */
export const TEMPLATE_MAX_CHARS = 2048;

/** Stands, in a pattern's literal text, for anything a token's letters or digits could run into. */
const EDGE = '\u0002';
/** Stands for a letter class (`[sz]`) or an optional letter (`s?`) inside a word. */
const JOIN = '\u0001';
const WORD_RUN = new RegExp(`[a-z0-9${JOIN}]+`, 'gi');

/**
 * Words of the patterns' literal text that a replaced token must not contain, lower-case. A word counts only
 * where a token could overlap it: at the edge of a literal (next to a character class, an optional character, a
 * group or alternation boundary, a `\b`, the pattern's start or end). A word with a required separator on both
 * sides (` add: `) can only be met by a token equal to it, and that token has no digit. Escapes and character
 * classes are not words; a letter class or an optional letter joins its word, which is then represented by its
 * longest piece (the piece any token holding the word holds too).
 */
export function literalWords(
  patterns: readonly (RegExp | string)[],
  which: 'edge' | 'all' = 'edge',
): string[] {
  const words = new Set<string>();
  for (const p of patterns) {
    const literal =
      typeof p === 'string'
        ? `${EDGE}${p}${EDGE}`
        : `${EDGE}${p.source}${EDGE}`
            // \s and escaped punctuation require a separator; \S, \d, \w, \b ... do not.
            .replace(/\\[s\W]/g, ' ')
            .replace(/\\./g, EDGE)
            // A group's `(?:` is syntax, not a separator: its first word starts an alternative.
            .replace(/\(\?(?:<?[=!]|:)/g, EDGE)
            .replace(/\[[a-z]+\]|[a-z][?*]/gi, JOIN)
            .replace(/\[[^\]]*\]/g, EDGE);
    for (const m of literal.matchAll(WORD_RUN)) {
      let longest = '';
      for (const piece of m[0].split(JOIN)) if (piece.length > longest.length) longest = piece;
      if (longest.length < 2 || !/[a-z]/i.test(longest)) continue;
      const end = m.index + m[0].length;
      // A word with a digit (`k8s`) is met by a token equal to it, which would be replaced.
      const inner =
        !/\d/.test(longest) &&
        !m[0].includes(JOIN) &&
        isSeparator(literal[m.index - 1]) &&
        isSeparator(literal[end]) &&
        !'?*+{'.includes(literal[end + 1] ?? '');
      if (!inner || which === 'all') words.add(longest.toLowerCase());
    }
  }
  return [...words].sort((a, b) => b.length - a.length || a.localeCompare(b));
}

/** A character that stands for itself in a pattern and cannot be part of a token. */
function isSeparator(c: string | undefined): boolean {
  return c !== undefined && ` "':,;=-_/.<>!#%&@\`~`.includes(c);
}

const PATTERNS = (Object.values(P) as unknown[]).filter(
  (v): v is RegExp | string => v instanceof RegExp || typeof v === 'string',
);
export const DANGER_WORDS: readonly string[] = literalWords(PATTERNS);
/** Every word of the patterns: a digit-free token equal to one of them may be what a pattern reads, so it is kept. */
const LITERAL_WORDS: ReadonlySet<string> = new Set(literalWords(PATTERNS, 'all'));

const DANGER = new RegExp(DANGER_WORDS.join('|'), 'i');
/** The danger words a token of digits and a–f only can hold: the only check most sandbox ids and uids need. */
const HEX_DANGER_WORDS = DANGER_WORDS.filter((w) => /^[0-9a-f]+$/.test(w));
const HEX_DANGER = HEX_DANGER_WORDS.length > 0 ? new RegExp(HEX_DANGER_WORDS.join('|'), 'i') : undefined;

/** scanTemplate's answer for a message that gets no template (too long): classify it in full. */
export const NO_TEMPLATE = -1;
/** scanTemplate's answer (checked only) for a message normaliseMessage would change: normalise, then scan. */
export const NOT_NORMALISED = -2;

const REPLACED = 1;
const KEPT = 0;

/** Patterns whose match depends on the shape of a replaced token (see the header). */
export const SHAPE_SENSITIVE: readonly RegExp[] = [P.CRIO_SANDBOX, P.BRIDGE_ADDRESS_MISMATCH];

/**
 * A message's template as found by scanTemplate: the replaced tokens' bounds and placeholders. The template is
 * the text between the tokens (its literal segments) with each token's placeholder; it is never built as a
 * string. One instance is reused for every scan (classification is synchronous).
 */
export class TemplateScan {
  text = '';
  count = 0;
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  codes = new Uint8Array(64);

  push(start: number, end: number, code: number): void {
    if (this.count === this.starts.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts, (n) => new Int32Array(n));
      this.ends = grow(this.ends, (n) => new Int32Array(n));
      this.codes = grow(this.codes, (n) => new Uint8Array(n));
    }
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.codes[this.count] = code;
    this.count++;
  }

  /** A hash of the template from the segments' lengths, edge characters and the placeholders (not every char). */
  hash(): number {
    const text = this.text;
    let h = Math.imul(this.count + 1, 0x9e3779b1);
    let previous = 0;
    for (let k = 0; k <= this.count; k++) {
      const start = k < this.count ? this.starts[k] : text.length;
      const length = start - previous;
      h = Math.imul(h ^ length, 0x01000193);
      if (length > 0) {
        h = Math.imul(h ^ text.charCodeAt(previous), 0x01000193);
        h = Math.imul(h ^ text.charCodeAt(start - 1), 0x01000193);
        h = Math.imul(h ^ text.charCodeAt(previous + (length >> 1)), 0x01000193);
      }
      if (k < this.count) {
        h = Math.imul(h ^ this.codes[k], 0x01000193);
        previous = this.ends[k];
      }
    }
    return h >>> 0;
  }

  /** The template, kept by a cache entry to compare later messages with. */
  freeze(): FrozenTemplate {
    const segments: string[] = [];
    let previous = 0;
    for (let k = 0; k < this.count; k++) {
      segments.push(this.text.slice(previous, this.starts[k]));
      previous = this.ends[k];
    }
    segments.push(this.text.slice(previous));
    return { segments, codes: this.codes.slice(0, this.count) };
  }

  /** Is this message's template the frozen one? Literal segments are compared natively, tokens by placeholder. */
  matches(template: FrozenTemplate): boolean {
    const { segments, codes } = template;
    if (codes.length !== this.count) return false;
    const text = this.text;
    let previous = 0;
    for (let k = 0; k < this.count; k++) {
      const segment = segments[k];
      if (this.starts[k] - previous !== segment.length || codes[k] !== this.codes[k]) return false;
      if (!text.startsWith(segment, previous)) return false;
      previous = this.ends[k];
    }
    const last = segments[this.count];
    return text.length - previous === last.length && text.startsWith(last, previous);
  }
}

export interface FrozenTemplate {
  segments: string[];
  codes: Uint8Array;
}

/**
 * Finds the tokens of `text` its template replaces, into `scan`; returns their count, NO_TEMPLATE, or (with
 * `checked`) NOT_NORMALISED when the text has whitespace other than single spaces between words or any non-ASCII
 * character (normaliseMessage might change it). One pass over the characters.
 */
export function scanTemplate(text: string, checked: boolean, scan: TemplateScan): number {
  const n = text.length;
  if (n > TEMPLATE_MAX_CHARS) return NO_TEMPLATE;
  scan.text = text;
  scan.count = 0;
  let i = 0;
  let previous = 32;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (!isAlnum(c)) {
      if (checked && (c < 32 || c > 126 || (c === 32 && (previous === 32 || i === n - 1))))
        return NOT_NORMALISED;
      previous = c;
      i++;
      continue;
    }
    const start = i;
    let digits = 0;
    let hexOnly = true;
    do {
      if (c <= 57) digits++;
      else if ((c | 32) > 102) hexOnly = false;
      c = ++i < n ? text.charCodeAt(i) : 0;
    } while (isAlnum(c));
    const afterDash = previous === 45;
    previous = 65;
    if (digits === 0 && !afterDash) continue;
    const code = tokenCode(text, start, i, digits, hexOnly);
    if (code !== KEPT) scan.push(start, i, code);
  }
  return scan.count;
}

/**
 * The placeholder for the token text[start, end) (one with a digit, or any after a `-`), or KEPT when it stays as
 * it is: it holds a danger word, or it has no digit and is a word of the patterns.
 */
function tokenCode(text: string, start: number, end: number, digits: number, hexOnly: boolean): number {
  if (digits === 0) {
    const token = text.slice(start, end);
    return LITERAL_WORDS.has(token.toLowerCase()) || DANGER.test(token) ? KEPT : REPLACED;
  }
  if (digits === end - start) return REPLACED;
  const danger = hexOnly ? HEX_DANGER : DANGER;
  return danger && danger.test(text.slice(start, end)) ? KEPT : REPLACED;
}

/** An ASCII letter or digit. */
function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122);
}

/**
 * Values by template, bounded, least recently used evicted first (a Map keeps insertion order; a hit moves its
 * entry last). Keyed by TemplateScan.hash; each entry keeps its template, and a lookup answers only a message whose
 * scan matches it, so a hash collision is a miss, never a wrong answer.
 */
export class TemplateCache<V> {
  private readonly entries = new Map<number, { template: FrozenTemplate; value: V }>();
  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('TemplateCache capacity must be at least 1');
  }

  get size(): number {
    return this.entries.size;
  }

  get(hash: number, scan: TemplateScan): V | undefined {
    const entry = this.entries.get(hash);
    if (entry === undefined || !scan.matches(entry.template)) return undefined;
    this.entries.delete(hash);
    this.entries.set(hash, entry);
    return entry.value;
  }

  set(hash: number, scan: TemplateScan, value: V): void {
    this.entries.delete(hash);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(hash, { template: scan.freeze(), value });
  }

  clear(): void {
    this.entries.clear();
  }
}
