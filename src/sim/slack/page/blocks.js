/* Block Kit -> DOM for the page (section, fields, accessory, header, divider, context, actions with
 * buttons, image, rich_text). Text goes through mrkdwn.js or textContent, never an HTML parser. */
/* global parseMrkdwn, mrkdwnToDom, withEmoji */
/* exported renderBlocks, renderTextObject */

/** ctx: { doc, links, userName, channelName, groupHandle, onButton(button, element) } */
function renderTextObject(obj, ctx) {
  const span = ctx.doc.createElement('span');
  if (!obj || typeof obj.text !== 'string') return span;
  if (obj.type === 'mrkdwn') {
    span.className = 'mrkdwn';
    span.appendChild(mrkdwnToDom(parseMrkdwn(obj.text, ctx), ctx.doc));
  } else {
    span.textContent = obj.emoji === false ? obj.text : withEmoji(obj.text);
  }
  return span;
}

function renderButton(button, block, ctx) {
  const b = ctx.doc.createElement('button');
  b.type = 'button';
  b.className =
    'btn' + (button.style === 'primary' ? ' btn-primary' : button.style === 'danger' ? ' btn-danger' : '');
  b.setAttribute('data-testid', 'block-button');
  b.dataset.actionId = String(button.action_id || '');
  b.dataset.blockId = String(block.block_id || '');
  b.textContent =
    button.text && typeof button.text.text === 'string' ? withEmoji(button.text.text) : 'Button';
  b.addEventListener('click', () => ctx.onButton(button, block, b));
  return b;
}

function renderElement(element, block, ctx) {
  const doc = ctx.doc;
  if (!element || typeof element !== 'object') return doc.createTextNode('');
  if (element.type === 'button') return renderButton(element, block, ctx);
  if (element.type === 'mrkdwn' || element.type === 'plain_text') return renderTextObject(element, ctx);
  if (element.type === 'image') {
    // External images are never loaded: the page stays self-contained.
    const span = doc.createElement('span');
    span.className = 'block-image-inline';
    span.textContent = `🖼 ${element.alt_text || 'image'}`;
    return span;
  }
  const span = doc.createElement('span');
  span.className = 'block-unsupported';
  span.textContent = `[${element.type || 'element'} not shown by the emulator]`;
  return span;
}

function richTextToMrkdwn(elements) {
  let out = '';
  for (const e of elements || []) {
    if (!e || typeof e !== 'object') continue;
    if (e.type === 'text')
      out += String(e.text || '')
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;');
    else if (e.type === 'link') out += `<${e.url}|${e.text || e.url}>`;
    else if (e.type === 'user') out += `<@${e.user_id}>`;
    else if (e.type === 'channel') out += `<#${e.channel_id}>`;
    else if (e.type === 'emoji') out += `:${e.name}:`;
    else if (Array.isArray(e.elements)) out += richTextToMrkdwn(e.elements) + '\n';
  }
  return out;
}

function renderBlock(block, ctx) {
  const doc = ctx.doc;
  const div = doc.createElement('div');
  if (!block || typeof block !== 'object') return div;
  switch (block.type) {
    case 'section': {
      div.className = 'block-section';
      const main = doc.createElement('div');
      main.className = 'block-section-main';
      if (block.text) main.appendChild(renderTextObject(block.text, ctx));
      if (Array.isArray(block.fields)) {
        const fields = doc.createElement('div');
        fields.className = 'block-fields';
        for (const f of block.fields) fields.appendChild(renderTextObject(f, ctx));
        main.appendChild(fields);
      }
      div.appendChild(main);
      if (block.accessory) {
        const acc = doc.createElement('div');
        acc.className = 'block-accessory';
        acc.appendChild(renderElement(block.accessory, block, ctx));
        div.appendChild(acc);
      }
      return div;
    }
    case 'header':
      div.className = 'block-header';
      div.textContent = block.text && typeof block.text.text === 'string' ? withEmoji(block.text.text) : '';
      return div;
    case 'divider': {
      const hr = doc.createElement('hr');
      hr.className = 'block-divider';
      return hr;
    }
    case 'context':
      div.className = 'block-context';
      for (const e of block.elements || []) div.appendChild(renderElement(e, block, ctx));
      return div;
    case 'actions':
      div.className = 'block-actions';
      for (const e of block.elements || []) div.appendChild(renderElement(e, block, ctx));
      return div;
    case 'image':
      div.className = 'block-image';
      div.textContent = `🖼 ${(block.title && block.title.text) || block.alt_text || 'image'} (images are not loaded by the emulator)`;
      return div;
    case 'rich_text':
    case 'markdown': {
      const text = block.type === 'markdown' ? String(block.text || '') : richTextToMrkdwn(block.elements);
      div.className = 'mrkdwn';
      div.appendChild(mrkdwnToDom(parseMrkdwn(text.replace(/\n$/, ''), ctx), doc));
      return div;
    }
    default:
      div.className = 'block-unsupported';
      div.textContent = `[${block.type || 'unknown'} block not shown by the emulator]`;
      return div;
  }
}

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- called by the next script of the page
function renderBlocks(blocks, ctx) {
  const container = ctx.doc.createElement('div');
  container.className = 'blocks';
  container.setAttribute('data-testid', 'message-blocks');
  for (const block of blocks) container.appendChild(renderBlock(block, ctx));
  return container;
}
