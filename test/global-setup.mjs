/**
 * `npm test` on a fresh machine: when no Redis answers at REDIS_URL (default redis://127.0.0.1:6379), start a
 * private redis-server for the run (as `flannel-ops demo` does) and export its URL to every test through
 * REDIS_URL. Missing tools are reported once, with the command that installs them, instead of as hundreds of
 * failing tests.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
// Plain ESM run by Jest itself (no transform, no module mapper): load the TypeScript helper through tsx, as
// bin/flannel-ops.js does.
import { register } from 'tsx/esm/api';

register();
const { redisAnswers, startPrivateRedis } = await import('../src/demo/private-redis.ts');

/** The browser the page tests drive (Debian's package). */
export const CHROMIUM = '/usr/bin/chromium';

/** @param {string} binary */
function onPath(binary) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** @param {string} file */
function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export default async function globalSetup() {
  const url = process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
  const missing = [];
  const redisUp = await redisAnswers(url);
  if (!redisUp && !onPath('redis-server')) {
    missing.push(`redis-server (nothing answers at ${url}): apt-get install redis-server, or set REDIS_URL`);
  }
  if (!executable(CHROMIUM))
    missing.push(`chromium (${CHROMIUM}, for the page tests): apt-get install chromium`);
  if (missing.length > 0) {
    throw new Error(`the test suite needs:\n  - ${missing.join('\n  - ')}`);
  }
  if (redisUp) {
    process.env.REDIS_URL = url;
    return;
  }
  const redis = await startPrivateRedis();
  globalThis.flannelOpsTestRedis = redis;
  process.env.REDIS_URL = redis.url;
  process.stderr.write(`\ntests: no Redis at ${url}; using a ${redis.source}\n`);
}
