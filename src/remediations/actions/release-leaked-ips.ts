/**
 * release-leaked-ips: removes host-local reservations that no sandbox owns and no pod uses, on one node
 * (domain/flannel.md §2, §8). The host script holds host-local's own lock (flock on `<dir>/lock`, as the
 * plugin does) while it re-checks each file: still there, its owner no live sandbox (`crictl pods`), its IP
 * no pod's IP (the API's list, re-read right before the run). `lock` and `last_reserved_ip.*` are never
 * candidates. An IP that became a pod's between the preview and the run is kept.
 */
import { isIpv4, summarizeIps } from '../../util/ipv4.js';
import type { ExecResult, NodeScriptResult, RemediationAction } from '../types.js';
import { CNI_NETWORK_NAME, outputWords, podsOnNode, requireNode, stringList } from './common.js';
import { nodeScriptSteps } from './node-script.js';

export const IPAM_DIR = '/var/lib/cni/networks';

/** The host script (pure; tested on its own). `keep` are the pod IPs in use on the node. */
export function releaseScript(network: string, ips: readonly string[], keep: readonly string[]): string {
  if (!CNI_NETWORK_NAME.test(network)) throw new Error(`not a CNI network name: ${network}`);
  for (const ip of [...ips, ...keep]) if (!isIpv4(ip)) throw new Error(`not an IPv4 address: ${ip}`);
  return [
    'set -u',
    `dir=${IPAM_DIR}/${network}`,
    '[ -d "$dir" ] || { echo "error no-ipam-dir $dir"; exit 1; }',
    `flock "$dir/lock" sh -c '`,
    '  dir=$1; shift',
    '  live=$(crictl pods -q --no-trunc 2>/dev/null)',
    `  keep=" ${keep.join(' ')} "`,
    '  for ip in "$@"; do',
    '    f="$dir/$ip"',
    '    if [ ! -f "$f" ]; then echo "absent $ip"; continue; fi',
    '    case "$keep" in *" $ip "*) echo "kept $ip pod-ip"; continue ;; esac',
    '    owner=$(head -n 1 "$f" | tr -d "\\r")',
    '    if printf "%s\\n" "$live" | grep -qx "$owner"; then echo "kept $ip live-sandbox"; continue; fi',
    '    rm -f "$f" && echo "released $ip" || echo "failed $ip"',
    '  done',
    `' sh "$dir" ${ips.join(' ')}`,
  ].join('\n');
}

function candidates(params: Record<string, unknown>): { network: string; ips: string[] } {
  const network = typeof params.ipamNetwork === 'string' && params.ipamNetwork ? params.ipamNetwork : 'cbr0';
  // Only addresses: a file called `lock` or `last_reserved_ip.0` can never be named.
  const ips = stringList(params.ips ?? params.leakedIps).filter(isIpv4);
  return { network, ips };
}

async function podIpsOnNode(
  ctx: Parameters<RemediationAction['preview']>[0],
  node: string,
): Promise<Map<string, string>> {
  const pods = await podsOnNode(ctx.kube, node);
  const byIp = new Map<string, string>();
  for (const p of pods) {
    if (p.spec?.hostNetwork) continue;
    for (const ip of [p.status?.podIP, ...(p.status?.podIPs ?? []).map((x) => x.ip)]) {
      if (ip) byIp.set(ip, `${p.metadata?.namespace}/${p.metadata?.name}`);
    }
  }
  return byIp;
}

export const releaseLeakedIps: RemediationAction = {
  id: 'release-leaked-ips',
  scope: 'node',
  async preview(ctx) {
    const node = requireNode(ctx);
    const { network, ips } = candidates(ctx.params);
    const inUse = await podIpsOnNode(ctx, node);
    const release = ips.filter((ip) => !inUse.has(ip));
    const kept = ips.filter((ip) => inUse.has(ip));
    const lines = [
      `${release.length} reservation file(s) in ${IPAM_DIR}/${network} on ${node}: ${release.length ? summarizeIps(release) : '(none)'}`,
      ...kept.map((ip) => `${ip} is kept: it is ${inUse.get(ip)}'s IP now`),
      'each file is re-checked under the IPAM lock when the step runs: kept if a pod or a live sandbox owns it by then',
    ];
    return {
      headline: `Release ${release.length} leaked IP reservation${release.length === 1 ? '' : 's'} on ${node}`,
      lines,
      commands: [releaseScript(network, release, [...inUse.keys()])],
      via: 'node-pod',
      ...(release.length === 0 && { blockers: [`no leaked reservation left to release on ${node}`] }),
      data: { network, ips: release },
    };
  },
  ...nodeScriptSteps('release-leaked-ips', {
    async script(ctx, preview, node) {
      const network = String(preview.data?.network ?? 'cbr0');
      const ips = stringList(preview.data?.ips).filter(isIpv4);
      if (ips.length === 0) return { outcome: 'noop', lines: ['no reservation to release'] };
      // The pod IPs in use right now: the preview's list may be minutes old.
      const keep = [...(await podIpsOnNode(ctx, node)).keys()];
      return releaseScript(network, ips, keep);
    },
    interpret,
  }),
};

/** What the host script's output says (it prints one line per reservation it looked at). */
function interpret(run: NodeScriptResult): ExecResult {
  const words = outputWords(run.output);
  const released = words.filter((w) => w.verb === 'released').map((w) => w.rest[0]);
  const kept = words.filter((w) => w.verb === 'kept').map((w) => `${w.rest[0]} (${w.rest[1] ?? 'kept'})`);
  const failed = words.filter((w) => w.verb === 'failed' || w.verb === 'error').map((w) => w.rest.join(' '));
  // What was kept and what failed first: the released list can be long.
  const lines = [
    ...(kept.length ? [`kept ${kept.length}: ${kept.join(', ')}`] : []),
    ...(failed.length ? [`failed: ${failed.join(', ')}`] : []),
    `released ${released.length}: ${released.length ? summarizeIps(released) : '(none)'}`,
    ...(!run.ok ? [`the action pod failed: ${run.error ?? 'no reason'}`] : []),
  ];
  if (!run.ok || failed.length) return { outcome: 'failed', lines };
  return { outcome: released.length ? 'done' : 'noop', lines };
}
