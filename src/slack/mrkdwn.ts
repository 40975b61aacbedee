/**
 * Slack mrkdwn safety. Every string that comes from a cluster (pod names, namespaces, event messages,
 * node names, evidence) is untrusted: `<!channel>` would page a whole channel, `<https://x|y>` would
 * plant a disguised link, `<@U123>` would mention someone. Slack only needs &, < and > escaped for
 * control sequences to appear literally (https://api.slack.com/reference/surfaces/formatting#escaping).
 * Invisible and reordering characters (ESC, U+202E, zero-width spaces) are neutralised as well.
 */

import { sanitizeText } from '../util/sanitize.js';

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Escapes &, < and > so the text shows literally and can never form a mention, link or command; control,
 * bidi-override and zero-width characters are made visible first (util/sanitize.ts).
 */
export function escapeMrkdwn(text: unknown): string {
  return sanitizeText(text).replace(/[&<>]/g, (c) => ENTITY[c]);
}

/**
 * Escaped text inside an inline code span. A backtick in the text would close the span early and let the
 * rest be formatted, so backticks become the look-alike U+02CB; newlines would also end the span.
 */
export function code(text: unknown, max = 200): string {
  const flat = truncate(String(text ?? '').replace(/[\r\n]+/g, ' '), max);
  return `\`${escapeMrkdwn(flat.replace(/`/g, 'ˋ')) || ' '}\``;
}

/** Escaped text inside a code block (```). Triple backticks in the text would close the block. */
export function codeBlock(text: unknown, max = 1500): string {
  const body = truncate(String(text ?? ''), max).replace(/```/g, 'ˋˋˋ');
  return `\`\`\`${escapeMrkdwn(body)}\`\`\``;
}

/** Bold escaped text; `*` inside would end the bold, so it is replaced with a look-alike. */
export function bold(text: unknown): string {
  return `*${escapeMrkdwn(String(text ?? '').replace(/\*/g, '∗'))}*`;
}

/** Cuts `text` to at most `max` characters (including the marker) and says that it did. */
export function truncate(text: string, max: number, marker = '…'): string {
  if (text.length <= max) return text;
  if (max <= marker.length) return marker.slice(0, max);
  return text.slice(0, max - marker.length) + marker;
}

/**
 * Keeps the first `max` items and reports how many were left out, e.g. "…and 42 more evidence lines",
 * so a truncated list never pretends to be complete.
 */
export function limitList<T>(items: readonly T[], max: number, noun: string): { items: T[]; note?: string } {
  if (items.length <= max) return { items: [...items] };
  const rest = items.length - max;
  return { items: items.slice(0, max), note: `…and ${rest} more ${noun}` };
}

/** A Slack user mention for ids we got from Slack itself (never for text from a cluster). */
export function mention(userId: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

/**
 * Mentions of configured people (users, user groups, @here) for paging: built only from ids that look like
 * Slack's own (from clusters.yaml, resolved through Slack), never from cluster text.
 */
export function mentionTargets(targets: {
  users: readonly string[];
  groups: readonly string[];
  here: boolean;
}): string {
  const parts = [
    ...targets.groups.filter((g) => /^S[A-Z0-9]{2,}$/.test(g)).map((g) => `<!subteam^${g}>`),
    ...targets.users.filter((u) => /^[UW][A-Z0-9]{2,}$/.test(u)).map((u) => `<@${u}>`),
    ...(targets.here ? ['<!here>'] : []),
  ];
  return parts.join(' ');
}
