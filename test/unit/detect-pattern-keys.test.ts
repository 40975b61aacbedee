import { describe, expect, test } from '@jest/globals';
import * as P from '../../src/detect/patterns.js';

/**
 * classify.ts skips a pattern when the message lacks all of its PATTERN_KEYS. A key the pattern can match
 * without would silently hide that wording, so every keyed pattern is run on real wordings (and their
 * capitalisation variants) and the text it matched must contain one of its keys.
 */
const SAMPLES: [RegExp, string[]][] = [
  [
    P.BRIDGE_ADDRESS_MISMATCH,
    ['failed to set bridge addr: "cni0" already has an IP address different from 10.244.1.1/24'],
  ],
  [
    P.CRIO_SANDBOX,
    [
      'error creating pod sandbox with name "k8s_web_default_1234_0": failed to create pod network sandbox k8s_web-7cb9_default_5f1d-44_0(a1b2c3): error adding pod default_web-7cb9 to CNI network "cbr0"',
    ],
  ],
  [
    P.DELEGATE_ADD,
    ['plugin type="flannel" failed (add): failed to delegate add: failed to allocate for range 0'],
  ],
  [
    P.DOCKERSHIM_SANDBOX,
    [
      'failed to set up sandbox container "cff2bad94b2e" network for pod "web-7cb9ccb4f5-cwcs7": networkPlugin cni',
    ],
  ],
  [
    P.PLUGIN_MISSING,
    [
      'failed to find plugin "flannel" in path [/opt/cni/bin]',
      'plugin type="portmap" failed (add): failed to find plugin "portmap" in path [/opt/cni/bin /usr/lib/cni]',
    ],
  ],
  [
    P.PRE_CRI,
    [
      'Failed to setup network for pod "web_default(1234-5678)" using network plugins "cni": no IP addresses available',
    ],
  ],
  [
    P.PRE_CRI_POD,
    [
      'Failed to setup network for pod "web_default(1234-5678)" using network plugins "cni": no IP addresses available',
    ],
  ],
  [
    P.CONTAINERD_SANDBOX,
    [
      'rpc error: code = Unknown desc = failed to setup network for sandbox "566461a584386191": plugin type="flannel" failed (add)',
    ],
  ],
  [
    P.PLUGIN_DESCRIPTION,
    [
      'plugin type="flannel" failed (add): loadFlannelSubnetEnv failed',
      'plugin type="multus" name="multus-cni-network" failed (add): [default/web:cbr0]: error adding container to network "cbr0": plugin type="flannel" failed (added netns "/var/run/netns/x")',
    ],
  ],
  [P.LIBCNI_PREFIX, ['plugin type="flannel" name="cbr0" failed (add): failed to delegate add']],
];

const variants = (s: string) => [s, s.toUpperCase(), s.toLowerCase()];

describe('pattern keys', () => {
  test('every keyed pattern has samples, and every sample is a keyed pattern', () => {
    expect(new Set(SAMPLES.map(([re]) => re))).toEqual(new Set(P.PATTERN_KEYS.keys()));
  });

  test('keys are lower case (they are looked up in the lower-cased message)', () => {
    for (const keys of P.PATTERN_KEYS.values()) for (const k of keys) expect(k).toBe(k.toLowerCase());
  });

  test.each(SAMPLES.map(([re, samples]) => [re.source.slice(0, 50), re, samples] as const))(
    '%s: what it matches contains a key',
    (_name, re, samples) => {
      const keys = P.PATTERN_KEYS.get(re) ?? [];
      for (const sample of samples.flatMap(variants)) {
        const match = new RegExp(re.source, re.flags.replace('g', '')).exec(sample);
        expect(match).not.toBeNull();
        const matched = match![0].toLowerCase();
        expect(keys.some((k) => matched.includes(k))).toBe(true);
      }
    },
  );
});
