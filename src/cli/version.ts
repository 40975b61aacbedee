import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version in flannel-ops' package.json, found by walking up from this module (src/cli/ under tsx,
 * dist/src/cli/ in the compiled build and the image).
 */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'flannel-ops' && typeof pkg.version === 'string') return pkg.version;
    }
    dir = resolve(dir, '..');
  }
  return 'unknown';
}
