/* Slack mrkdwn -> a tree of plain nodes -> DOM. Nothing is parsed as HTML: every character of a message
 * ends up in a text node, and only whitelisted tags with checked attributes are created.
 * Loaded into the page (and into a Node vm by the unit test) as a plain script. */
/* exported parseMrkdwn, mrkdwnToDom, decodeEntities, withEmoji */

const EMOJI = {
  red_circle: '🔴',
  large_green_circle: '🟢',
  large_yellow_circle: '🟡',
  large_orange_circle: '🟠',
  large_blue_circle: '🔵',
  white_circle: '⚪',
  black_circle: '⚫',
  white_check_mark: '✅',
  heavy_check_mark: '✔️',
  ballot_box_with_check: '☑️',
  x: '❌',
  heavy_multiplication_x: '✖️',
  warning: '⚠️',
  raised_hand: '✋',
  rotating_light: '🚨',
  fire: '🔥',
  mag: '🔍',
  mag_right: '🔎',
  hourglass: '⌛',
  hourglass_flowing_sand: '⏳',
  stopwatch: '⏱️',
  wrench: '🔧',
  hammer_and_wrench: '🛠️',
  gear: '⚙️',
  clipboard: '📋',
  memo: '📝',
  information_source: 'ℹ️',
  question: '❓',
  grey_question: '❔',
  exclamation: '❗',
  no_entry: '⛔',
  no_entry_sign: '🚫',
  lock: '🔒',
  key: '🔑',
  arrows_counterclockwise: '🔄',
  repeat: '🔁',
  heavy_minus_sign: '➖',
  heavy_plus_sign: '➕',
  point_right: '👉',
  eyes: '👀',
  tada: '🎉',
  skull: '💀',
  construction: '🚧',
  zap: '⚡',
  bulb: '💡',
  link: '🔗',
  package: '📦',
  computer: '💻',
  desktop_computer: '🖥️',
  electric_plug: '🔌',
  globe_with_meridians: '🌐',
  satellite: '📡',
  bar_chart: '📊',
  chart_with_upwards_trend: '📈',
  scroll: '📜',
  spiral_note_pad: '🗒️',
  thumbsup: '👍',
  '+1': '👍',
  thumbsdown: '👎',
  '-1': '👎',
  ok_hand: '👌',
  white_circle_outline: '○',
  black_square_button: '🔲',
  white_square_button: '🔳',
  fast_forward: '⏩',
  double_vertical_bar: '⏸️',
  stop_button: '⏹️',
  arrow_right: '➡️',
  leftwards_arrow_with_hook: '↩️',
  bust_in_silhouette: '👤',
  busts_in_silhouette: '👥',
  shield: '🛡️',
  robot_face: '🤖',
  broom: '🧹',
  recycle: '♻️',
  pushpin: '📌',
  calendar: '📅',
  sparkles: '✨',
};

/** Slack escapes only these three; decoding them yields the characters the sender meant. */
function decodeEntities(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function withEmoji(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);
}

const SAFE_URL = /^(https?:\/\/|mailto:)/i;
const WORDY = /[A-Za-z0-9]/;

function textNode(value) {
  return { t: 'text', v: value };
}

function el(tag, kids, extra) {
  return Object.assign({ t: 'el', tag, kids: kids || [] }, extra || {});
}

/** `<...>` of a sender allowed to use Slack's markup: mentions, broadcasts and links. */
function angleToken(inner, ctx) {
  const bar = inner.indexOf('|');
  const head = bar === -1 ? inner : inner.slice(0, bar);
  const label = bar === -1 ? undefined : decodeEntities(inner.slice(bar + 1));
  if (/^@[UW][A-Z0-9]+$/.test(head)) {
    return el('span', [textNode(`@${label || ctx.userName(head.slice(1))}`)], { cls: 'mention' });
  }
  if (/^#C[A-Z0-9]+$/.test(head)) {
    return el('span', [textNode(`#${label || ctx.channelName(head.slice(1))}`)], { cls: 'mention' });
  }
  if (/^!(here|channel|everyone)$/.test(head)) {
    return el('span', [textNode(`@${head.slice(1)}`)], { cls: 'mention-broadcast' });
  }
  const subteam = /^!subteam\^([A-Z0-9]+)$/.exec(head);
  if (subteam) {
    return el('span', [textNode(label || `@${ctx.groupHandle(subteam[1])}`)], { cls: 'mention-broadcast' });
  }
  if (/^!date\^/.test(head)) return textNode(label || head);
  const url = decodeEntities(head);
  if (SAFE_URL.test(url)) return el('a', [textNode(label || url)], { href: url });
  // Anything else is not markup Slack understands: show it exactly as sent.
  return textNode(decodeEntities(`<${inner}>`));
}

const INLINE = /`([^`\n]+)`|<([^<>\n]+)>|\*([^*\n]+)\*|_([^_\n]+)_|~([^~\n]+)~/g;
const WRAPPERS = { '*': 'b', _: 'i', '~': 's' };

/** One line of text: code spans, links/mentions, *bold*, _italic_, ~strike~, emoji. */
function parseInline(text, ctx) {
  const out = [];
  let plain = '';
  const flush = () => {
    if (plain) out.push(textNode(withEmoji(decodeEntities(plain))));
    plain = '';
  };
  const re = new RegExp(INLINE.source, 'g');
  let last = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    const start = m.index;
    const end = start + m[0].length;
    const marker = m[0][0];
    let node;
    if (marker === '`') {
      node = el('code', [textNode(decodeEntities(m[1]))]);
    } else if (marker === '<') {
      node = ctx.links ? angleToken(m[2], ctx) : undefined;
    } else {
      const inner = m[3] || m[4] || m[5];
      const before = text[start - 1];
      const after = text[end];
      const bounded =
        (before === undefined || !WORDY.test(before)) &&
        (after === undefined || !WORDY.test(after)) &&
        !/^\s|\s$/.test(inner);
      node = bounded ? el(WRAPPERS[marker], parseInline(inner, ctx)) : undefined;
    }
    if (node === undefined) {
      // Not markup here: keep the first character as text and look again from the next one.
      re.lastIndex = start + 1;
      continue;
    }
    plain += text.slice(last, start);
    flush();
    out.push(node);
    last = end;
  }
  plain += text.slice(last);
  flush();
  return out;
}

/** Lines with quotes (`>` / `&gt;`) and line breaks. */
function parseLines(text, ctx) {
  const out = [];
  const lines = text.split('\n');
  let quote = null;
  lines.forEach((line, i) => {
    const q = /^(?:>|&gt;)\s?(.*)$/.exec(line);
    if (q) {
      if (!quote) {
        quote = el('blockquote', []);
        out.push(quote);
      } else {
        quote.kids.push(el('br'));
      }
      quote.kids.push(...parseInline(q[1], ctx));
      return;
    }
    quote = null;
    if (i > 0 && out.length > 0 && out[out.length - 1].tag !== 'blockquote') out.push(el('br'));
    out.push(...parseInline(line, ctx));
  });
  return out;
}

/** Whole mrkdwn text: ``` code blocks first, then lines. ctx: { links, userName, channelName, groupHandle }. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- called by the next script of the page
function parseMrkdwn(src, ctx) {
  const parts = String(src).split('```');
  // An unclosed fence is plain text, as in Slack.
  if (parts.length % 2 === 0)
    parts.splice(parts.length - 2, 2, `${parts[parts.length - 2]}\`\`\`${parts[parts.length - 1]}`);
  const out = [];
  parts.forEach((part, i) => {
    if (i % 2 === 1) out.push(el('pre', [textNode(decodeEntities(part.replace(/^\n/, '')))]));
    else if (part !== '') out.push(...parseLines(part, ctx));
  });
  return out;
}

const ALLOWED_TAGS = new Set(['b', 'i', 's', 'code', 'pre', 'blockquote', 'br', 'a', 'span']);

/** Builds DOM from parsed nodes: text through textContent, hrefs only http(s)/mailto. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- called by the next script of the page
function mrkdwnToDom(nodes, doc) {
  const frag = doc.createDocumentFragment();
  for (const node of nodes) {
    if (node.t === 'text') {
      frag.appendChild(doc.createTextNode(node.v));
      continue;
    }
    if (!ALLOWED_TAGS.has(node.tag)) continue;
    const element = doc.createElement(node.tag);
    if (node.cls) element.className = node.cls;
    if (node.tag === 'a') {
      if (SAFE_URL.test(node.href)) element.href = node.href;
      element.target = '_blank';
      element.rel = 'noopener noreferrer';
    }
    element.appendChild(mrkdwnToDom(node.kids, doc));
    frag.appendChild(element);
  }
  return frag;
}
