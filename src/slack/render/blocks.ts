/**
 * Minimal Block Kit builders that respect Slack's limits by construction (domain/stack.md §1.3):
 * ≤50 blocks, section text ≤3000, fields ≤10 × ≤2000, button text ≤75, value ≤2000, and an
 * undocumented ~13k total that we keep under MAX_MESSAGE_CHARS.
 */
import type {
  ActionsBlock,
  Button,
  Confirmation,
  ContextBlock,
  DividerBlock,
  HeaderBlock,
  KnownBlock,
  MrkdwnElement,
  PlainTextElement,
  SectionBlock,
} from '@slack/types';
import { truncate } from '../mrkdwn.js';

export const MAX_BLOCKS = 50;
export const MAX_SECTION_TEXT = 3000;
export const MAX_FIELD_TEXT = 2000;
export const MAX_FIELDS = 10;
export const MAX_BUTTON_TEXT = 75;
export const MAX_BUTTON_VALUE = 2000;
export const MAX_HEADER_TEXT = 150;
export const MAX_CONTEXT_ELEMENTS = 10;
/** Below the ~13.2k chars where Slack answered msg_blocks_too_long (bolt-js#2509). */
export const MAX_MESSAGE_CHARS = 12_000;
/** The notification fallback `text`; Slack cuts at 40k, people read the first line. */
export const MAX_FALLBACK_TEXT = 3000;

/** Block Kit's own types (@slack/types): the subset the bot builds. */
export type TextObject = MrkdwnElement | PlainTextElement;
export type ConfirmDialog = Confirmation;
export type ButtonElement = Button;
/** An actions block of buttons only (the bot offers no other interactive element). */
export type ButtonsBlock = Omit<ActionsBlock, 'elements'> & { elements: Button[] };
/** Every block the bot sends. */
export type Block = SectionBlock | HeaderBlock | ContextBlock | DividerBlock | ButtonsBlock;
/** Compile-time check that each of them is a block Block Kit knows (a KnownBlock of @slack/types). */
type KnownBlocksOnly<T extends KnownBlock> = T;
export type SentBlock = KnownBlocksOnly<Block>;

/** A Slack message body (chat.postMessage / chat.update / response_url). */
export interface SlackMessage {
  text: string;
  blocks: Block[];
}

export const mrkdwn = (text: string, max = MAX_SECTION_TEXT): TextObject => ({
  type: 'mrkdwn',
  text: truncate(text, max),
});

export const section = (text: string): Block => ({ type: 'section', text: mrkdwn(text) });

export const fields = (items: string[]): Block => ({
  type: 'section',
  fields: items.slice(0, MAX_FIELDS).map((f) => mrkdwn(f, MAX_FIELD_TEXT)),
});

export const header = (text: string): Block => ({
  type: 'header',
  text: { type: 'plain_text', text: truncate(text, MAX_HEADER_TEXT), emoji: true },
});

export const context = (...texts: string[]): Block => ({
  type: 'context',
  elements: texts.slice(0, MAX_CONTEXT_ELEMENTS).map((t) => mrkdwn(t, MAX_FIELD_TEXT)),
});

export const divider = (): Block => ({ type: 'divider' });

export const button = (
  text: string,
  actionId: string,
  value?: string,
  style?: 'primary' | 'danger',
  confirm?: { title: string; text: string; confirm: string },
): ButtonElement => ({
  type: 'button',
  text: { type: 'plain_text', text: truncate(text, MAX_BUTTON_TEXT), emoji: true },
  action_id: actionId,
  ...(value !== undefined && { value: value.slice(0, MAX_BUTTON_VALUE) }),
  ...(style && { style }),
  ...(confirm && {
    confirm: {
      title: { type: 'plain_text', text: truncate(confirm.title, 100) },
      text: { type: 'mrkdwn', text: truncate(confirm.text, 300) },
      confirm: { type: 'plain_text', text: truncate(confirm.confirm, 30) },
      deny: { type: 'plain_text', text: 'Cancel' },
      ...(style === 'danger' && { style: 'danger' as const }),
    },
  }),
});

export const actions = (...elements: ButtonElement[]): Block => ({
  type: 'actions',
  elements: elements.slice(0, 25),
});

/** Characters Slack counts towards the message size (all text in the blocks). */
export function blockChars(block: Block): number {
  return JSON.stringify(block).length;
}

/**
 * Splits `lines` into section blocks each within the section limit (joined by newlines), so a long
 * list needs as few blocks as possible.
 */
export function linesToSections(lines: readonly string[], maxChars = MAX_SECTION_TEXT): Block[] {
  const out: Block[] = [];
  let current = '';
  for (const raw of lines) {
    const line = truncate(raw, maxChars);
    if (current && current.length + 1 + line.length > maxChars) {
      out.push(section(current));
      current = '';
    }
    current = current ? `${current}\n${line}` : line;
  }
  if (current) out.push(section(current));
  return out;
}

/**
 * Keeps the message within the block count and total size: the `body` is cut (with a context note
 * saying so) while the `tail` (e.g. buttons) always stays.
 */
export function fitMessage(
  text: string,
  body: readonly Block[],
  tail: readonly Block[] = [],
  limits: { maxBlocks?: number; maxChars?: number } = {},
): SlackMessage {
  const maxBlocks = limits.maxBlocks ?? MAX_BLOCKS;
  const maxChars = limits.maxChars ?? MAX_MESSAGE_CHARS;
  const note = context(
    '_…message shortened to fit Slack; run `flannel-ops diagnose CLUSTER` for everything_',
  );
  const tailChars = tail.reduce((n, b) => n + blockChars(b), 0);
  const bodyChars = body.reduce((n, b) => n + blockChars(b), 0);
  if (body.length + tail.length <= maxBlocks && bodyChars + tailChars <= maxChars) {
    return { text: truncate(text, MAX_FALLBACK_TEXT), blocks: [...body, ...tail] };
  }
  const kept: Block[] = [];
  let chars = tailChars;
  for (const block of body) {
    const size = blockChars(block);
    // Something will be cut: keep room for the note that says so.
    if (kept.length + tail.length + 2 > maxBlocks || chars + size + blockChars(note) > maxChars) break;
    kept.push(block);
    chars += size;
  }
  return { text: truncate(text, MAX_FALLBACK_TEXT), blocks: [...kept, note, ...tail] };
}
