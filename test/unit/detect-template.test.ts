/**
 * Classification by message template: a message classified through the template cache gets exactly the signature
 * full classification gives, whatever ids, names, ranges or keyword-like tokens it carries, and the cache stays
 * bounded. Messages are the real wordings of test/fixtures/detect/sandbox-messages.json (domain/flannel.md §1,
 * §5.7, §7, as detect-classify.test.ts uses them) with their variable tokens replaced at random.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import {
  classifySandboxMessage,
  classifySandboxMessageUncached,
  MAX_MESSAGE_CHARS,
  SandboxMessageClassifier,
} from '../../src/detect/classify.js';
import * as P from '../../src/detect/patterns.js';
import { SHAPE_SENSITIVE } from '../../src/detect/template.js';

const WORDINGS: string[] = JSON.parse(
  readFileSync(new URL('../fixtures/detect/sandbox-messages.json', import.meta.url), 'utf8'),
) as string[];

const RUNS = { numRuns: 2_000 };

/** Words of the wordings and of kubelet's keywords: a pod or network named like one must not fool the cache. */
const KEYWORDS = [
  'NetworkPluginNotReady',
  'networkplugin',
  'multus',
  'Multus',
  'k8s',
  'no',
  'ip',
  'in',
  'available',
  'addresses',
  'pod',
  'sandbox',
  'subnet',
  'env',
  'cni',
  'uninitialized',
  'initialised',
  'add',
  'DelegateAdd',
  'AddNetwork',
  'failed',
  'network',
  'plugin',
  'type',
  'name',
  'open',
  'missing',
  'FLANNEL',
  'netconf',
  'ready',
  'docker',
  'message',
  'from',
  'different',
  'loadFlannelSubnetEnv',
  'combined',
  'runtime',
  'directory',
  'range',
  'set',
  'dead',
  'cafe',
  'bad',
  'fed',
  'x',
  'z',
];

const hex = (min: number, max: number): fc.Arbitrary<string> =>
  fc.stringMatching(new RegExp(`^[0-9a-f]{${min},${max}}$`));
const digits = fc.stringMatching(/^\d{1,5}$/);

/** A token with a digit in it, as ids, names and numbers are, some of them made to look like keywords. */
const variableToken: fc.Arbitrary<string> = fc.oneof(
  hex(1, 64).map((h) => (/\d/.test(h) ? h : `${h}0`)),
  digits,
  fc.stringMatching(/^[a-zA-Z0-9]{0,8}\d[a-zA-Z0-9]{0,8}$/),
  fc.stringMatching(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/).map((s) => (/\d/.test(s) ? s : `${s}7`)),
  fc
    .tuple(fc.constantFrom(...KEYWORDS), digits, fc.constantFrom('before', 'after', 'both', 'inside'))
    .map(([k, d, where]) => {
      if (where === 'before') return `${d}${k}`;
      if (where === 'after') return `${k}${d}`;
      if (where === 'both') return `${d}${k}${d}`;
      const cut = Math.floor(k.length / 2);
      return `${k.slice(0, cut)}${d}${k.slice(cut)}`;
    }),
);

/** Sometimes a token without a digit: a different template, which must still classify right. */
const anyToken = fc.oneof(
  { weight: 8, arbitrary: variableToken },
  { weight: 1, arbitrary: fc.constantFrom(...KEYWORDS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-zA-Z]{1,8}$/) },
  { weight: 1, arbitrary: fc.constantFrom('', '-', '_', '"', ':', ' ') },
);

/** Runs of letters and digits holding a digit (ids, names, numbers, ranges) or following a `-` (name parts). */
const VARIABLE = /(?<=-)[A-Za-z0-9]+|[A-Za-z0-9]*\d[A-Za-z0-9]*/g;

/** Replaces every VARIABLE run with a new token. */
function substitute(message: string, tokens: readonly string[]): string {
  let i = 0;
  return message.replace(VARIABLE, () => tokens[i++ % tokens.length]);
}

/** How many tokens `substitute` replaces in a wording. */
const variableCount = (message: string): number => message.match(VARIABLE)?.length ?? 0;

/** A token glued in anywhere (merging into a word or a keyword), or nothing. */
const glue = (wording: string): fc.Arbitrary<[number, string] | null> =>
  fc.option(fc.tuple(fc.nat(wording.length + 200), variableToken), { freq: 4 });

function apply(wording: string, tokens: readonly string[], glued: [number, string] | null): string {
  const text = substitute(wording, tokens);
  if (!glued) return text;
  const at = Math.min(glued[0], text.length);
  return `${text.slice(0, at)}${glued[1]}${text.slice(at)}`;
}

/** A real wording with new ids. */
const variant = (wording: string): fc.Arbitrary<string> =>
  fc
    .tuple(fc.array(anyToken, { minLength: 1, maxLength: 12 }), glue(wording))
    .map(([tokens, glued]) => apply(wording, tokens, glued));

/**
 * Messages most likely to share a template but not a class: one wording, the same new ids, except that each
 * of the later messages changes one token (often to a keyword-like one) or glues one in.
 */
const neighbours = (wording: string): fc.Arbitrary<string[]> => {
  const n = Math.max(1, variableCount(wording));
  return fc
    .tuple(
      fc.array(variableToken, { minLength: n, maxLength: n }),
      glue(wording),
      fc.array(fc.tuple(fc.nat(n - 1), anyToken, glue(wording)), { minLength: 1, maxLength: 4 }),
    )
    .map(([tokens, glued, changes]) => [
      apply(wording, tokens, glued),
      ...changes.map(([at, token, otherGlue]) =>
        apply(
          wording,
          tokens.map((t, i) => (i === at ? token : t)),
          otherGlue ?? glued,
        ),
      ),
    ]);
};

const wording = fc.constantFrom(...WORDINGS);

describe('classification by message template', () => {
  it('the corpus holds the real wordings of every error class', () => {
    const classes = new Set(WORDINGS.map((m) => classifySandboxMessageUncached(m).errorClass));
    expect([...classes].sort()).toEqual([
      'cni-config-invalid',
      'cni0-address-mismatch',
      'ip-exhausted',
      'network-not-ready',
      'other',
      'plugin-missing',
      'subnet-env-incomplete',
      'subnet-env-missing',
    ]);
  });

  it('a message of a cached template gets the signature full classification gives', () => {
    fc.assert(
      fc.property(wording.chain(neighbours), (messages) => {
        const classifier = new SandboxMessageClassifier();
        for (const message of messages) {
          expect(classifier.classify(message)).toEqual(classifySandboxMessageUncached(message));
        }
      }),
      RUNS,
    );
  });

  it('holds across many templates sharing a small cache (evictions, re-entries)', () => {
    fc.assert(
      fc.property(
        fc.array(wording.chain(variant), { minLength: 5, maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        (messages, capacity) => {
          const classifier = new SandboxMessageClassifier(capacity);
          for (const message of [...messages, ...messages]) {
            expect(classifier.classify(message)).toEqual(classifySandboxMessageUncached(message));
          }
          expect(classifier.templateCount).toBeLessThanOrEqual(capacity);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a pod or network named like a keyword does not take the class of its template', () => {
    const classifier = new SandboxMessageClassifier();
    const wrap = (pod: string): string =>
      `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to set up sandbox container "4f1d2c" network for pod "${pod}": networkPlugin cni failed to set up pod "${pod}_prod" network: error adding container to network "cbr0": failed 7`;
    const plain = classifier.classify(wrap('api-5d9f7'));
    expect(plain.errorClass).toBe('other');
    for (const pod of ['networkpluginnotready-1', 'x1NetworkPluginNotReady', 'multus-2', 'k8s-3']) {
      expect(classifier.classify(wrap(pod))).toEqual(classifySandboxMessageUncached(wrap(pod)));
    }
    expect(classifier.classify(wrap('networkpluginnotready-1')).errorClass).toBe('network-not-ready');
  });

  it('keeps each message its own ids, ranges and names on a template hit', () => {
    const classifier = new SandboxMessageClassifier();
    const message = (id: string, node: number, pod: string): string =>
      `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to create pod network sandbox k8s_${pod}_shop_9a1f3c2e-4b5d-4e6f-8a7b-1c2d3e4f5a6${node}_0(${id}): error adding pod shop_${pod} to CNI network "cbr0": plugin type="flannel" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.${node}.1-10.244.${node}.254`;
    classifier.classify(message('1'.repeat(64), 3, 'web-5d9f7-x2k9p'));
    const hit = classifier.classify(message('2'.repeat(64), 4, 'web-7c8d9-q7w4z'));
    expect(classifier.templateCount).toBe(1);
    expect(hit).toMatchObject({
      errorClass: 'ip-exhausted',
      runtime: 'cri-o',
      sandboxId: '2'.repeat(64),
      podName: 'web-7c8d9-q7w4z',
      podNamespace: 'shop',
      podUid: '9a1f3c2e-4b5d-4e6f-8a7b-1c2d3e4f5a64',
      range: '10.244.4.1-10.244.4.254',
      cniNetwork: 'cbr0',
      pluginType: 'flannel',
    });
  });

  it('a storm of one wording needs one template; distinct wordings never grow the cache past its bound', () => {
    const classifier = new SandboxMessageClassifier(16);
    let seed = 42;
    const hexDigit = (): string => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return '0123456789bcdef'[seed % 15];
    };
    for (let i = 0; i < 2_000; i++) {
      // Ids without an `a`: a token holding a word of the patterns (`add`) keeps its own template.
      const id = `${i % 10}${Array.from({ length: 63 }, hexDigit).join('')}`;
      classifier.classify(
        `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${id}": plugin type="flannel" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.${i % 250}.1-10.244.${i % 250}.254`,
      );
    }
    expect(classifier.templateCount).toBe(1);
    for (let i = 0; i < 500; i++)
      classifier.classify(`wording number ${'x'.repeat(i % 40)} no IP addresses available`);
    expect(classifier.templateCount).toBe(16);
  });

  it('through a stretch of one-off wordings (when the cache steps aside) and back, every answer is the full one', () => {
    const classifier = new SandboxMessageClassifier();
    const storm = (i: number): string =>
      `failed to setup network for sandbox "${(i * 7919).toString(16).padStart(64, '1')}": failed to allocate for range 0: no IP addresses available in range set: 10.244.${i % 250}.1-10.244.${i % 250}.254`;
    const oneOff = (i: number): string =>
      `${['open /run/flannel/subnet.env: no such file or directory', 'cni plugin not initialized', 'failed'][i % 3]} ${'z'.repeat(i % 700)}`;
    const messages = [
      ...Array.from({ length: 1_500 }, (_, i) => storm(i)),
      ...Array.from({ length: 2_000 }, (_, i) => oneOff(i)),
      ...Array.from({ length: 6_000 }, (_, i) => storm(i)),
    ];
    for (const message of messages) {
      expect(classifier.classify(message)).toEqual(classifySandboxMessageUncached(message));
    }
    expect(classifier.templateCount).toBeLessThanOrEqual(256);
  });

  it('only the patterns template.ts names read a token with a class that cares about its characters', () => {
    // A positive class or \d outside a word can tell one id from another; such a pattern must be SHAPE_SENSITIVE
    // (or, like IP_EXHAUSTED, have those classes only in optional groups that just fill in details).
    const shapeReaders = Object.entries(P)
      .filter((entry): entry is [string, RegExp] => entry[1] instanceof RegExp)
      .filter(([, re]) => /\\d|(?<!\\)\[(?!\^)(?![a-z]+\])/.test(re.source))
      .map(([name]) => name)
      .sort();
    expect(shapeReaders).toEqual([
      'BRIDGE_ADDRESS_MISMATCH',
      'CNI_CONFIG_INVALID',
      'CRIO_SANDBOX',
      'IP_EXHAUSTED',
    ]);
    expect(SHAPE_SENSITIVE).toEqual([P.CRIO_SANDBOX, P.BRIDGE_ADDRESS_MISMATCH]);
  });

  it('hostile messages stay cheap and classify as without the cache', () => {
    const huge = `open /run/flannel/subnet.env: no such file or directory ${'a1'.repeat(1_000_000)}`;
    const withNul = `no IP addresses available in range set: 10.244.0.1-10.244.0.254 \u0000D`;
    const started = performance.now();
    for (const message of [huge, withNul, 'ab'.repeat(MAX_MESSAGE_CHARS), '1'.repeat(MAX_MESSAGE_CHARS)]) {
      expect(classifySandboxMessage(message)).toEqual(classifySandboxMessageUncached(message));
    }
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
