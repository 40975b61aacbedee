/**
 * `flannel-ops --version` as a user runs it from a clone after `npm ci`: through npx (the README's form) and
 * the bin script itself; it prints package.json's version and exits 0.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT } from '../helpers/bot-process.js';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('flannel-ops --version', () => {
  it.each([['--version'], ['-V']])('bin/flannel-ops.js %s prints the package version', async (flag) => {
    expect(await run(process.execPath, [BIN, flag])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('npx flannel-ops --version works in the clone (the bare name is not on PATH)', async () => {
    // --no-install: never fetch a package of that name from the registry; the project's own bin must answer.
    const result = await run('npx', ['--no-install', 'flannel-ops', '--version']);
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: `${version}\n` });
  }, 60_000);

  it('is listed in --help', async () => {
    const help = await run(process.execPath, [BIN, '--help']);
    expect(help.stdout).toMatch(/-V, --version\s+print the version and exit/);
  });
});
