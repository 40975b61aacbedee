import { describe, expect, it } from '@jest/globals';
import { redisOptionsFromUrl } from '../../src/coordination/redis-connection.js';
import { isIncidentId, newIncidentId } from '../../src/incidents/incident-id.js';
import { IncidentKeys } from '../../src/incidents/keys.js';
import { UserError } from '../../src/util/errors.js';

describe('incident ids', () => {
  it('are short, URL-safe, never all digits and never contain a colon', () => {
    const ids = new Set(Array.from({ length: 2000 }, () => newIncidentId()));
    expect(ids.size).toBe(2000);
    for (const id of ids) {
      expect(id).toMatch(/^[a-z0-9-]{5,20}$/);
      expect(id).not.toMatch(/^\d+$/);
      expect(encodeURIComponent(id)).toBe(id);
      expect(isIncidentId(id)).toBe(true);
    }
    expect(isIncidentId('12345678')).toBe(false);
    expect(isIncidentId('inc-abc:def')).toBe(false);
  });
});

describe('Redis keys', () => {
  it('cannot be confused by a colon in a cluster or runbook name', () => {
    const keys = new IncidentKeys('fo');
    expect(keys.latest('a:b', 'c')).not.toBe(keys.latest('a', 'b:c'));
    expect(keys.latest('prod', 'flannel')).toBe('fo:latest:prod:flannel');
  });
});

describe('REDIS_URL', () => {
  it('honours a /N database number, credentials and TLS', () => {
    expect(redisOptionsFromUrl('redis://127.0.0.1:6379/3')).toMatchObject({
      host: '127.0.0.1',
      port: 6379,
      db: 3,
    });
    expect(redisOptionsFromUrl('redis://cache')).toMatchObject({ host: 'cache', port: 6379, db: 0 });
    expect(redisOptionsFromUrl('rediss://bot:p%40ss@cache:6380/1')).toMatchObject({
      username: 'bot',
      password: 'p@ss',
      port: 6380,
      db: 1,
      tls: {},
    });
  });

  it('rejects bad URLs naming the variable and reason, without echoing the password', () => {
    expect(() => redisOptionsFromUrl('redis://h:6379/abc')).toThrow(UserError);
    expect(() => redisOptionsFromUrl('redis://h:6379/abc')).toThrow(/REDIS_URL: .*database number/);
    expect(() => redisOptionsFromUrl('http://h:6379')).toThrow(/REDIS_URL: scheme must be redis/);
    let message = '';
    try {
      redisOptionsFromUrl('redis//user:hunter2@host');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^REDIS_URL: /);
    expect(message).not.toContain('hunter2');
  });
});
