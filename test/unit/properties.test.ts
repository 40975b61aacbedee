/**
 * Property-based tests (fast-check): every parser at a trust boundary, fed any input, either returns a value
 * or fails with its own clear error — never an unhandled throw — and the escapers hold for any string.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseProbeOutput, ProbeOutputError } from '../../src/checks/probe/schema.js';
import { clustersFileSchema } from '../../src/config/clusters.js';
import { isConfigError } from '../../src/config/issues.js';
import { parseYamlText, validateYaml } from '../../src/config/yaml-file.js';
import { ERROR_CLASSES, classifySandboxMessage, signalFromEvent } from '../../src/detect/classify.js';
import { runbookSchema } from '../../src/runbooks/schema.js';
import { parseScenario } from '../../src/sim/kube/scenario/load.js';
import { parseFlannelCommand } from '../../src/slack/commands.js';
import { bold, code, codeBlock, escapeMrkdwn } from '../../src/slack/mrkdwn.js';
import { parseSlackBody } from '../../src/slack/receiver.js';
import { isUserError } from '../../src/util/errors.js';
import { sanitizeText, terminalJson, terminalLine } from '../../src/util/sanitize.js';

const RUNS = { numRuns: 300 };

/** Characters attackers and broken clusters send, mixed into ordinary text. */
const hostileChar = fc.constantFrom(
  '\u001b',
  '\u009b',
  '\u0000',
  '\u0007',
  '\r',
  '\n',
  '\t',
  '\u202a',
  '\u202e',
  '\u2066',
  '\u2069',
  '\u061c',
  '\u200b',
  '\u200f',
  '\u2060',
  '\ufeff',
  '<',
  '>',
  '&',
  '`',
  '*',
  '|',
  '@',
  '!',
  ' ',
);
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc
    .array(fc.oneof(hostileChar, fc.string({ maxLength: 5 })), { maxLength: 60 })
    .map((parts) => parts.join('')),
);

/** Unsafe for a terminal or Slack: C0 (but \t \n), DEL, C1, bidi controls, zero-width characters. */
const UNSAFE =
  // eslint-disable-next-line no-control-regex -- these control characters are what the test looks for
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/u;

/** Calls `fn`; a throw that is not one of the expected clear errors fails the property. */
function onlyClearErrors(fn: () => unknown, isClear: (err: unknown) => boolean): void {
  try {
    fn();
  } catch (err) {
    if (!isClear(err)) throw new Error(`unexpected ${(err as Error)?.name}: ${(err as Error)?.message}`);
    expect((err as Error).message.length).toBeGreaterThan(0);
  }
}

describe('escaping holds for any string', () => {
  it('sanitizeText and terminalLine leave no unsafe character; terminalLine no line break', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(sanitizeText(text)).not.toMatch(UNSAFE);
        expect(sanitizeText(text)).not.toContain('\r');
        expect(terminalLine(text)).not.toMatch(UNSAFE);
        expect(terminalLine(text)).not.toMatch(/[\r\n]/);
      }),
      RUNS,
    );
  });

  it('sanitizing is idempotent and keeps safe text unchanged', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const once = sanitizeText(text);
        expect(sanitizeText(once)).toBe(once);
        if (!UNSAFE.test(text) && !text.includes('\r')) expect(once).toBe(text);
      }),
      RUNS,
    );
  });

  it('terminalJson keeps the data and leaves no unsafe character', () => {
    fc.assert(
      fc.property(fc.jsonValue(), anyText, (value, text) => {
        const data = { value, text };
        const json = terminalJson(JSON.stringify(data));
        expect(json).not.toMatch(UNSAFE);
        expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(data)));
      }),
      RUNS,
    );
  });

  it('escapeMrkdwn: no raw <, > or bare &, so no mention, link or command can form', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const out = escapeMrkdwn(text);
        expect(out).not.toMatch(/[<>]/);
        expect(out).not.toMatch(/&(?!amp;|lt;|gt;)/);
        expect(out).not.toMatch(UNSAFE);
      }),
      RUNS,
    );
  });

  it('code, codeBlock and bold cannot be closed early by their content', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const inline = code(text);
        expect(inline.startsWith('`') && inline.endsWith('`')).toBe(true);
        expect(inline.slice(1, -1)).not.toMatch(/[`\n<>]/);
        const block = codeBlock(text);
        expect(block.startsWith('```') && block.endsWith('```')).toBe(true);
        expect(block.slice(3, -3)).not.toContain('```');
        const strong = bold(text);
        expect(strong.slice(1, -1)).not.toMatch(/[*<>]/);
        for (const out of [inline, block, strong]) expect(out).not.toMatch(UNSAFE);
      }),
      RUNS,
    );
  });
});

describe('parsers never throw unhandled errors', () => {
  it('event classifier: any message, any event-shaped object', () => {
    fc.assert(
      fc.property(anyText, (message) => {
        expect(ERROR_CLASSES).toContain(classifySandboxMessage(message).errorClass);
      }),
      RUNS,
    );
    const eventLike = fc.record(
      {
        reason: fc.oneof(fc.constantFrom('FailedCreatePodSandBox', 'NetworkNotReady'), anyText),
        message: fc.oneof(anyText, fc.anything()),
        count: fc.oneof(fc.integer(), fc.double(), fc.anything()),
        involvedObject: fc.oneof(
          fc.record(
            { kind: fc.constant('Pod'), name: anyText, namespace: anyText, uid: anyText },
            { requiredKeys: [] },
          ),
          fc.anything(),
        ),
        source: fc.oneof(fc.record({ host: anyText }, { requiredKeys: [] }), fc.anything()),
        metadata: fc.oneof(fc.record({ uid: anyText, name: anyText }, { requiredKeys: [] }), fc.anything()),
        lastTimestamp: fc.oneof(fc.date({ noInvalidDate: false }), anyText, fc.anything()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(eventLike, (event) => {
        const signal = signalFromEvent(event as never);
        if (signal) expect(ERROR_CLASSES).toContain(signal.signature.errorClass);
      }),
      RUNS,
    );
  });

  it('/flannel command parser: any text gives a command or an error that quotes nothing unsafe', () => {
    fc.assert(
      fc.property(
        anyText,
        fc.array(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), { maxLength: 3 }),
        (text, clusters) => {
          const cmd = parseFlannelCommand(text, clusters);
          expect(['diagnose', 'status', 'incidents', 'timeline', 'help', 'error']).toContain(cmd.kind);
          if (cmd.kind === 'error') {
            expect(cmd.message).not.toMatch(UNSAFE);
            expect(cmd.message).not.toMatch(/[<>&]/);
          }
        },
      ),
      RUNS,
    );
  });

  it('Slack request bodies: an object or a reason, for any body', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        fc.boolean(),
        (body, form) => {
          const text = form && Math.random() < 0.5 ? `payload=${encodeURIComponent(body)}` : body;
          const parsed = parseSlackBody(text, form);
          if (parsed.ok) {
            expect(typeof parsed.body).toBe('object');
            expect(parsed.body).not.toBeNull();
            expect(Array.isArray(parsed.body)).toBe(false);
          } else {
            expect(parsed.reason).toMatch(/JSON/);
          }
        },
      ),
      RUNS,
    );
  });

  it('probe output: any text or JSON is a report or a ProbeOutputError naming the problem', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          onlyClearErrors(
            () => parseProbeOutput(text),
            (err) => err instanceof ProbeOutputError,
          );
        },
      ),
      RUNS,
    );
  });

  it('clusters files and runbooks: any YAML text is a value or a ConfigError', () => {
    const yamlText = fc.oneof(
      anyText,
      fc.jsonValue().map((v) => stringify(v)),
      fc
        .record({
          clusters: fc.array(fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue(), { maxKeys: 6 }), {
            maxLength: 3,
          }),
        })
        .map((v) => stringify(v)),
    );
    fc.assert(
      fc.property(yamlText, (text) => {
        onlyClearErrors(
          () => validateYaml(parseYamlText('clusters.yaml', text), clustersFileSchema),
          isConfigError,
        );
        onlyClearErrors(
          () => validateYaml(parseYamlText('runbook.yaml', text), runbookSchema),
          isConfigError,
        );
      }),
      RUNS,
    );
  });

  it('scenario files: any YAML text is a scenario or a UserError naming the file', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          fc.jsonValue().map((v) => stringify(v)),
        ),
        (text) => {
          onlyClearErrors(
            () => parseScenario(text, 'fuzz.yaml'),
            (err) => isUserError(err) && (err as Error).message.includes('fuzz.yaml'),
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});
