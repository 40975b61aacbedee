/**
 * REDIS_URL beyond one server: Sentinel and Cluster URLs parse into what ioredis needs, mistakes are named
 * clearly without the password, and on a Cluster the key prefix carries a hash tag.
 */
import { describe, expect, it } from '@jest/globals';
import { loadEnv } from '../../src/config/env.js';
import { isConfigError } from '../../src/config/issues.js';
import { effectiveKeyPrefix, parseHaRedisUrl } from '../../src/config/redis-url.js';
import { redisTargetFromUrl } from '../../src/coordination/redis-connection.js';

const problem = (url: string) => {
  const parsed = parseHaRedisUrl(url);
  return 'problem' in parsed ? parsed.problem : undefined;
};

describe('Sentinel and Cluster REDIS_URLs', () => {
  it('parses Sentinels (default port 26379), the master name, the database and the credentials', () => {
    expect(redisTargetFromUrl('redis+sentinel://:s%40cret@10.0.0.1,10.0.0.2:26380/mymaster?db=2')).toEqual({
      kind: 'sentinel',
      db: 2,
      options: {
        password: 's@cret',
        db: 2,
        name: 'mymaster',
        sentinels: [
          { host: '10.0.0.1', port: 26379 },
          { host: '10.0.0.2', port: 26380 },
        ],
      },
    });
    expect(redisTargetFromUrl('redis-sentinel://[::1]:5000/m')).toMatchObject({
      kind: 'sentinel',
      options: { sentinels: [{ host: '::1', port: 5000 }], name: 'm', db: 0 },
    });
  });

  it('parses Cluster seed nodes (default port 6379)', () => {
    expect(redisTargetFromUrl('redis+cluster://bot:pw@redis-0.redis,redis-1.redis:7000')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'redis-0.redis', port: 6379 },
        { host: 'redis-1.redis', port: 7000 },
      ],
      options: { username: 'bot', password: 'pw' },
    });
  });

  it('names what is wrong', () => {
    expect(problem('redis+sentinel://h:26379')).toMatch(/master name, e.g. \/mymaster/);
    expect(problem('redis+sentinel://h:26379/m?db=x')).toMatch(/\?db must be a database number/);
    expect(problem('redis+sentinel://h:26379/m?tls=1')).toMatch(/unknown option \?tls/);
    expect(problem('redis+cluster://h:7000/3')).toMatch(/database 0 only/);
    expect(problem('redis+cluster://h:99999')).toMatch(/port outside 1-65535/);
    expect(problem('redis+cluster://a b:1')).toMatch(/is not a host:port/);
    expect(problem('redis+cluster:///')).toMatch(/names no host/);
  });

  it('reports a bad URL against REDIS_URL without the password', () => {
    let message = '';
    try {
      loadEnv({ REDIS_URL: 'redis+sentinel://:hunter2@h:26379' });
    } catch (err) {
      expect(isConfigError(err)).toBe(true);
      message = String((err as Error).message);
    }
    expect(message).toMatch(/REDIS_URL/);
    expect(message).toMatch(/master name/);
    expect(message).not.toContain('hunter2');
  });

  it('wraps the key prefix in a hash tag on a Cluster only', () => {
    expect(effectiveKeyPrefix('flannel-ops', 'redis+cluster://h:7000')).toBe('{flannel-ops}');
    expect(effectiveKeyPrefix('flannel-ops', 'redis://h:6379')).toBe('flannel-ops');
    expect(effectiveKeyPrefix('flannel-ops', 'redis+sentinel://h/m')).toBe('flannel-ops');
    expect(loadEnv({ REDIS_URL: 'redis+cluster://h:7000', FLANNEL_OPS_KEY_PREFIX: 'fo' }).keyPrefix).toBe(
      '{fo}',
    );
    expect(loadEnv({ REDIS_URL: 'redis+sentinel://h/m?db=4' }).redisDb).toBe(4);
  });
});
