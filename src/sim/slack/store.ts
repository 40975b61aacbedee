/**
 * The workspace state: channels, users, user groups, and every channel's messages with their threads.
 * Pure in-memory data with change notifications (the page's live updates listen to them).
 */
import { BOT_NAME, SEEDED_GROUPS, SEEDED_USERS } from './seed.js';
import type { EmulatorChannel, EmulatorMessage, EmulatorUser, EmulatorUserGroup } from './types.js';

/** The store's own records; callers only ever get toPublic() copies of them. */
type StoredMessage = EmulatorMessage;

export interface NewMessage {
  channel: string;
  user: string;
  text: string;
  blocks?: unknown[];
  /** A root's ts (or a reply's: Slack files it under the same root). */
  thread_ts?: string;
  ephemeral_to?: string;
  /**
   * A thread_ts that names no message: Slack's Web API answers ok and the reply lands in a thread nobody
   * can open (it is kept apart, see `orphans`). Without this flag the store refuses (thread_not_found).
   */
  allowOrphan?: boolean;
}

export interface MessageChange {
  channel: string;
  ts: string;
  kind: 'posted' | 'updated' | 'deleted';
  /** Increases with every change of the workspace, so a poller can tell whether to re-fetch. */
  version: number;
}

export class StoreError extends Error {
  constructor(readonly code: 'channel_not_found' | 'message_not_found' | 'thread_not_found') {
    super(code);
  }
}

/** Slack ts: seconds with six digits of microseconds, unique and increasing within the workspace. */
export class TsClock {
  private lastMicros = 0;
  constructor(private readonly nowMs: () => number = Date.now) {}
  next(): string {
    const micros = Math.max(Math.floor(this.nowMs() * 1000), this.lastMicros + 1);
    this.lastMicros = micros;
    const seconds = Math.floor(micros / 1_000_000);
    return `${seconds}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }
}

function toPublic(m: StoredMessage): EmulatorMessage {
  const out: EmulatorMessage = { ts: m.ts, channel: m.channel, user: m.user, text: m.text, replies: [] };
  if (m.thread_ts !== undefined) out.thread_ts = m.thread_ts;
  if (m.blocks !== undefined) out.blocks = structuredClone(m.blocks);
  if (m.edited !== undefined) out.edited = { ...m.edited };
  if (m.ephemeral_to !== undefined) out.ephemeral_to = m.ephemeral_to;
  out.replies = m.replies.map(toPublic);
  return out;
}

export class SlackStore {
  readonly users: EmulatorUser[] = SEEDED_USERS.map((u) => ({ ...u }));
  readonly groups: EmulatorUserGroup[] = SEEDED_GROUPS.map((g) => ({ ...g, users: [...g.users] }));
  private readonly channelList: EmulatorChannel[];
  private readonly byChannel = new Map<string, StoredMessage[]>();
  private readonly orphanList: StoredMessage[] = [];
  private readonly listeners = new Set<(change: MessageChange) => void>();
  private changeVersion = 0;

  constructor(
    channels: EmulatorChannel[],
    readonly clock = new TsClock(),
  ) {
    this.channelList = channels.map((c) => ({ ...c }));
    for (const c of this.channelList) this.byChannel.set(c.id, []);
  }

  get version(): number {
    return this.changeVersion;
  }

  channels(): EmulatorChannel[] {
    return this.channelList.map((c) => ({ ...c }));
  }

  /** By id (`C0DEMO`) or, as Slack accepts, by name (`flannel-demo` or `#flannel-demo`). */
  findChannel(idOrName: string): EmulatorChannel | undefined {
    const name = idOrName.replace(/^#/, '');
    return this.channelList.find((c) => c.id === idOrName || c.name === name);
  }

  /** The bot's direct-message channel with a person, opened on first use (what Slack does for channel=U…). */
  imWith(userId: string): EmulatorChannel | undefined {
    const user = this.user(userId);
    if (!user || user.isBot) return undefined;
    const id = `D0${user.id.replace(/^U0?/, '')}BOT`;
    let channel = this.channelList.find((c) => c.id === id);
    if (!channel) {
      channel = { id, name: `${user.name}-${BOT_NAME}`, kind: 'im', botMember: true };
      this.channelList.push(channel);
      this.byChannel.set(id, []);
    }
    return { ...channel };
  }

  /** Replies the Web API accepted for a thread_ts that names no message (nobody sees them in Slack). */
  orphans(): EmulatorMessage[] {
    return this.orphanList.map(toPublic);
  }

  user(id: string): EmulatorUser | undefined {
    return this.users.find((u) => u.id === id);
  }

  onChange(listener: (change: MessageChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  messages(channel: string): EmulatorMessage[] {
    return this.list(channel).map(toPublic);
  }

  get(channel: string, ts: string): EmulatorMessage | undefined {
    const found = this.locate(channel, ts);
    return found && toPublic(found.message);
  }

  /** The thread root a message belongs to (itself when it is a root). */
  rootOf(channel: string, ts: string): EmulatorMessage | undefined {
    const found = this.locate(channel, ts);
    return found && toPublic(found.root ?? found.message);
  }

  post(input: NewMessage): EmulatorMessage {
    const list = this.list(input.channel);
    const message: StoredMessage = {
      ts: this.clock.next(),
      channel: input.channel,
      user: input.user,
      text: input.text,
      replies: [],
    };
    if (input.blocks !== undefined) message.blocks = structuredClone(input.blocks);
    if (input.ephemeral_to !== undefined) message.ephemeral_to = input.ephemeral_to;
    if (input.thread_ts !== undefined) {
      const found = this.locate(input.channel, input.thread_ts);
      if (!found && !input.allowOrphan) throw new StoreError('thread_not_found');
      if (found) {
        const root = found.root ?? found.message;
        message.thread_ts = root.ts;
        root.replies.push(message);
      } else {
        message.thread_ts = input.thread_ts;
        this.orphanList.push(message);
        return toPublic(message);
      }
    } else {
      list.push(message);
    }
    this.emit(input.channel, message.ts, 'posted');
    return toPublic(message);
  }

  /** Replaces text and/or blocks (an omitted field keeps its value, like chat.update). */
  update(
    channel: string,
    ts: string,
    change: { text?: string; blocks?: unknown[]; editedBy: string },
  ): EmulatorMessage {
    const found = this.locate(channel, ts);
    if (!found) throw new StoreError('message_not_found');
    const m = found.message;
    if (change.text !== undefined) m.text = change.text;
    if (change.blocks !== undefined) m.blocks = structuredClone(change.blocks);
    m.edited = { user: change.editedBy, ts: this.clock.next() };
    this.emit(channel, ts, 'updated');
    return toPublic(m);
  }

  delete(channel: string, ts: string): void {
    const found = this.locate(channel, ts);
    if (!found) throw new StoreError('message_not_found');
    const siblings = found.root ? found.root.replies : this.list(channel);
    siblings.splice(siblings.indexOf(found.message), 1);
    this.emit(channel, ts, 'deleted');
  }

  private list(channel: string): StoredMessage[] {
    const list = this.byChannel.get(channel);
    if (!list) throw new StoreError('channel_not_found');
    return list;
  }

  private locate(channel: string, ts: string): { message: StoredMessage; root?: StoredMessage } | undefined {
    for (const root of this.list(channel)) {
      if (root.ts === ts) return { message: root };
      const reply = root.replies.find((r) => r.ts === ts);
      if (reply) return { message: reply, root };
    }
    return undefined;
  }

  private emit(channel: string, ts: string, kind: MessageChange['kind']): void {
    const change = { channel, ts, kind, version: ++this.changeVersion };
    for (const listener of this.listeners) listener(change);
  }
}
