import { describe, expect, test } from '@jest/globals';
import type { CoreV1Event, EventsV1Event } from '@kubernetes/client-node';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  classifySandboxMessage,
  MAX_MESSAGE_CHARS,
  signalFromEvent,
  type CoreV1EventLike,
  type FailureSignature,
} from '../../src/detect/classify.js';

const SANDBOX_64 = '566461a584386191b1cc4dcc05193d30f7120f467ab2c694e2811eda1db34247';
const FCPS = 'Failed to create pod sandbox: rpc error: code = Unknown desc = ';

/** domain/flannel.md §7, verbatim. */
const FIXTURES: [string, string, Partial<FailureSignature>][] = [
  [
    'containerd >=1.6, leaked IPAM, new flannel cni-plugin',
    `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${SANDBOX_64}": plugin type="flannel" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254`,
    {
      errorClass: 'ip-exhausted',
      runtime: 'containerd',
      range: '10.244.1.1-10.244.1.254',
      pluginType: 'flannel',
      sandboxId: SANDBOX_64,
      delegateAdd: false,
      combined: false,
      multus: false,
    },
  ],
  [
    'containerd, older flannel cni-plugin (<=v1.4.x), aggregated',
    '(combined from similar events): Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "27160a7396731fab0b66773efde66e8b570f33d3aeb64967bdc12b0726d40cee": plugin type="flannel" failed (add): failed to delegate add: failed to allocate for range 0: no IP addresses available in range set: 10.111.20.1-10.111.20.254',
    {
      errorClass: 'ip-exhausted',
      runtime: 'containerd',
      range: '10.111.20.1-10.111.20.254',
      sandboxId: '27160a7396731fab0b66773efde66e8b570f33d3aeb64967bdc12b0726d40cee',
      delegateAdd: true,
      combined: true,
    },
  ],
  [
    'dockershim',
    'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to set up sandbox container "cff2bad94b2e..." network for pod "web-7cb9ccb4f5-cwcs7": networkPlugin cni failed to set up pod "web-7cb9ccb4f5-cwcs7_default" network: failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254',
    {
      errorClass: 'ip-exhausted',
      runtime: 'dockershim',
      range: '10.244.1.1-10.244.1.254',
      sandboxId: 'cff2bad94b2e...',
      podName: 'web-7cb9ccb4f5-cwcs7',
      podNamespace: 'default',
    },
  ],
  [
    'legacy host-local wording (pre plugins v0.6.0)',
    '... NetworkPlugin cni failed to set up pod "nginx_default" network: no IP addresses available in network: cbr0',
    {
      errorClass: 'ip-exhausted',
      runtime: 'dockershim',
      network: 'cbr0',
      podName: 'nginx',
      podNamespace: 'default',
    },
  ],
  [
    'subnet.env, cni-plugin v1.1.2 … v1.7.1-flannel1',
    '... plugin type="flannel" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory',
    {
      errorClass: 'subnet-env-missing',
      subnetEnvPath: '/run/flannel/subnet.env',
      subnetEnvWording: 'loadFlannelSubnetEnv',
      pluginType: 'flannel',
    },
  ],
  [
    'subnet.env, cni-plugin >= v1.7.1-flannel2',
    '... plugin type="flannel" failed (add): failed to load flannel \'subnet.env\' file: open /run/flannel/subnet.env: no such file or directory. Check the flannel pod log for this node.',
    {
      errorClass: 'subnet-env-missing',
      subnetEnvWording: 'failed-to-load-file',
      subnetEnvPath: '/run/flannel/subnet.env',
    },
  ],
  [
    'subnet.env, old plugin under dockershim',
    '... networkPlugin cni failed to set up pod "x_default" network: open /run/flannel/subnet.env: no such file or directory',
    { errorClass: 'subnet-env-missing', subnetEnvWording: 'bare', runtime: 'dockershim', podName: 'x' },
  ],
  [
    'flannel binary missing',
    '... failed to setup network for sandbox "bcaf9b...": plugin type="flannel" failed (add): failed to find plugin "flannel" in path [/opt/cni/bin]',
    {
      errorClass: 'plugin-missing',
      runtime: 'containerd',
      plugin: 'flannel',
      plugins: ['flannel'],
      searchPath: '/opt/cni/bin',
      sandboxId: 'bcaf9b...',
    },
  ],
  [
    'delegate (bridge) binary missing',
    '... plugin type="flannel" failed (add): failed to delegate add: failed to find plugin "bridge" in path [/opt/cni/bin]',
    { errorClass: 'plugin-missing', plugin: 'bridge', delegateAdd: true, pluginType: 'flannel' },
  ],
  [
    'stale bridge',
    '... networkPlugin cni failed to set up pod "coredns-f9fd979d6-jxvx5_kube-system" network: failed to set bridge addr: "cni0" already has an IP address different from 10.244.0.1/24',
    {
      errorClass: 'cni0-address-mismatch',
      bridge: 'cni0',
      expectedAddress: '10.244.0.1/24',
      runtime: 'dockershim',
      podName: 'coredns-f9fd979d6-jxvx5',
      podNamespace: 'kube-system',
    },
  ],
  [
    'CRI-O',
    'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to create pod network sandbox k8s_coredns-7c65d6cfc9-prlbd_kube-system_335070f1-cc11-4569-bf97-e2ba7d480ee2_0(a1e1f9e2...): error adding pod kube-system_coredns-7c65d6cfc9-prlbd to CNI network "cbr0": plugin type="flannel" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory',
    {
      errorClass: 'subnet-env-missing',
      runtime: 'cri-o',
      podName: 'coredns-7c65d6cfc9-prlbd',
      podNamespace: 'kube-system',
      podUid: '335070f1-cc11-4569-bf97-e2ba7d480ee2',
      sandboxId: 'a1e1f9e2...',
      cniNetwork: 'cbr0',
      pluginType: 'flannel',
    },
  ],
  [
    'node condition, containerd',
    'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
    { errorClass: 'network-not-ready', runtime: 'containerd' },
  ],
  [
    'node condition, dockershim, older kubelet',
    'runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:docker: network plugin is not ready: cni config uninitialized',
    { errorClass: 'network-not-ready', runtime: 'dockershim' },
  ],
];

describe('classifySandboxMessage: every domain/flannel.md §7 fixture line', () => {
  test.each(FIXTURES)('%s', (_name, message, expected) => {
    expect(classifySandboxMessage(message)).toMatchObject(expected);
  });
});

describe('classifySandboxMessage: the seed report', () => {
  const seedDir = '/work/shared/seeds';
  const seedLine = readdirSync(seedDir)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => readFileSync(join(seedDir, f), 'utf8'))
    .flatMap((text) => text.split('\n'))
    .find((line) => line.includes('FailedCreatePodSandBox'));

  test('the seed file carries the sandbox error line', () => {
    expect(seedLine).toContain('no IP addresses available in network: cni0');
  });

  test('odd `failed (added netns ... to delay queue)` wording with a plugin name, legacy exhaustion', () => {
    const message = seedLine!.slice(seedLine!.indexOf('Failed to create pod sandbox'));
    expect(classifySandboxMessage(message)).toEqual({
      errorClass: 'ip-exhausted',
      runtime: 'dockershim',
      multus: false,
      delegateAdd: false,
      combined: false,
      pluginType: 'flannel',
      pluginName: 'kube-flannel-ds',
      sandboxId: 'xxx',
      podName: 'xxx',
      network: 'cni0',
    });
  });

  test('the whole `kubectl describe` line classifies the same way', () => {
    expect(classifySandboxMessage(seedLine!)).toMatchObject({ errorClass: 'ip-exhausted', network: 'cni0' });
  });
});

/** §1.3 plugin errors, each with what must be extracted from it. */
const PLUGIN_ERRORS: [string, string, Partial<FailureSignature>][] = [
  [
    'A',
    'failed to allocate for range 0: no IP addresses available in range set: 10.244.7.1-10.244.7.254',
    { errorClass: 'ip-exhausted', range: '10.244.7.1-10.244.7.254' },
  ],
  [
    'A /27',
    'failed to allocate for range 0: no IP addresses available in range set: 192.168.63.161-192.168.63.190',
    { errorClass: 'ip-exhausted', range: '192.168.63.161-192.168.63.190' },
  ],
  [
    'A-legacy with subnet',
    'no IP addresses available in network: cbr0 10.244.7.0/24',
    { errorClass: 'ip-exhausted', network: 'cbr0', subnet: '10.244.7.0/24' },
  ],
  [
    'A-prefix',
    'failed to delegate add: failed to allocate for range 0: no IP addresses available in range set: 10.244.7.1-10.244.7.254',
    { errorClass: 'ip-exhausted', delegateAdd: true },
  ],
  [
    'B old',
    'open /run/flannel/subnet.env: no such file or directory',
    { errorClass: 'subnet-env-missing', subnetEnvWording: 'bare' },
  ],
  [
    'B2',
    '/run/flannel/subnet.env is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ',
    {
      errorClass: 'subnet-env-incomplete',
      subnetEnvPath: '/run/flannel/subnet.env',
      missingKeys: [
        'FLANNEL_NETWORK',
        'FLANNEL_IPV6_NETWORK',
        'FLANNEL_SUBNET',
        'FLANNEL_IPV6_SUBNET',
        'FLANNEL_MTU',
        'FLANNEL_IPMASQ',
      ],
    },
  ],
  [
    'C list form',
    '[failed to find plugin "flannel" in path [/opt/cni/bin] failed to find plugin "portmap" in path [/opt/cni/bin]]',
    {
      errorClass: 'plugin-missing',
      plugin: 'flannel',
      plugins: ['flannel', 'portmap'],
      searchPath: '/opt/cni/bin',
    },
  ],
  [
    'C host-local',
    'failed to find plugin "host-local" in path [/opt/cni/bin /usr/libexec/cni]',
    { errorClass: 'plugin-missing', plugin: 'host-local', searchPath: '/opt/cni/bin /usr/libexec/cni' },
  ],
  [
    'D',
    'failed to set bridge addr: "cni0" already has an IP address different from 10.244.2.1/24',
    { errorClass: 'cni0-address-mismatch', bridge: 'cni0', expectedAddress: '10.244.2.1/24' },
  ],
];

/** §1.2 runtime wrappers: [name, wrap(error), expected runtime, extra fields]. */
const WRAPPERS: [string, (err: string) => string, Partial<FailureSignature>][] = [
  [
    'containerd >=1.6',
    (err) =>
      `${FCPS}failed to setup network for sandbox "${SANDBOX_64}": plugin type="flannel" failed (add): ${err}`,
    { runtime: 'containerd', sandboxId: SANDBOX_64, pluginType: 'flannel' },
  ],
  [
    'containerd >=1.6 with a named plugin conf',
    (err) =>
      `${FCPS}failed to setup network for sandbox "${SANDBOX_64}": plugin type="flannel" name="cbr0" failed (add): ${err}`,
    { runtime: 'containerd', pluginType: 'flannel', pluginName: 'cbr0' },
  ],
  [
    'containerd <=1.5',
    (err) => `${FCPS}failed to setup network for sandbox "${SANDBOX_64}": ${err}`,
    { runtime: 'containerd-1.5', sandboxId: SANDBOX_64 },
  ],
  [
    'CRI-O',
    (err) =>
      `${FCPS}failed to create pod network sandbox k8s_web-0_shop_9a1f3c2e-4b5d-4e6f-8a7b-1c2d3e4f5a6b_1(${SANDBOX_64}): error adding pod shop_web-0 to CNI network "cbr0": plugin type="flannel" failed (add): ${err}`,
    {
      runtime: 'cri-o',
      podName: 'web-0',
      podNamespace: 'shop',
      podUid: '9a1f3c2e-4b5d-4e6f-8a7b-1c2d3e4f5a6b',
      sandboxId: SANDBOX_64,
      cniNetwork: 'cbr0',
    },
  ],
  [
    'dockershim',
    (err) =>
      `${FCPS}failed to set up sandbox container "4f1d2c" network for pod "api-5d9f7": networkPlugin cni failed to set up pod "api-5d9f7_prod" network: ${err}`,
    { runtime: 'dockershim', sandboxId: '4f1d2c', podName: 'api-5d9f7', podNamespace: 'prod' },
  ],
  [
    'dockershim, capitalised (kubelet 1.9-1.1x)',
    (err) =>
      `${FCPS}failed to set up sandbox container "4f1d2c" network for pod "api-5d9f7": NetworkPlugin cni failed to set up pod "api-5d9f7_prod" network: ${err}`,
    { runtime: 'dockershim', podName: 'api-5d9f7', podNamespace: 'prod' },
  ],
  [
    'pre-CRI kubelet',
    (err) =>
      `Failed to setup network for pod "nginx-1_default(5e3f1a2b-77aa-11e6-9b3a-42010af00002)" using network plugins "cni": ${err}; Skipping pod`,
    {
      runtime: 'pre-cri',
      podName: 'nginx-1',
      podNamespace: 'default',
      podUid: '5e3f1a2b-77aa-11e6-9b3a-42010af00002',
    },
  ],
];

const WRAPPED = WRAPPERS.flatMap(([wrapper, wrap, runtimeFields]) =>
  PLUGIN_ERRORS.map(
    ([error, text, fields]) =>
      [`${wrapper} around ${error}`, wrap(text), { ...fields, ...runtimeFields }] as const,
  ),
);

describe('classifySandboxMessage: each runtime wrapper around each plugin error', () => {
  test.each(WRAPPED)('%s', (_name, message, expected) => {
    expect(classifySandboxMessage(message)).toMatchObject(expected);
  });
});

describe('classifySandboxMessage: Multus, network-not-ready, lists, odd formatting', () => {
  test('Multus under dockershim (aks-engine#4435 style): the inner host-local error is classified', () => {
    const message = `${FCPS}failed to set up sandbox container "9c2e" network for pod "nginx-abc": networkPlugin cni failed to set up pod "nginx-abc_default" network: Multus: [default/nginx-abc]: error adding container to network "cbr0": delegateAdd: error invoking DelegateAdd - "flannel": error in getting result from AddNetwork: failed to allocate for range 0: no IP addresses available in range set: 10.244.3.1-10.244.3.254`;
    expect(classifySandboxMessage(message)).toMatchObject({
      errorClass: 'ip-exhausted',
      range: '10.244.3.1-10.244.3.254',
      multus: true,
      pluginType: 'flannel',
      cniNetwork: 'cbr0',
      runtime: 'dockershim',
    });
  });

  test('Multus as a libcni plugin on containerd: Multus is not reported as the plugin type', () => {
    const message = `${FCPS}failed to setup network for sandbox "${SANDBOX_64}": plugin type="multus" name="multus-cni-network" failed (add): [kube-system/coredns-5d78c9869d-abcde/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b]: error adding container to network "cbr0": plugin type="flannel" failed (add): failed to delegate add: failed to allocate for range 0: no IP addresses available in range set: 10.244.0.1-10.244.0.254`;
    const signature = classifySandboxMessage(message);
    expect(signature).toMatchObject({
      errorClass: 'ip-exhausted',
      multus: true,
      pluginType: 'flannel',
      cniNetwork: 'cbr0',
      runtime: 'containerd',
      delegateAdd: true,
    });
    expect(signature.pluginName).toBeUndefined();
  });

  test('Multus wrapping without a delegate type named', () => {
    const message =
      'error in getting result from AddNetwork: failed to allocate for range 0: no IP addresses available in range set: 10.244.9.1-10.244.9.254';
    expect(classifySandboxMessage(message)).toMatchObject({ errorClass: 'ip-exhausted', multus: true });
    expect(classifySandboxMessage(message).pluginType).toBeUndefined();
  });

  test.each([
    [
      'containerd >=1.6 status',
      'network is not ready: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
      { runtime: 'containerd' },
    ],
    [
      'containerd <=1.5 status',
      'network is not ready: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni config load failed: no network config found in /etc/cni/net.d: cni plugin not initialized: failed to load cni config',
      { runtime: 'containerd-1.5', cniConfDir: '/etc/cni/net.d' },
    ],
    [
      'dockershim status',
      'network is not ready: runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:docker: network plugin is not ready: cni config uninitialized',
      { runtime: 'dockershim' },
    ],
    [
      'CRI-O status',
      'network is not ready: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: No CNI configuration file in /etc/cni/net.d/. Has your network provider started?',
      { runtime: 'cri-o', cniConfDir: '/etc/cni/net.d/' },
    ],
    [
      'containerd sandbox failure before any CNI config exists',
      `${FCPS}failed to setup network for sandbox "${SANDBOX_64}": cni plugin not initialized`,
      { runtime: 'containerd', sandboxId: SANDBOX_64 },
    ],
  ])('network-not-ready: %s', (_name, message, expected) => {
    expect(classifySandboxMessage(message)).toMatchObject({ errorClass: 'network-not-ready', ...expected });
  });

  test('dockershim bracketed list: the set-up error wins over the clean-up error after it', () => {
    const message = `${FCPS}[failed to set up sandbox container "abc123" network for pod "p-1": networkPlugin cni failed to set up pod "p-1_default" network: open /run/flannel/subnet.env: no such file or directory, failed to clean up sandbox container "abc123" network for pod "p-1": networkPlugin cni failed to teardown pod "p-1_default" network: failed to find plugin "portmap" in path [/opt/cni/bin]]`;
    expect(classifySandboxMessage(message)).toMatchObject({
      errorClass: 'subnet-env-missing',
      runtime: 'dockershim',
      sandboxId: 'abc123',
      podName: 'p-1',
    });
  });

  test('dockershim list with exhaustion first: the range has no trailing comma', () => {
    const message = `[failed to set up sandbox container "abc" network for pod "p": networkPlugin cni failed to set up pod "p_default" network: failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254, failed to clean up sandbox container "abc" network for pod "p": networkPlugin cni failed to teardown pod "p_default" network: running [/usr/sbin/iptables -t nat -D POSTROUTING] failed]`;
    expect(classifySandboxMessage(message)).toMatchObject({
      errorClass: 'ip-exhausted',
      range: '10.244.1.1-10.244.1.254',
    });
  });

  test('several ranges (dual stack) are kept joined by commas', () => {
    const message =
      'failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254,fd00:10:244:1::1-fd00:10:244:1::fffe';
    expect(classifySandboxMessage(message).range).toBe(
      '10.244.1.1-10.244.1.254,fd00:10:244:1::1-fd00:10:244:1::fffe',
    );
  });

  test('new plugin wording around an incomplete subnet.env', () => {
    const message =
      'plugin type="flannel" failed (add): failed to load flannel \'subnet.env\' file: /run/flannel/subnet.env is missing FLANNEL_SUBNET. Check the flannel pod log for this node.';
    expect(classifySandboxMessage(message)).toMatchObject({
      errorClass: 'subnet-env-incomplete',
      missingKeys: ['FLANNEL_SUBNET'],
    });
  });

  test('an unreadable subnet.env still counts as missing', () => {
    const message =
      'plugin type="flannel" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: permission denied';
    expect(classifySandboxMessage(message).errorClass).toBe('subnet-env-missing');
  });

  test('a custom subnetFile path is reported as written', () => {
    const message =
      'loadFlannelSubnetEnv failed: open /var/run/flannel/cbr1/subnet.env: no such file or directory';
    expect(classifySandboxMessage(message)).toMatchObject({
      subnetEnvPath: '/var/run/flannel/cbr1/subnet.env',
    });
  });

  test('a delegate config the flannel plugin rejects is cni-config-invalid', () => {
    const message = `${FCPS}failed to setup network for sandbox "${SANDBOX_64}": plugin type="flannel" failed (add): 'delegate' dictionary must not have 'ipam' field, it'll be set by flannel`;
    expect(classifySandboxMessage(message)).toMatchObject({
      errorClass: 'cni-config-invalid',
      runtime: 'containerd',
    });
  });

  test('upper case, line breaks and doubled spaces', () => {
    const message =
      'FAILED TO CREATE POD SANDBOX: RPC ERROR: CODE = UNKNOWN DESC = FAILED TO SETUP NETWORK FOR SANDBOX "ABC":\n   PLUGIN TYPE="flannel"  FAILED (ADD):\tfailed to allocate for range 0:  NO IP ADDRESSES AVAILABLE IN RANGE SET:  10.244.1.1-10.244.1.254\n';
    expect(classifySandboxMessage(message)).toMatchObject({
      errorClass: 'ip-exhausted',
      runtime: 'containerd',
      range: '10.244.1.1-10.244.1.254',
      pluginType: 'flannel',
      sandboxId: 'ABC',
    });
  });

  test('mixed-case dockershim marker and a trailing period after the address', () => {
    const message =
      'Networkplugin CNI failed to set up pod "a_b" network: failed to set bridge addr: "cni0" already has an IP address different from 10.244.3.1/24.';
    expect(classifySandboxMessage(message)).toMatchObject({
      errorClass: 'cni0-address-mismatch',
      runtime: 'dockershim',
      expectedAddress: '10.244.3.1/24',
    });
  });

  test('the aggregation prefix is recognised in any case', () => {
    expect(
      classifySandboxMessage('(Combined From Similar Events):  cni plugin not initialized'),
    ).toMatchObject({
      combined: true,
      errorClass: 'network-not-ready',
    });
  });
});

describe("classifySandboxMessage: failures that are not Flannel's are 'other'", () => {
  test.each([
    [
      'pause image pull failure',
      `${FCPS}failed to get sandbox image "registry.k8s.io/pause:3.6": failed to pull image "registry.k8s.io/pause:3.6": failed to pull and unpack image "registry.k8s.io/pause:3.6": failed to resolve reference "registry.k8s.io/pause:3.6": failed to do request: Head "https://registry.k8s.io/v2/pause/manifests/3.6": dial tcp: lookup registry.k8s.io: no such host`,
      { runtime: 'unknown' },
    ],
    [
      'Calico IPAM exhaustion',
      `${FCPS}failed to setup network for sandbox "${SANDBOX_64}": plugin type="calico" failed (add): failed to request 1 IPv4 addresses. IPv4 addresses available to request: 0`,
      { runtime: 'containerd', pluginType: 'calico' },
    ],
    [
      'Calico datastore authorisation',
      `${FCPS}failed to setup network for sandbox "${SANDBOX_64}": plugin type="calico" failed (add): error getting ClusterInformation: connection is unauthorized: Unauthorized`,
      { pluginType: 'calico' },
    ],
    [
      'OCI runtime failure',
      `${FCPS}failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: unknown`,
      {},
    ],
    ['empty message', '', { runtime: 'unknown', combined: false, multus: false }],
  ])('%s', (_name, message, expected) => {
    expect(classifySandboxMessage(message)).toMatchObject({ errorClass: 'other', ...expected });
  });

  test('a non-string message (untrusted input) is other, not a crash', () => {
    expect(classifySandboxMessage(42 as unknown as string).errorClass).toBe('other');
  });

  test('a huge message is classified from its bounded head', () => {
    const message = `open /run/flannel/subnet.env: no such file or directory ${'x'.repeat(2_000_000)}`;
    expect(classifySandboxMessage(message).errorClass).toBe('subnet-env-missing');
  });
});

// ---- events ------------------------------------------------------------------------------------

const EXHAUSTED =
  'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "27160a7396731fab0b66773efde66e8b570f33d3aeb64967bdc12b0726d40cee": plugin type="flannel" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254';

function coreEvent(overrides: Partial<CoreV1EventLike> = {}): CoreV1EventLike {
  return {
    metadata: {
      name: 'web-1.17a2c3d4e5f6',
      namespace: 'shop',
      uid: 'ev-uid-1',
      creationTimestamp: '2026-01-02T03:04:05Z',
    },
    involvedObject: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'pod-uid-1' },
    reason: 'FailedCreatePodSandBox',
    type: 'Warning',
    message: EXHAUSTED,
    source: { component: 'kubelet', host: 'node-3' },
    count: 17,
    firstTimestamp: '2026-01-02T03:04:05Z',
    lastTimestamp: '2026-01-02T03:10:50Z',
    ...overrides,
  };
}

describe('signalFromEvent', () => {
  test('core/v1 event: pod, node, identity, count, times and signature', () => {
    expect(signalFromEvent(coreEvent())).toEqual({
      reason: 'FailedCreatePodSandBox',
      type: 'Warning',
      kind: 'Pod',
      namespace: 'shop',
      podName: 'web-1',
      podUid: 'pod-uid-1',
      node: 'node-3',
      eventUid: 'ev-uid-1',
      eventName: 'web-1.17a2c3d4e5f6',
      count: 17,
      firstSeen: '2026-01-02T03:04:05Z',
      lastSeen: '2026-01-02T03:10:50Z',
      message: EXHAUSTED,
      signature: classifySandboxMessage(EXHAUSTED),
    });
  });

  test('events.k8s.io/v1 event: regarding, note, series, reportingInstance as the node', () => {
    const event: EventsV1Event = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'web-2.17a2c3d4e5f7', namespace: 'shop', uid: 'ev-uid-2' },
      eventTime: new Date('2026-01-02T03:04:05.123Z'),
      regarding: { kind: 'Pod', namespace: 'shop', name: 'web-2', uid: 'pod-uid-2' },
      reason: 'FailedCreatePodSandBox',
      type: 'Warning',
      note: EXHAUSTED,
      reportingController: 'kubelet',
      reportingInstance: 'node-7',
      deprecatedCount: 0,
      series: { count: 5, lastObservedTime: new Date('2026-01-02T03:09:00.000Z') },
    };
    expect(signalFromEvent(event)).toMatchObject({
      podName: 'web-2',
      namespace: 'shop',
      podUid: 'pod-uid-2',
      node: 'node-7',
      count: 5,
      firstSeen: '2026-01-02T03:04:05.123Z',
      lastSeen: '2026-01-02T03:09:00.000Z',
      message: EXHAUSTED,
      signature: { errorClass: 'ip-exhausted', range: '10.244.1.1-10.244.1.254' },
    });
  });

  test('events.k8s.io/v1 with deprecatedSource and deprecated counters', () => {
    const signal = signalFromEvent({
      metadata: { name: 'e', uid: 'u' },
      regarding: { kind: 'Pod', namespace: 'ns', name: 'p' },
      reason: 'FailedCreatePodSandBox',
      type: 'Warning',
      note: EXHAUSTED,
      deprecatedSource: { component: 'kubelet', host: 'node-9' },
      deprecatedCount: 4,
      deprecatedFirstTimestamp: '2026-01-01T00:00:00Z',
      deprecatedLastTimestamp: '2026-01-01T00:05:00Z',
      reportingInstance: 'ignored-when-source-host-is-set',
    });
    expect(signal).toMatchObject({
      node: 'node-9',
      count: 4,
      firstSeen: '2026-01-01T00:00:00Z',
      lastSeen: '2026-01-01T00:05:00Z',
    });
  });

  test("client-node's typed CoreV1Event (Date timestamps) is accepted", () => {
    const event: CoreV1Event = {
      metadata: { name: 'x.1', namespace: 'default', uid: 'u-3' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'x' },
      reason: 'FailedCreatePodSandBox',
      type: 'Warning',
      message: EXHAUSTED,
      firstTimestamp: new Date('2026-02-03T04:05:06.000Z'),
      lastTimestamp: new Date('2026-02-03T04:06:06.000Z'),
    };
    expect(signalFromEvent(event)).toMatchObject({
      firstSeen: '2026-02-03T04:05:06.000Z',
      lastSeen: '2026-02-03T04:06:06.000Z',
      count: 1,
      node: null,
      podUid: null,
    });
  });

  test('NetworkNotReady: its message is the network-not-ready text', () => {
    const signal = signalFromEvent(
      coreEvent({
        reason: 'NetworkNotReady',
        message:
          'network is not ready: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
        count: undefined,
      }),
    );
    expect(signal).toMatchObject({
      reason: 'NetworkNotReady',
      count: 1,
      signature: { errorClass: 'network-not-ready', runtime: 'containerd' },
    });
  });

  test('an event without a uid gets a stable identity from its namespaced name', () => {
    const a = signalFromEvent(coreEvent({ metadata: { name: 'web-1.abc', namespace: 'shop' } }));
    const b = signalFromEvent(coreEvent({ metadata: { name: 'web-1.abc', namespace: 'shop' } }));
    expect(a?.eventUid).toBe('shop/web-1.abc');
    expect(a?.eventUid).toBe(b?.eventUid);
  });

  test.each([
    [
      'BackOff',
      coreEvent({ reason: 'BackOff', message: 'Back-off restarting failed container app in pod x' }),
    ],
    ['FailedMount', coreEvent({ reason: 'FailedMount', message: 'MountVolume.SetUp failed' })],
    ['SandboxChanged', coreEvent({ reason: 'SandboxChanged', type: 'Normal' })],
    ['reason missing', coreEvent({ reason: undefined })],
    ['no message', coreEvent({ message: undefined })],
  ])('%s -> null', (_name, event) => {
    expect(signalFromEvent(event)).toBeNull();
  });

  test('malformed input (not an object, wrong field types) does not throw', () => {
    expect(signalFromEvent(null as unknown as CoreV1EventLike)).toBeNull();
    expect(signalFromEvent('event' as unknown as CoreV1EventLike)).toBeNull();
    const weird = signalFromEvent({
      reason: 'FailedCreatePodSandBox',
      message: EXHAUSTED,
      involvedObject: 'pod' as unknown as CoreV1EventLike['involvedObject'],
      count: 'many' as unknown as number,
      source: { host: 7 as unknown as string },
    });
    expect(weird).toMatchObject({
      podName: '',
      node: null,
      count: 1,
      signature: { errorClass: 'ip-exhausted' },
    });
  });

  test('a hostile multi-megabyte message is cut to the bound in the signal', () => {
    const signal = signalFromEvent(coreEvent({ message: `${EXHAUSTED} ${'A'.repeat(3_000_000)}` }));
    expect(signal?.message.length).toBe(MAX_MESSAGE_CHARS);
    expect(signal?.signature.errorClass).toBe('ip-exhausted');
  });
});
