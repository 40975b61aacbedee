/** Deterministic identifiers for simulated sandboxes, so scenarios, hosts and the kubelet agree on them. */
import { createHash } from 'node:crypto';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The 64-hex pod sandbox id (what `crictl pods -q --no-trunc` prints) of a pod's n-th sandbox attempt. */
export function podSandboxId(namespace: string, podName: string, attempt = 0): string {
  return sha256(`sandbox/${namespace}/${podName}/${attempt}`);
}

/** A sandbox id for a reservation whose owner no longer exists (a leak), stable per node and IP. */
export function leakedSandboxId(nodeName: string, ip: string): string {
  return sha256(`leaked/${nodeName}/${ip}`);
}

/** containerd/CRI-O netns name: `cni-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (domain/flannel.md §2). */
export function netnsNameFor(sandboxId: string): string {
  const h = sha256(`netns/${sandboxId}`);
  return `cni-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Host-side veth name as the bridge plugin makes it (`veth` + 8 hex). */
export function vethNameFor(sandboxId: string): string {
  return `veth${sha256(`veth/${sandboxId}`).slice(0, 8)}`;
}

/** A locally administered unicast MAC derived from a seed. */
export function macFor(seed: string): string {
  const h = sha256(`mac/${seed}`);
  const first = ((parseInt(h.slice(0, 2), 16) & 0xfc) | 0x02).toString(16).padStart(2, '0');
  return [first, h.slice(2, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10), h.slice(10, 12)].join(':');
}
