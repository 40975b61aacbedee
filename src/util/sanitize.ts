/**
 * One sanitiser for text that came from users or from a cluster (pod names, event messages, command text)
 * before Slack or a terminal shows it. Invisible or reordering characters are made visible as `\uXXXX` so
 * nothing is silently dropped and nothing can disguise itself:
 *
 * - C0 controls, DEL and C1 controls (ESC starts terminal escape sequences; U+009B is a one-byte CSI):
 *   they can recolour, move the cursor, retitle or clear a terminal, or hide text after a carriage return;
 * - bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069, U+061C): "Trojan Source" reordering;
 * - zero-width and invisible formatting characters (U+200B-U+200F, U+2060, U+FEFF): look-alike names.
 *
 * Newlines (and tabs) are kept where the text is multi-line by nature and turned visible elsewhere, so a
 * value cannot forge a line of its own in a log-like listing.
 */

// One class, built from code points so the source file itself holds no invisible characters.
const range = (from: number, to: number) => `\\u{${from.toString(16)}}-\\u{${to.toString(16)}}`;
const UNSAFE = new RegExp(
  `[${range(0x00, 0x08)}\\u{0b}\\u{0c}${range(0x0e, 0x1f)}${range(0x7f, 0x9f)}\\u{061c}${range(0x200b, 0x200f)}${range(0x202a, 0x202e)}\\u{2060}${range(0x2066, 0x2069)}\\u{feff}]`,
  'gu',
);
const LINE_BREAKS = /\r\n|[\r\n\t]/g;

/** `\u001B`-style text for one character, visible and inert everywhere. */
export function visibleCodePoint(char: string): string {
  return `\\u${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

export interface SanitizeOptions {
  /** Keep \n and \t (a carriage return always becomes \n or visible). Default true. */
  multiline?: boolean;
}

/** The text with every unsafe character made visible; safe for Slack (before mrkdwn escaping) and terminals. */
export function sanitizeText(text: unknown, { multiline = true }: SanitizeOptions = {}): string {
  const s = String(text ?? '');
  const lines = multiline
    ? s.replace(/\r\n?/g, '\n')
    : s.replace(LINE_BREAKS, (c) => (c === '\t' ? ' ' : visibleCodePoint(c.slice(-1))));
  return lines.replace(UNSAFE, visibleCodePoint);
}

/** One line for a terminal listing: no control, bidi or zero-width character, no line break. */
export function terminalLine(text: unknown): string {
  return sanitizeText(text, { multiline: false });
}

/**
 * JSON for a terminal or a pipe: JSON.stringify already escapes C0 controls, but leaves C1, bidi and
 * zero-width characters raw; this escapes them too (`\uXXXX` is valid JSON, the data is unchanged).
 */
export function terminalJson(json: string): string {
  return json.replace(UNSAFE, visibleCodePoint);
}
