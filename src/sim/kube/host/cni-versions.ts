/**
 * Which error wording a CNI plugin build uses, from the version its binary reports (domain/flannel.md §1.3).
 * The simulated binaries in /opt/cni/bin are stubs that print their version like the real ones, so
 * replacing a binary on a node changes the wording, as on a real host.
 */

export interface PluginVersion {
  major: number;
  minor: number;
  patch: number;
  /** The N of a `-flannelN` suffix (0 when absent). */
  flannelBuild: number;
}

export function parsePluginVersion(text: string | undefined): PluginVersion | undefined {
  const m = /\bv(\d+)\.(\d+)\.(\d+)(?:-flannel(\d+))?/.exec(text ?? '');
  if (!m) return undefined;
  return { major: +m[1], minor: +m[2], patch: +m[3], flannelBuild: m[4] ? +m[4] : 0 };
}

export function compareVersions(a: PluginVersion, b: PluginVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || a.flannelBuild - b.flannelBuild;
}

function v(text: string): PluginVersion {
  const parsed = parsePluginVersion(text);
  if (!parsed) throw new Error(`bad version literal ${text}`);
  return parsed;
}

/** Versions placed in /opt/cni/bin by default (the plugins of kube-flannel.yml v0.28.9 and CNI plugins v1.9.1). */
export const DEFAULT_PLUGIN_VERSIONS: Readonly<Record<string, string>> = {
  flannel: 'v1.9.1-flannel3',
  bridge: 'v1.9.1',
  'host-local': 'v1.9.1',
  portmap: 'v1.9.1',
  loopback: 'v1.9.1',
};

export type SubnetEnvWording = 'bare' | 'loadFlannelSubnetEnv' | 'failed-to-load';

export interface FlannelPluginGeneration {
  subnetEnvWording: SubnetEnvWording;
  /** Whether errors returned by the delegate (bridge/host-local) keep the `failed to delegate add: ` prefix. */
  delegatePrefixOnTypedErrors: boolean;
}

/**
 * flannel cni-plugin: <v1.1.2 bare `open ...`; v1.1.2..v1.7.1-flannel1 `loadFlannelSubnetEnv failed: `;
 * >=v1.7.1-flannel2 `failed to load flannel 'subnet.env' file: ... Check the flannel pod log for this node.`
 * Builds up to v1.4.x (libcni <=v1.1) keep `failed to delegate add: ` before the delegate's own errors.
 * Unknown versions are treated as current.
 */
export function flannelGeneration(binaryText: string | undefined): FlannelPluginGeneration {
  const ver = parsePluginVersion(binaryText) ?? v(DEFAULT_PLUGIN_VERSIONS.flannel);
  let subnetEnvWording: SubnetEnvWording = 'failed-to-load';
  if (compareVersions(ver, v('v1.1.2')) < 0) subnetEnvWording = 'bare';
  else if (compareVersions(ver, v('v1.7.1-flannel2')) < 0) subnetEnvWording = 'loadFlannelSubnetEnv';
  return { subnetEnvWording, delegatePrefixOnTypedErrors: compareVersions(ver, v('v1.5.0')) < 0 };
}

/** host-local before containernetworking/plugins v0.6.0 words exhaustion `no IP addresses available in network: <name>`. */
export function hostLocalIsLegacy(binaryText: string | undefined): boolean {
  const ver = parsePluginVersion(binaryText);
  return ver !== undefined && compareVersions(ver, v('v0.6.0')) < 0;
}

/** Content of a stand-in plugin binary: prints its version as the real binary does when run without CNI_COMMAND. */
export function pluginBinaryStub(name: string, version: string): string {
  const banner =
    name === 'flannel'
      ? `CNI Plugin flannel version ${version} (linux/amd64)`
      : `CNI ${name} plugin ${version}\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0`;
  return `#!/bin/sh\n# flannel-ops simulator stand-in for the "${name}" CNI plugin binary\ncat <<'EOF'\n${banner}\nEOF\n`;
}
