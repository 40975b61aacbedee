/**
 * Every Lua script the bot runs is a .lua file loaded by one loader, listed in LUA_SCRIPTS, with its includes
 * expanded, and compiles in a real Redis (SCRIPT LOAD rejects a syntax error).
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { LUA_SCRIPTS, luaScript } from '../../src/coordination/lua-scripts.js';
import { testRedis } from '../helpers/redis.js';

const SRC = resolve(import.meta.dirname ?? '.', '../../src');
const redis = testRedis();
afterAll(() => redis.quit());

function luaFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? luaFiles(join(dir, e.name)) : e.name.endsWith('.lua') ? [join(dir, e.name)] : [],
  );
}

describe('Lua scripts', () => {
  it('are all listed (shared includes aside), expanded and compile in Redis', async () => {
    const onDisk = luaFiles(SRC)
      .map((f) => relative(SRC, f))
      .sort();
    const includes = onDisk.filter((f) => !(LUA_SCRIPTS as readonly string[]).includes(f));
    expect(includes).toEqual(['incidents/lua/tracking.lua']);
    for (const file of LUA_SCRIPTS) {
      const text = luaScript(file);
      expect(text).not.toMatch(/--@include|\$\{/);
      expect(await redis.script('LOAD', text)).toMatch(/^[0-9a-f]{40}$/);
    }
  });
});

describe("the outbox's release of a message with nothing to send", () => {
  const key = `test-outbox-release-${process.pid}-${Date.now()}`;
  const release = () => redis.eval(luaScript('slack/lua/outbox-release.lua'), 1, key) as Promise<number>;
  afterAll(() => redis.del(key));

  it('keeps the job flag and says "send" when a newer version landed after the sender read the message', async () => {
    // The sender read version 2 = sent 2; an upsert then wrote version 3 and, seeing the flag set, queued nothing.
    await redis.hset(key, { channel: 'C1', payload: '{}', version: 3, sent: 2, queuedAt: 1000 });
    expect(await release()).toBe(1);
    expect(await redis.hget(key, 'queuedAt')).toBe('1000');
  });

  it('releases the flag when everything was sent, so the next upsert queues a job', async () => {
    await redis.hset(key, { version: 3, sent: 3, queuedAt: 1000 });
    expect(await release()).toBe(0);
    expect(await redis.hget(key, 'queuedAt')).toBe('0');
  });
});
