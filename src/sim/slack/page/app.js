/* The page's behaviour: channel list, messages (updated in place), threads, buttons, composer and the
 * user switcher, kept live through Server-Sent Events with polling as the fallback. */
/* global document, window, fetch, EventSource, localStorage, URLSearchParams, setTimeout, clearTimeout,
   setInterval, clearInterval, renderBlocks, parseMrkdwn, mrkdwnToDom */

const POLL_MS = 1500;
const COLORS = ['#2b6cb0', '#b83280', '#2f855a', '#c05621', '#6b46c1', '#c53030', '#2c7a7b', '#975a16'];

const state = {
  info: null,
  channel: null,
  messages: [],
  version: -1,
  user: null,
  threadTs: null,
  highlightTs: null,
  unread: new Set(),
  live: false,
};

const $ = (id) => document.getElementById(id);

function make(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function api(path, body) {
  const init =
    body === undefined
      ? {}
      : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  return fetch(`/emulator/api/${path}`, init).then(async (res) => {
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(json.error || `HTTP ${res.status}`);
    return json;
  });
}

let toastTimer;
function toast(text, kind) {
  const t = $('toast');
  t.textContent = text;
  t.className = `toast${kind === 'error' ? ' error' : ''}`;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), kind === 'error' ? 8000 : 4000);
}

// ---- people -----------------------------------------------------------------------------------

function userById(id) {
  return (
    (state.info && state.info.users.find((u) => u.id === id)) || {
      id,
      name: id,
      real_name: id,
      is_bot: false,
    }
  );
}
const isApp = (id) => state.info && (id === state.info.bot.user_id || userById(id).is_bot);

function colorOf(id) {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return COLORS[h % COLORS.length];
}

function initials(name) {
  const words = name.split(/[\s_-]+/).filter(Boolean);
  return ((words[0] || '?')[0] + (words.length > 1 ? words[1][0] : '')).toUpperCase();
}

function avatar(id, small) {
  const u = userById(id);
  const a = make('span', `avatar${small ? ' avatar-small' : ''}`, initials(u.real_name || u.name));
  a.style.background = state.info && id === state.info.bot.user_id ? '#1d1c1d' : colorOf(id);
  a.setAttribute('aria-hidden', 'true');
  return a;
}

function renderContext(links) {
  return {
    doc: document,
    links,
    userName: (id) => userById(id).real_name || id,
    channelName: (id) => (state.info.channels.find((c) => c.id === id) || { name: id }).name,
    groupHandle: (id) => (state.info.groups.find((g) => g.id === id) || { handle: id }).handle,
    onButton: () => {},
  };
}

// ---- messages ---------------------------------------------------------------------------------

const visible = (m) => m.ephemeral_to === undefined || m.ephemeral_to === state.user;

function timeOf(ts) {
  const d = new Date(Number(ts) * 1000);
  return {
    short: d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
    long: d.toLocaleString(),
  };
}

async function clickButton(message, button, block, element) {
  const send = async () => {
    element.disabled = true;
    element.classList.remove('failed');
    try {
      const answer = await api('click', {
        user: state.user,
        channel: state.channel,
        ts: message.ts,
        action_id: button.action_id,
        block_id: block.block_id,
      });
      if (answer.error) {
        element.classList.add('failed');
        toast(`The app did not accept the click: ${answer.error}`, 'error');
      }
    } catch (err) {
      element.classList.add('failed');
      toast(String(err.message || err), 'error');
    } finally {
      element.disabled = false;
    }
  };
  if (button.confirm && !(await confirmDialog(button.confirm))) return;
  await send();
}

function confirmDialog(confirm) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = (confirm.title && confirm.title.text) || 'Are you sure?';
  const body = $('confirm-body');
  body.replaceChildren();
  if (confirm.text) {
    const ctx = renderContext(true);
    if (confirm.text.type === 'mrkdwn')
      body.appendChild(mrkdwnToDom(parseMrkdwn(confirm.text.text, ctx), document));
    else body.textContent = confirm.text.text;
  }
  const ok = $('confirm-ok');
  const cancel = $('confirm-cancel');
  ok.textContent = (confirm.confirm && confirm.confirm.text) || 'Confirm';
  cancel.textContent = (confirm.deny && confirm.deny.text) || 'Cancel';
  ok.className = `btn ${confirm.style === 'danger' ? 'btn-danger' : 'btn-primary'}`;
  dialog.hidden = false;
  return new Promise((resolve) => {
    const done = (value) => {
      dialog.hidden = true;
      ok.onclick = null;
      cancel.onclick = null;
      resolve(value);
    };
    ok.onclick = () => done(true);
    cancel.onclick = () => done(false);
  });
}

function renderMessage(m, testid) {
  const byApp = isApp(m.user);
  const row = make('div', 'message');
  row.setAttribute('data-testid', testid);
  row.dataset.ts = m.ts;
  row.dataset.user = m.user;
  if (m.ephemeral_to !== undefined) {
    row.classList.add('ephemeral');
    row.dataset.ephemeral = 'true';
  }
  if (m.ts === state.highlightTs) row.classList.add('highlight');
  row.appendChild(avatar(m.user));

  const body = make('div', 'message-body');
  const meta = make('div', 'message-meta');
  const who = userById(m.user);
  meta.appendChild(make('span', 'author', who.real_name || who.name));
  if (byApp) meta.appendChild(make('span', 'app-badge', 'APP'));
  const time = timeOf(m.ts);
  const t = make('span', 'time', time.short);
  t.title = time.long;
  meta.appendChild(t);
  if (m.edited) meta.appendChild(make('span', 'edited', '(edited)'));
  body.appendChild(meta);

  // Only the app's own text is Slack markup; what a person typed was escaped when it was posted.
  const ctx = renderContext(byApp);
  ctx.onButton = (button, block, element) => clickButton(m, button, block, element);
  const content = make('div', 'message-content');
  if (Array.isArray(m.blocks) && m.blocks.length > 0) {
    content.appendChild(renderBlocks(m.blocks, ctx));
  } else {
    content.classList.add('mrkdwn');
    content.setAttribute('data-testid', 'message-text');
    content.appendChild(mrkdwnToDom(parseMrkdwn(m.text, ctx), document));
  }
  body.appendChild(content);

  if (m.ephemeral_to !== undefined) body.appendChild(make('div', 'ephemeral-note', '👁 Only visible to you'));

  const replies = (m.replies || []).filter(visible);
  if (testid === 'message' && replies.length > 0) {
    const link = make('button', 'replies-link');
    link.type = 'button';
    link.setAttribute('data-testid', 'replies-link');
    const people = [...new Set(replies.map((r) => r.user))].slice(0, 3);
    for (const p of people) link.appendChild(avatar(p, true));
    link.appendChild(make('span', '', `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`));
    link.addEventListener('click', () => openThread(m.ts));
    body.appendChild(link);
  }
  row.appendChild(body);
  return row;
}

/** Keyed update: a message's node is rebuilt only when it changed, so updates happen in place. */
function reconcile(container, messages, testid, cache) {
  const seen = new Set();
  const nodes = messages.map((m) => {
    const signature = JSON.stringify([m, state.user, state.highlightTs === m.ts, state.info.version]);
    const cached = cache.get(m.ts);
    seen.add(m.ts);
    if (cached && cached.signature === signature) return cached.node;
    const node = renderMessage(m, testid);
    if (cached) cached.node.replaceWith(node);
    cache.set(m.ts, { signature, node });
    return node;
  });
  for (const ts of [...cache.keys()]) if (!seen.has(ts)) cache.delete(ts);
  let cursor = container.firstChild;
  for (const node of nodes) {
    if (node === cursor) cursor = cursor.nextSibling;
    else container.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
}

const channelCache = new Map();
const threadRootCache = new Map();
const threadCache = new Map();

function nearBottom(scroller) {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
}

function renderMessages(first) {
  const scroller = $('messages-scroller');
  const stick = first || nearBottom(scroller);
  reconcile($('message-list'), state.messages.filter(visible), 'message', channelCache);
  if (stick) scroller.scrollTop = scroller.scrollHeight;
  renderThread();
}

function renderThread() {
  const pane = $('thread-pane');
  const root = state.threadTs && state.messages.find((m) => m.ts === state.threadTs);
  if (!root) {
    pane.hidden = true;
    return;
  }
  pane.hidden = false;
  $('thread-channel').textContent = `#${channelName(state.channel)}`;
  const scroller = $('thread-scroller');
  const stick = nearBottom(scroller);
  reconcile($('thread-root'), [root], 'thread-root', threadRootCache);
  const replies = root.replies.filter(visible);
  $('thread-divider').textContent = `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`;
  reconcile($('thread-replies'), replies, 'thread-reply', threadCache);
  if (stick) scroller.scrollTop = scroller.scrollHeight;
}

function openThread(ts) {
  state.threadTs = ts;
  threadRootCache.clear();
  threadCache.clear();
  $('thread-root').replaceChildren();
  $('thread-replies').replaceChildren();
  syncUrl();
  renderThread();
  $('thread-scroller').scrollTop = $('thread-scroller').scrollHeight;
}

function closeThread() {
  state.threadTs = null;
  syncUrl();
  renderThread();
}

// ---- data -------------------------------------------------------------------------------------

let inFlight = false;
let again = false;
async function refresh(first) {
  if (inFlight) {
    again = true;
    return;
  }
  inFlight = true;
  try {
    const channel = state.channel;
    const data = await api(`messages?channel=${encodeURIComponent(channel)}`);
    if (channel === state.channel && (first || data.version !== state.version)) {
      state.messages = data.messages;
      state.version = data.version;
      renderMessages(first);
    }
  } catch (err) {
    setLive(false, `cannot reach the emulator (${err.message})`);
  } finally {
    inFlight = false;
    if (again) {
      again = false;
      refresh(false);
    }
  }
}

const channelName = (id) => (state.info.channels.find((c) => c.id === id) || { name: id }).name;

function syncUrl() {
  const q = new URLSearchParams();
  q.set('channel', state.channel);
  if (state.threadTs) q.set('thread', state.threadTs);
  window.history.replaceState(null, '', `?${q}`);
}

function selectChannel(id) {
  state.channel = id;
  state.threadTs = null;
  state.version = -1;
  state.unread.delete(id);
  channelCache.clear();
  $('message-list').replaceChildren();
  const channel = state.info.channels.find((c) => c.id === id);
  $('channel-title').textContent = `# ${channel.name}`;
  $('channel-topic').textContent = channel.topic || '';
  const intro = $('channel-intro');
  intro.replaceChildren(make('strong', '', `# ${channel.name}`));
  intro.appendChild(
    document.createTextNode(
      `This is the very beginning of the #${channel.name} channel. ${channel.topic || ''}`,
    ),
  );
  renderSidebar();
  updateComposerHint();
  syncUrl();
  refresh(true);
}

function renderSidebar() {
  const list = $('channel-list');
  list.replaceChildren();
  for (const c of state.info.channels) {
    const li = make('li');
    const b = make('button', 'sidebar-item');
    b.type = 'button';
    b.setAttribute('data-testid', 'channel-link');
    b.dataset.channel = c.id;
    if (c.id === state.channel) b.classList.add('active');
    if (state.unread.has(c.id)) b.classList.add('unread');
    // Private channels and DMs look as in Slack; the bot is not in them unless said so.
    const mark = c.kind === 'private' ? '🔒' : c.kind === 'im' ? '@' : '#';
    b.append(make('span', 'sidebar-hash', mark), make('span', '', c.name));
    if (c.botMember === false) b.title = `${state.info.bot.name} is not in this conversation`;
    b.addEventListener('click', () => selectChannel(c.id));
    li.appendChild(b);
    list.appendChild(li);
  }
  const apps = $('app-list');
  const bot = make('li', 'sidebar-item');
  bot.append(avatar(state.info.bot.user_id, true), make('span', '', state.info.bot.name));
  apps.replaceChildren(bot);
  const people = $('people-list');
  people.replaceChildren();
  for (const id of state.info.people) {
    const u = userById(id);
    const groups = state.info.groups.filter((g) => g.users.includes(id)).map((g) => `@${g.handle}`);
    const li = make('li', 'sidebar-item');
    li.append(
      avatar(id, true),
      make('span', '', `${u.real_name}${groups.length ? ` · ${groups.join(' ')}` : ''}`),
    );
    if (id === state.user) li.classList.add('unread');
    people.appendChild(li);
  }
  const req = $('request-url');
  req.replaceChildren();
  if (state.info.mode === 'socket') {
    const open = state.info.socket ? state.info.socket.connections : 0;
    req.classList.toggle('unset', open === 0);
    req.textContent =
      open > 0
        ? `App connected over Socket Mode (${open} connection${open === 1 ? '' : 's'})`
        : 'App not connected (Socket Mode): slash commands and buttons wait for it to connect.';
  } else if (state.info.request_url) {
    req.classList.remove('unset');
    req.append(document.createTextNode('App request URL: '), make('code', '', state.info.request_url));
  } else {
    req.classList.add('unset');
    req.textContent = 'No app request URL yet: slash commands and buttons have nowhere to go.';
  }
}

function renderSwitcher() {
  const select = $('user-switcher');
  select.replaceChildren();
  for (const id of state.info.people) {
    const u = userById(id);
    const groups = state.info.groups.filter((g) => g.users.includes(id)).map((g) => `@${g.handle}`);
    const option = make('option', '', `${u.real_name}${groups.length ? ` (${groups.join(', ')})` : ''}`);
    option.value = id;
    select.appendChild(option);
  }
  select.value = state.user;
  $('acting-avatar').replaceWith(Object.assign(avatar(state.user, true), { id: 'acting-avatar' }));
}

function setUser(id) {
  state.user = id;
  try {
    localStorage.setItem('slack-emulator.user', id);
  } catch {
    // storage may be disabled; the choice then lasts for this page only
  }
  renderSwitcher();
  renderSidebar();
  updateComposerHint();
  renderMessages(false);
}

// ---- composer ---------------------------------------------------------------------------------

function updateComposerHint() {
  const input = $('composer-input');
  const name = userById(state.user).real_name;
  input.placeholder = `Message #${channelName(state.channel)} as ${name}`;
  const hint = $('composer-hint');
  hint.replaceChildren();
  if (input.value.startsWith('/')) {
    hint.append(
      document.createTextNode(`Sends the slash command to ${state.info.bot.name} as ${name}. Try `),
      make('code', '', '/flannel help'),
      document.createTextNode(', '),
      make('code', '', '/flannel diagnose demo'),
      document.createTextNode(', '),
      make('code', '', '/flannel incidents'),
    );
  } else {
    hint.append(
      document.createTextNode('Type '),
      make('code', '', '/flannel help'),
      document.createTextNode(' to talk to the bot · Enter to send, Shift+Enter for a new line'),
    );
  }
}

async function send(text, threadTs) {
  if (text.startsWith('/')) {
    // From a thread's composer the emulator refuses, as Slack does not run slash commands in threads.
    const answer = await api('command', {
      user: state.user,
      channel: state.channel,
      text,
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    if (answer.error) toast(`${text.split(/\s/)[0]} failed: ${answer.error}`, 'error');
    return;
  }
  await api('post', {
    user: state.user,
    channel: state.channel,
    text,
    ...(threadTs ? { thread_ts: threadTs } : {}),
  });
}

function wireComposer(formId, inputId, threadOf) {
  const form = $(formId);
  const input = $(inputId);
  const submit = () => {
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    input.style.height = '';
    updateComposerHint();
    send(text, threadOf()).catch((err) => toast(String(err.message || err), 'error'));
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  input.addEventListener('input', () => {
    input.style.height = '';
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
    if (inputId === 'composer-input') updateComposerHint();
  });
}

// ---- live updates -----------------------------------------------------------------------------

let pollTimer;
function setLive(live, text) {
  state.live = live;
  const el = $('live-status');
  el.textContent = text;
  el.classList.toggle('live', live);
  if (live && pollTimer) {
    clearInterval(pollTimer);
    pollTimer = undefined;
  }
  if (!live && !pollTimer) pollTimer = setInterval(() => refresh(false), POLL_MS);
}

async function reloadInfo() {
  state.info = await api('info');
  renderSidebar();
}

function connectLive() {
  if (typeof EventSource === 'undefined') {
    setLive(false, 'live updates: polling');
    return;
  }
  const events = new EventSource('/emulator/api/events');
  events.addEventListener('hello', () => {
    setLive(true, 'live');
    refresh(false);
  });
  events.addEventListener('change', (e) => {
    const change = JSON.parse(e.data);
    if (change.channel === state.channel) refresh(false);
    else if (!state.unread.has(change.channel)) {
      state.unread.add(change.channel);
      renderSidebar();
    }
  });
  events.addEventListener('info', () => reloadInfo().catch(() => {}));
  events.onerror = () => setLive(false, 'reconnecting… (polling meanwhile)');
}

// ---- start ------------------------------------------------------------------------------------

async function start() {
  state.info = await api('info');
  const params = new URLSearchParams(window.location.search);
  let stored = null;
  try {
    stored = localStorage.getItem('slack-emulator.user');
  } catch {
    stored = null;
  }
  const wanted = params.get('user') || stored;
  state.user = state.info.people.includes(wanted) ? wanted : state.info.people[0];
  $('workspace-name').textContent = state.info.workspace.name;
  document.title = `${state.info.workspace.name} · Slack emulator`;
  renderSwitcher();
  $('user-switcher').addEventListener('change', (e) => setUser(e.target.value));
  $('thread-close').addEventListener('click', closeThread);
  wireComposer('composer', 'composer-input', () => null);
  wireComposer('thread-composer', 'thread-composer-input', () => state.threadTs);
  const wantedChannel = params.get('channel');
  const channel = state.info.channels.find((c) => c.id === wantedChannel) || state.info.channels[0];
  selectChannel(channel.id);
  const thread = params.get('thread');
  if (thread) {
    state.threadTs = thread;
    state.highlightTs = thread;
    syncUrl();
  }
  connectLive();
}

start().catch((err) => toast(`The emulator page could not start: ${err.message || err}`, 'error'));
