/**
 * Hostile characters from users and clusters (ESC sequences, bidi overrides, zero-width characters, line
 * breaks) are neutralised before Slack or a terminal shows them; the examples here are the attacks, the
 * property tests (properties.test.ts) cover every string.
 */
import { describe, expect, it } from '@jest/globals';
import { parseFlannelCommand } from '../../src/slack/commands.js';
import { bold, code, codeBlock, escapeMrkdwn } from '../../src/slack/mrkdwn.js';
import { sanitizeText, terminalJson, terminalLine } from '../../src/util/sanitize.js';
import { incidentEventLine, statusLine } from '../../src/watch/format.js';
import type { IncidentEvent } from '../../src/watch/cluster-watcher.js';

const ESC = '\u001b';
const RLO = '\u202e';
const ZWSP = '\u200b';
/** Clears the screen, and a red "OK" that hides what follows. */
const SGR_ATTACK = `pod-${ESC}[2J${ESC}[31mOK${ESC}[0m`;
/** "Trojan source": shows as "exe.txt" while being "txt.exe". */
const BIDI_ATTACK = `report${RLO}txt.exe`;

describe('sanitizeText', () => {
  it('makes ESC sequences, C1 controls, bidi overrides and zero-width characters visible', () => {
    expect(sanitizeText(SGR_ATTACK)).toBe('pod-\\u001B[2J\\u001B[31mOK\\u001B[0m');
    expect(sanitizeText(BIDI_ATTACK)).toBe('report\\u202Etxt.exe');
    expect(sanitizeText(`kube${ZWSP}-system`)).toBe('kube\\u200B-system');
    expect(sanitizeText('\u009b31m \u2066x\u2069 \ufeff \u2060 \u200f')).toBe(
      '\\u009B31m \\u2066x\\u2069 \\uFEFF \\u2060 \\u200F',
    );
    expect(sanitizeText('nul\u0000bel\u0007del\u007f')).toBe('nul\\u0000bel\\u0007del\\u007F');
  });

  it('keeps line breaks and tabs in multi-line text, and makes a carriage return a line break', () => {
    expect(sanitizeText('a\n\tb\r\nc\rd')).toBe('a\n\tb\nc\nd');
  });

  it('leaves ordinary text, including non-Latin scripts and emoji, alone', () => {
    const text = 'Failed to create pod sandbox: 网络插件 flannel 失败 — ok ✓ 🚀 العربية';
    expect(sanitizeText(text)).toBe(text);
  });
});

describe('terminalLine', () => {
  it('turns line breaks visible so a value cannot forge a line of its own', () => {
    expect(terminalLine('web-1\n2026-01-01T00:00:00Z opened inc-fake')).toBe(
      'web-1\\u000A2026-01-01T00:00:00Z opened inc-fake',
    );
    expect(terminalLine('a\rb\tc')).toBe('a\\u000Db c');
  });
});

describe('terminalJson', () => {
  it('escapes bidi and zero-width characters that JSON.stringify leaves raw, keeping the data', () => {
    const value = { pod: BIDI_ATTACK, ns: `a${ZWSP}b`, c1: '\u009b' };
    const json = terminalJson(JSON.stringify(value));
    expect(json).not.toMatch(/[\u202e\u200b\u009b]/);
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe('Slack escapers neutralise them too', () => {
  it('escapeMrkdwn, code, codeBlock and bold', () => {
    for (const render of [escapeMrkdwn, code, codeBlock, bold]) {
      const out = render(`${SGR_ATTACK} ${BIDI_ATTACK} <!channel>`);
      // eslint-disable-next-line no-control-regex -- these control characters are what the test looks for
      expect(out).not.toMatch(/[\u001b\u202e]/);
      expect(out).toContain('&lt;!channel&gt;');
    }
  });

  it('the /flannel parser does not echo them back', () => {
    const cmd = parseFlannelCommand(`diagnose ${BIDI_ATTACK}`, ['prod']);
    expect(cmd.kind).toBe('error');
    expect(JSON.stringify(cmd)).not.toContain(RLO);
    expect((cmd as { message: string }).message).toContain('report\\u202Etxt.exe');
  });
});

describe('CLI printers', () => {
  it('watch lines carry no escape sequence, bidi override or line break from the cluster', () => {
    const event = {
      event: 'opened',
      cluster: `prod${ESC}]0;pwned${'\u0007'}`,
      incident: {
        id: 'inc-ab12cd34',
        runbookId: 'flannel',
        state: 'open',
        counts: { events: 1, occurrences: 1, pods: 1, nodes: 1, namespaces: 1, approximate: false },
        signatures: [{ errorClass: `ip-exhausted\n2026 opened inc-forged${RLO}` }],
      },
    } as unknown as IncidentEvent;
    const line = incidentEventLine(event, new Date('2026-01-01T00:00:00Z'));
    // eslint-disable-next-line no-control-regex -- these control characters are what the test looks for
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(line).toContain('cluster=prod\\u001B]0;pwned\\u0007');
    expect(statusLine({ cluster: 'x', role: 'error', lastError: `bad${ESC}[2J` })).toBe(
      'cluster x: error: bad\\u001B[2J',
    );
  });
});
