/**
 * The per-cluster semaphore every replica shares (real Redis): at most `limit` holders per name, names apart,
 * a holder asking again keeps its slot, release frees it, and a crashed holder's slot frees itself.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { RedisSemaphore } from '../../src/coordination/semaphore.js';
import { deleteKeys, testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const prefix = `t-sem-${process.pid}`;
const a = testRedis();
const b = testRedis(); // a second "replica"
afterAll(async () => {
  await deleteKeys(a, prefix);
  await Promise.all([a.quit(), b.quit()]);
});

describe('RedisSemaphore', () => {
  it('admits at most the limit per cluster across connections, and frees slots on release', async () => {
    const one = new RedisSemaphore(a, prefix, 'probes');
    const two = new RedisSemaphore(b, prefix, 'probes');
    expect(await one.acquire('prod', 'job-1', 2, 60_000)).toBe(true);
    expect(await two.acquire('prod', 'job-2', 2, 60_000)).toBe(true);
    expect(await two.acquire('prod', 'job-3', 2, 60_000)).toBe(false);
    // Another cluster is not starved by prod's load.
    expect(await two.acquire('staging', 'job-4', 2, 60_000)).toBe(true);
    // Asking again keeps the slot (a retried job), and does not take a second one.
    expect(await one.acquire('prod', 'job-1', 2, 60_000)).toBe(true);
    expect(await one.holders('prod')).toBe(2);
    await one.release('prod', 'job-1');
    expect(await two.acquire('prod', 'job-3', 2, 60_000)).toBe(true);
    expect(await one.acquire('prod', 'job-5', 2, 60_000)).toBe(false);
  });

  it("frees a crashed holder's slot when its lease ends", async () => {
    const sem = new RedisSemaphore(a, prefix, 'probes');
    expect(await sem.acquire('edge', 'crashed', 1, 300)).toBe(true);
    expect(await sem.acquire('edge', 'waiting', 1, 60_000)).toBe(false);
    await waitFor('the lease to end', () => sem.acquire('edge', 'waiting', 1, 60_000), { timeoutMs: 10_000 });
  });

  it('refuses a limit below 1', async () => {
    await expect(new RedisSemaphore(a, prefix, 'probes').acquire('x', 'h', 0, 1000)).rejects.toThrow(
      RangeError,
    );
  });
});
