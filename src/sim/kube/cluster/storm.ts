import { randomUUID } from 'node:crypto';
import { podSandboxId } from '../host/ids.js';
import { brokenSandboxMessage } from '../host/sandbox-message.js';
import type { Runtime, Scenario } from '../scenario/schema.js';
import type { ObjectStore } from '../store.js';
import {
  broadcastAddress,
  formatIpv4,
  gatewayAddress,
  parseIpv4Cidr,
  type Ipv4Cidr,
} from '../../../util/ipv4.js';
import { eventName, isoMicros, isoSeconds, randomSuffix } from './names.js';

/**
 * A benchmark event storm: `count` FailedCreatePodSandBox events, written as fast as the store takes
 * them, for distinct pods spread over the nodes (the node's stuck pods first, then made-up pods of a
 * "storm" workload). Messages are the node runtime's real wording; eventTime carries microseconds so
 * detection latency can be measured from it.
 */

export interface StormNode {
  name: string;
  runtime: Runtime;
  podCIDR?: string;
  stuckPods: Array<{ namespace: string; name: string; uid: string }>;
}

export interface StormResult {
  events: number;
  durationMs: number;
}

const BATCH = 500;

/** The range host-local reports when a node has no (valid) podCIDR. */
const FALLBACK_POD_CIDR: Ipv4Cidr = {
  text: '10.244.1.0/24',
  address: 0x0af40100,
  network: 0x0af40100,
  prefix: 24,
};

function exhaustionError(podCIDR: string | undefined): string {
  const cidr = parseIpv4Cidr(podCIDR) ?? FALLBACK_POD_CIDR;
  // host-local's default range: the gateway (.1) up to the address before broadcast.
  const last = formatIpv4((broadcastAddress(cidr) - 1) >>> 0);
  return `failed to allocate for range 0: no IP addresses available in range set: ${gatewayAddress(cidr)}-${last}`;
}

export async function runStorm(
  store: ObjectStore,
  scenario: Pick<Scenario, 'failure'>,
  nodes: StormNode[],
  count: number,
): Promise<StormResult> {
  const started = Date.now();
  if (nodes.length === 0 || count <= 0) return { events: 0, durationMs: 0 };
  const stormRs = `storm-${randomSuffix(10)}`;
  const used = new Map<string, number>();
  let written = 0;
  while (written < count) {
    const end = Math.min(count, written + BATCH);
    for (; written < end; written++) {
      const node = nodes[written % nodes.length];
      const nth = used.get(node.name) ?? 0;
      used.set(node.name, nth + 1);
      const pod = node.stuckPods[nth] ?? {
        namespace: 'default',
        name: `${stormRs}-${node.name.replace(/[^a-z0-9-]/g, '')}-${nth}`.slice(0, 63).replace(/-+$/, ''),
        uid: randomUUID(),
      };
      const sandboxId = podSandboxId(pod.namespace, pod.name, 1000 + nth);
      const message = brokenSandboxMessage(
        scenario,
        { name: node.name, runtime: node.runtime },
        { sandboxId, podName: pod.name, namespace: pod.namespace, podUid: pod.uid },
        exhaustionError(node.podCIDR),
      );
      const now = Date.now();
      store.create({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: eventName(pod.name, now), namespace: pod.namespace },
        involvedObject: {
          kind: 'Pod',
          namespace: pod.namespace,
          name: pod.name,
          uid: pod.uid,
          apiVersion: 'v1',
        },
        reason: 'FailedCreatePodSandBox',
        message,
        source: { component: 'kubelet', host: node.name },
        firstTimestamp: isoSeconds(now),
        lastTimestamp: isoSeconds(now),
        eventTime: isoMicros(now),
        count: 1,
        type: 'Warning',
        reportingComponent: 'kubelet',
        reportingInstance: node.name,
      });
    }
    // Let the API server stream what was written before the next batch.
    await new Promise((r) => setImmediate(r));
  }
  return { events: written, durationMs: Date.now() - started };
}
