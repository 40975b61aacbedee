/**
 * Block Kit limits the real Web API enforces, so a bot that passes here is not rejected by Slack
 * (shared/domain/stack.md §1.3). Pure: returns Slack-style error lines, empty when valid.
 */

export const MAX_BLOCKS = 50;
export const MAX_MESSAGE_TEXT = 40_000;

const BLOCK_TYPES = new Set([
  'section',
  'divider',
  'header',
  'context',
  'actions',
  'image',
  'rich_text',
  'input',
  'file',
  'video',
  'markdown',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Problems {
  readonly lines: string[] = [];
  add(pointer: string, message: string): void {
    this.lines.push(`${message} [json-pointer:${pointer}]`);
  }
}

function checkText(p: Problems, at: string, value: unknown, max: number, types = ['plain_text', 'mrkdwn']) {
  if (!isObj(value)) return p.add(at, 'must be a text object');
  if (typeof value.type !== 'string' || !types.includes(value.type))
    return p.add(`${at}/type`, `must be one of ${types.join(', ')}`);
  if (typeof value.text !== 'string' || value.text.length === 0)
    return p.add(`${at}/text`, 'must be more than 0 characters');
  if (value.text.length > max) p.add(`${at}/text`, `must be less than ${max + 1} characters`);
}

function checkMaxString(p: Problems, at: string, value: unknown, max: number) {
  if (value === undefined) return;
  if (typeof value !== 'string') return p.add(at, 'must be a string');
  if (value.length > max) p.add(at, `must be less than ${max + 1} characters`);
}

function checkButton(p: Problems, at: string, el: Obj, actionIds: Set<string>) {
  checkText(p, `${at}/text`, el.text, 75, ['plain_text']);
  checkMaxString(p, `${at}/action_id`, el.action_id, 255);
  checkMaxString(p, `${at}/value`, el.value, 2000);
  checkMaxString(p, `${at}/url`, el.url, 3000);
  if (el.style !== undefined && el.style !== 'primary' && el.style !== 'danger')
    p.add(`${at}/style`, 'must be one of primary, danger');
  if (typeof el.action_id === 'string') {
    if (actionIds.has(el.action_id)) p.add(`${at}/action_id`, 'must be unique within the block');
    actionIds.add(el.action_id);
  }
}

function checkElement(p: Problems, at: string, el: unknown, actionIds: Set<string>) {
  if (!isObj(el) || typeof el.type !== 'string') return p.add(at, 'must be an element with a type');
  if (el.type === 'button') checkButton(p, at, el, actionIds);
}

function checkBlock(p: Problems, at: string, block: unknown) {
  if (!isObj(block) || typeof block.type !== 'string') return p.add(at, 'must be a block with a type');
  if (!BLOCK_TYPES.has(block.type)) return p.add(`${at}/type`, `unsupported block type: ${block.type}`);
  checkMaxString(p, `${at}/block_id`, block.block_id, 255);
  const actionIds = new Set<string>();
  switch (block.type) {
    case 'section': {
      if (block.text === undefined && block.fields === undefined) p.add(at, 'must provide text or fields');
      if (block.text !== undefined) checkText(p, `${at}/text`, block.text, 3000);
      if (block.fields !== undefined) {
        if (!Array.isArray(block.fields) || block.fields.length === 0 || block.fields.length > 10)
          p.add(`${at}/fields`, 'must be an array of 1 to 10 items');
        else block.fields.forEach((f, i) => checkText(p, `${at}/fields/${i}`, f, 2000));
      }
      if (block.accessory !== undefined) checkElement(p, `${at}/accessory`, block.accessory, actionIds);
      break;
    }
    case 'header':
      checkText(p, `${at}/text`, block.text, 150, ['plain_text']);
      break;
    case 'context': {
      const els = block.elements;
      if (!Array.isArray(els) || els.length === 0 || els.length > 10)
        p.add(`${at}/elements`, 'must be an array of 1 to 10 items');
      else
        els.forEach((el, i) => {
          if (isObj(el) && el.type !== 'image') checkText(p, `${at}/elements/${i}`, el, 3000);
        });
      break;
    }
    case 'actions': {
      const els = block.elements;
      if (!Array.isArray(els) || els.length === 0 || els.length > 25)
        p.add(`${at}/elements`, 'must be an array of 1 to 25 items');
      else els.forEach((el, i) => checkElement(p, `${at}/elements/${i}`, el, actionIds));
      break;
    }
    default:
      break;
  }
}

/** Errors for `blocks` as chat.postMessage / chat.update would report them under `invalid_blocks`. */
export function blockProblems(blocks: unknown[]): string[] {
  const p = new Problems();
  if (blocks.length > MAX_BLOCKS) p.add('/blocks', `must be less than ${MAX_BLOCKS + 1} items`);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    checkBlock(p, `/blocks/${i}`, block);
    if (isObj(block) && typeof block.block_id === 'string') {
      if (blockIds.has(block.block_id)) p.add(`/blocks/${i}/block_id`, 'must be unique within the message');
      blockIds.add(block.block_id);
    }
  });
  return p.lines;
}

export interface FoundButton {
  action_id: string;
  block_id: string;
  value?: string;
  text: unknown;
  style?: string;
  url?: string;
}

/** Every button of a message (actions elements and section accessories), with its block's id. */
export function buttonsOf(blocks: unknown[] | undefined): FoundButton[] {
  const out: FoundButton[] = [];
  for (const [i, block] of (blocks ?? []).entries()) {
    if (!isObj(block)) continue;
    const blockId = typeof block.block_id === 'string' ? block.block_id : `b${i}`;
    const candidates = Array.isArray(block.elements) ? [...block.elements] : [];
    if (block.accessory !== undefined) candidates.push(block.accessory);
    for (const el of candidates) {
      if (!isObj(el) || el.type !== 'button' || typeof el.action_id !== 'string') continue;
      out.push({
        action_id: el.action_id,
        block_id: blockId,
        text: el.text,
        ...(typeof el.value === 'string' ? { value: el.value } : {}),
        ...(typeof el.style === 'string' ? { style: el.style } : {}),
        ...(typeof el.url === 'string' ? { url: el.url } : {}),
      });
    }
  }
  return out;
}
