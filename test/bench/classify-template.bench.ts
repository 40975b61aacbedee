/**
 * Micro-benchmark (not a test) of sandbox-message classification in an event storm: many events of a few
 * wordings that differ in their sandbox ids, pod names and uids, and IP ranges.
 *
 *   npx tsx test/bench/classify-template.bench.ts [path/to/classify.ts]
 *
 * With a path, that module's classifySandboxMessage is timed as well (e.g. another checkout's, for before/after).
 * Prints µs per message for full classification, the template-cached one, and the given module's.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { classifySandboxMessageUncached, SandboxMessageClassifier } from '../../src/detect/classify.js';

type Classify = (message: string) => unknown;

const EVENTS = 200_000;
const ROUNDS = 5;

const FCPS = 'Failed to create pod sandbox: rpc error: code = Unknown desc = ';
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const suffix = (): string =>
  Array.from({ length: 5 }, () => 'bcdfghjklmnpqrstvwxz2456789'[Math.floor(Math.random() * 27)]).join('');
const node = (): number => Math.floor(Math.random() * 250);

/** The storm's wordings (domain/flannel.md §7), weighted as a containerd-heavy fleet would send them. */
const WORDINGS: (() => string)[] = [
  () => {
    const n = node();
    return `${FCPS}failed to setup network for sandbox "${hex(32)}": plugin type="flannel" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.${n}.1-10.244.${n}.254`;
  },
  () => {
    const n = node();
    return `${FCPS}failed to setup network for sandbox "${hex(32)}": plugin type="flannel" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.${n}.1-10.244.${n}.254`;
  },
  () =>
    `${FCPS}failed to setup network for sandbox "${hex(32)}": plugin type="flannel" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory`,
  () => {
    const pod = `web-7d9f8c6b5-${suffix()}`;
    return `${FCPS}failed to create pod network sandbox k8s_${pod}_shop_${randomUUID()}_0(${hex(32)}): error adding pod shop_${pod} to CNI network "cbr0": plugin type="flannel" failed (add): failed to delegate add: failed to allocate for range 0: no IP addresses available in range set: 10.244.${node()}.1-10.244.${node()}.254`;
  },
  () => {
    const pod = `api-5d8f7c9b4-${suffix()}`;
    return `${FCPS}failed to set up sandbox container "${hex(32)}" network for pod "${pod}": networkPlugin cni failed to set up pod "${pod}_prod" network: open /run/flannel/subnet.env: no such file or directory`;
  },
];

function storm(): string[] {
  return Array.from({ length: EVENTS }, (_, i) => WORDINGS[i % WORDINGS.length]());
}

function time(name: string, classify: Classify, messages: readonly string[]): number {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < messages.length; i++) classify(messages[i]);
    const us = Number(process.hrtime.bigint() - started) / 1_000 / messages.length;
    best = Math.min(best, us);
  }
  console.log(`${name.padEnd(40)} ${best.toFixed(3)} µs/message (best of ${ROUNDS} × ${messages.length})`);
  return best;
}

const NAMES = [
  'containerd ip-exhausted',
  'containerd ip-exhausted',
  'containerd subnet.env',
  'CRI-O ip-exhausted',
  'dockershim subnet.env',
];
const messages = storm().map((m) => JSON.parse(JSON.stringify(m)) as string); // flat, as parsed from a watch
const other = process.argv[2];
const results: Record<string, number> = {};
console.log(`mixed storm, ${WORDINGS.length} wordings:`);
if (other) {
  const mod = (await import(pathToFileURL(resolve(other)).href)) as { classifySandboxMessage: Classify };
  results.other = time(`  ${other}`, mod.classifySandboxMessage, messages);
}
results.uncached = time('  full classification (uncached)', classifySandboxMessageUncached, messages);
const classifier = new SandboxMessageClassifier();
results.cached = time('  by template (cached)', (m) => classifier.classify(m), messages);
console.log(
  `  templates cached: ${classifier.templateCount}; speed-up ${(results.uncached / results.cached).toFixed(2)}×`,
);
for (const k of [0, 2, 3, 4]) {
  const one = messages.filter((_, i) => i % WORDINGS.length === k);
  const c = new SandboxMessageClassifier();
  const full = time(`${NAMES[k]}: full`, classifySandboxMessageUncached, one);
  const cached = time(`${NAMES[k]}: by template`, (m) => c.classify(m), one);
  console.log(`  templates ${c.templateCount}; speed-up ${(full / cached).toFixed(2)}×`);
}
