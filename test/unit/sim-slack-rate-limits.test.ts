/** The emulator's Slack pacing (pure, with a fake clock): a burst, then one call per interval, per scope. */
import { describe, expect, it } from '@jest/globals';
import { RateLimits } from '../../src/sim/slack/rate-limits.js';

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('RateLimits', () => {
  it('lets a burst of 4 posts into a channel through, then answers Retry-After in whole seconds', () => {
    const c = clock();
    const limits = new RateLimits(true, c.now);
    for (let i = 0; i < 4; i++) expect(limits.take('chat.postMessage', 'C1')).toBe(0);
    expect(limits.take('chat.postMessage', 'C1')).toBe(1);
    // A refused call does not use up allowance: after one interval one more post goes through.
    c.advance(1000);
    expect(limits.take('chat.postMessage', 'C1')).toBe(0);
    expect(limits.take('chat.postMessage', 'C1')).toBe(1);
  });

  it('paces each channel on its own, and chat.update per workspace at Tier 3 (50/min)', () => {
    const c = clock();
    const limits = new RateLimits(true, c.now);
    for (let i = 0; i < 4; i++) limits.take('chat.postMessage', 'C1');
    expect(limits.take('chat.postMessage', 'C2')).toBe(0);
    for (let i = 0; i < 50; i++) expect(limits.take('chat.update', `C${i}`)).toBe(0);
    expect(limits.take('chat.update', 'C1')).toBeGreaterThanOrEqual(1);
    c.advance(1200);
    expect(limits.take('chat.update', 'C1')).toBe(0);
  });

  it('one write per second per channel is never limited; unlisted methods and a disabled limiter never are', () => {
    const c = clock();
    const limits = new RateLimits(true, c.now);
    for (let i = 0; i < 300; i++) {
      expect(limits.take('chat.postMessage', 'C1')).toBe(0);
      c.advance(1000);
    }
    for (let i = 0; i < 100; i++) expect(limits.take('conversations.history', 'C1')).toBe(0);
    const off = new RateLimits(false, c.now);
    for (let i = 0; i < 100; i++) expect(off.take('chat.postMessage', 'C1')).toBe(0);
  });
});
