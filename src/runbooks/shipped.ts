import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The `runbooks/` directory shipped with the package, found by walking up from this module
 * (works from `src/` under tsx/jest and from `dist/src/` after a build).
 */
export function shippedRunbooksDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'runbooks');
    if (existsSync(join(candidate, 'flannel.yaml'))) return candidate;
    dir = resolve(dir, '..');
  }
  return resolve('runbooks');
}
