/**
 * What the bot loads when it starts: client-node's package index (every typed API and model, ~50 MB once loaded)
 * must wait for the first diagnosis (kube/clients.ts loads it then), so an idle bot stays small. A stray
 * `import ... from '@kubernetes/client-node'` anywhere in the start-up graph silently undoes that; this test
 * imports the CLI as `bin/flannel-ops.js` does (its module hook included) and records every module resolved.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/bot-process.js';

/** Imports `entry` the way bin/flannel-ops.js does (tsx on the sources) and returns every URL resolved. */
function modulesLoadedBy(entry: string, env: Record<string, string> = {}): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'flannel-ops-imports-'));
  try {
    const log = join(dir, 'resolved.txt');
    const recorder = join(dir, 'recorder.mjs');
    writeFileSync(
      recorder,
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}
`,
    );
    writeFileSync(log, '');
    const script = `
import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(recorder).href)});
if (process.env.FLANNEL_OPS_FULL_KUBE_INDEX !== '1')
  register('./bin/kube-config-hooks.mjs', ${JSON.stringify(pathToFileURL(ROOT + '/').href)});
const { register: tsx } = await import('tsx/esm/api');
tsx();
await import(${JSON.stringify(pathToFileURL(join(ROOT, entry)).href)});
`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (run.status !== 0) throw new Error(`import of ${entry} failed:\n${run.stderr}`);
    return readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const isKubeIndex = (url: string) => /\/@kubernetes\/client-node\/dist\/(index|gen\/index)\.js$/.test(url);

describe('what the bot loads at start-up', () => {
  test("the CLI and the bot load neither client-node's index nor its generated API index", () => {
    const urls = [
      ...modulesLoadedBy('src/cli/main.ts'),
      ...modulesLoadedBy('src/bot/start-bot.ts'),
    ];
    // The recorder saw the graph: the KubeConfig class is loaded (the watch path needs it).
    expect(urls.some((u) => u.endsWith('/@kubernetes/client-node/dist/config.js'))).toBe(true);
    expect(urls.filter(isKubeIndex)).toEqual([]);
  });

  test('the recorder would notice: with the hook off, config.js pulls in the generated index', () => {
    const urls = modulesLoadedBy('src/kube/kubeconfig.ts', { FLANNEL_OPS_FULL_KUBE_INDEX: '1' });
    expect(urls.filter(isKubeIndex).length).toBeGreaterThan(0);
  });
});
