/**
 * The emulator's web page: index.html with styles.css and the scripts inlined (no external assets),
 * read once from this directory at runtime.
 */
import { readFileSync } from 'node:fs';

const PAGE_DIR = new URL('./', import.meta.url);
/** Browser scripts in load order: the renderers first, the app that uses them last. */
const SCRIPTS = ['mrkdwn.js', 'blocks.js', 'app.js'];

let template: string | undefined;

function read(name: string): string {
  return readFileSync(new URL(name, PAGE_DIR), 'utf8');
}

/** The browser scripts as one isolated, strict-mode function body. */
export function pageScript(): string {
  const body = SCRIPTS.map((name) => `// ---- ${name}\n${read(name)}`).join('\n');
  return `(() => {\n'use strict';\n${body}\n})();`;
}

function buildTemplate(): string {
  const script = pageScript();
  const styles = read('styles.css');
  // The scripts are inlined in a <script> element, so none of them may close it.
  if (/<\/script/i.test(script) || /<\/style/i.test(styles))
    throw new Error('page assets must not contain </script> or </style>');
  const html = read('index.html');
  // Placeholders are comments so that prettier leaves them alone.
  if (!html.includes('/* {{STYLES}} */') || !html.includes('/* {{SCRIPT}} */'))
    throw new Error('page/index.html lost its /* {{STYLES}} */ or /* {{SCRIPT}} */ placeholder');
  return html.replace('/* {{STYLES}} */', () => styles).replace('/* {{SCRIPT}} */', () => script);
}

/** The page with a per-response CSP nonce on its inline <style> and <script>. */
export function renderPage(nonce: string): string {
  template ??= buildTemplate();
  return template.replaceAll('{{NONCE}}', nonce);
}
