/**
 * User groups as the approval policy and paging need them: handles (`oncall`) resolved to ids (S...) with
 * usergroups.list, members with usergroups.users.list (Tier 2: cached for a minute, never fetched per click
 * when a fresh answer is at hand). A group Slack does not know has no members (nobody gains rights by a typo).
 */
import { webApi } from '@slack/bolt';
import type { Directory } from '../lifecycle/coordinator.js';
import { log } from '../util/log.js';

type WebClient = InstanceType<typeof webApi.WebClient>;

const logger = log.child({ module: 'slack-directory' });
const GROUP_ID = /^S[A-Z0-9]{2,}$/;

export class SlackDirectory implements Directory {
  private handles?: { at: number; byHandle: Map<string, string> };
  private readonly members = new Map<string, { at: number; users: Set<string> }>();

  constructor(
    private readonly client: WebClient,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async groupIds(groups: readonly string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const group of groups) {
      const id = await this.groupId(group);
      if (id) ids.push(id);
    }
    return ids;
  }

  async groupMembers(groups: readonly string[]): Promise<Set<string>> {
    const all = new Set<string>();
    for (const id of await this.groupIds(groups)) {
      for (const user of await this.membersOf(id)) all.add(user);
    }
    return all;
  }

  private async groupId(group: string): Promise<string | undefined> {
    if (GROUP_ID.test(group)) return group;
    const handle = group.replace(/^@/, '');
    if (!this.handles || this.now() - this.handles.at > this.ttlMs) {
      try {
        const answer = await this.client.usergroups.list({});
        const byHandle = new Map<string, string>();
        for (const g of answer.usergroups ?? []) if (g.handle && g.id) byHandle.set(g.handle, g.id);
        this.handles = { at: this.now(), byHandle };
      } catch (err) {
        logger.warn('could not list user groups (scope usergroups:read?)', { err: describe(err) });
        if (!this.handles) return undefined;
      }
    }
    return this.handles?.byHandle.get(handle);
  }

  private async membersOf(id: string): Promise<Set<string>> {
    const cached = this.members.get(id);
    if (cached && this.now() - cached.at <= this.ttlMs) return cached.users;
    try {
      const answer = await this.client.usergroups.users.list({ usergroup: id });
      const users = new Set((answer.users ?? []).filter((u): u is string => typeof u === 'string'));
      this.members.set(id, { at: this.now(), users });
      return users;
    } catch (err) {
      logger.warn('could not list user group members', { group: id, err: describe(err) });
      // A stale answer beats refusing every approver while Slack is unreachable.
      return cached?.users ?? new Set();
    }
  }
}

function describe(err: unknown): string {
  const e = err as { data?: { error?: string }; message?: string };
  return e?.data?.error ?? e?.message ?? String(err);
}
