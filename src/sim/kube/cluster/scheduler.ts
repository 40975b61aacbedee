import { resourceForKind } from '../resources.js';
import type { KubeObject, StoreChange } from '../store.js';
import { type ClusterContext, isStaleWrite, nsKey, splitKey } from './controller-context.js';
import { referenceTo } from './event-recorder.js';
import { isoSeconds } from './names.js';
import { isTerminating, nodeFacts, podPhase } from './objects.js';
import { podFits, type PlacementSpec, selectorsMatch, untoleratedTaints } from './placement.js';
import { WorkQueue } from './work-queue.js';

const SOURCE = { component: 'default-scheduler' };

/**
 * default-scheduler, reduced to what users see: unbound pods are bound to the fitting node with the
 * fewest pods (Scheduled event), or stay Pending with PodScheduled=False and a FailedScheduling event.
 */
export class Scheduler {
  private readonly queue: WorkQueue;
  private unsubscribe: (() => void) | undefined;
  private readonly unschedulable = new Set<string>();

  constructor(private readonly ctx: ClusterContext) {
    this.queue = new WorkQueue(ctx.activity, (keys) => this.scheduleBatch(keys), ctx.onError);
  }

  start(): void {
    this.unsubscribe = this.ctx.store.subscribe((c) => this.observe(c));
    for (const pod of this.ctx.store.listShared(resourceForKind('Pod')))
      if (needsScheduling(pod)) this.queue.add(nsKey(pod.metadata.namespace, pod.metadata.name));
  }

  stop(): void {
    this.unsubscribe?.();
    this.queue.stop();
  }

  private observe(change: StoreChange): void {
    const obj = change.object;
    if (obj.kind === 'Pod') {
      const key = nsKey(obj.metadata.namespace, obj.metadata.name);
      if (change.type !== 'DELETED' && needsScheduling(obj)) this.queue.add(key);
      else this.unschedulable.delete(key);
    } else if (obj.kind === 'Node') {
      // A node appeared or changed (taints, labels, cordon): pods waiting for one get another chance.
      for (const key of this.unschedulable) this.queue.add(key);
    }
  }

  private scheduleBatch(keys: string[]): void {
    const nodes = this.ctx.store.listShared(resourceForKind('Node'));
    const load = new Map<string, number>();
    for (const pod of this.ctx.store.listShared(resourceForKind('Pod'))) {
      const nodeName = (pod.spec as { nodeName?: string }).nodeName;
      if (nodeName && !['Succeeded', 'Failed'].includes(podPhase(pod)))
        load.set(nodeName, (load.get(nodeName) ?? 0) + 1);
    }
    for (const key of keys) {
      const [namespace, name] = splitKey(key);
      const pod = this.ctx.store.get('Pod', namespace, name);
      if (!pod || !needsScheduling(pod)) {
        this.unschedulable.delete(key);
        continue;
      }
      try {
        this.schedule(pod, nodes, load);
      } catch (err) {
        if (!isStaleWrite(err)) throw err;
      }
    }
  }

  private schedule(pod: KubeObject, nodes: KubeObject[], load: Map<string, number>): void {
    const spec = pod.spec as PlacementSpec;
    const key = nsKey(pod.metadata.namespace, pod.metadata.name);
    const fitting = nodes.filter((n) => podFits(spec, nodeFacts(n)));
    if (fitting.length === 0) {
      this.unschedulable.add(key);
      const message = unschedulableMessage(spec, nodes);
      const updated = this.ctx.store.mutate('Pod', pod.metadata.namespace, pod.metadata.name, (p) => {
        const status = (p.status ?? {}) as { conditions?: Array<Record<string, unknown>> };
        const others = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
        const old = (status.conditions ?? []).find((c) => c.type === 'PodScheduled');
        p.status = {
          ...status,
          phase: 'Pending',
          conditions: [
            ...others,
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message,
              lastProbeTime: null,
              lastTransitionTime: old?.status === 'False' ? old.lastTransitionTime : isoSeconds(),
            },
          ],
        };
      });
      this.ctx.recorder.record(referenceTo(updated), 'Warning', 'FailedScheduling', message, SOURCE);
      return;
    }
    this.unschedulable.delete(key);
    fitting.sort(
      (a, b) =>
        (load.get(a.metadata.name) ?? 0) - (load.get(b.metadata.name) ?? 0) ||
        a.metadata.name.localeCompare(b.metadata.name),
    );
    const nodeName = fitting[0].metadata.name;
    load.set(nodeName, (load.get(nodeName) ?? 0) + 1);
    const bound = this.ctx.store.mutate('Pod', pod.metadata.namespace, pod.metadata.name, (p) => {
      (p.spec as { nodeName?: string }).nodeName = nodeName;
      const status = (p.status ?? {}) as { conditions?: Array<Record<string, unknown>> };
      p.status = {
        ...status,
        phase: 'Pending',
        conditions: [
          ...(status.conditions ?? []).filter((c) => c.type !== 'PodScheduled'),
          { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: isoSeconds() },
        ],
      };
    });
    this.ctx.recorder.record(
      referenceTo(bound),
      'Normal',
      'Scheduled',
      `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`,
      SOURCE,
    );
  }
}

function needsScheduling(pod: KubeObject): boolean {
  const spec = pod.spec as { nodeName?: string; schedulerName?: string };
  return (
    !spec.nodeName &&
    !isTerminating(pod) &&
    (spec.schedulerName ?? 'default-scheduler') === 'default-scheduler'
  );
}

/** "0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 node(s) didn't match ...". */
function unschedulableMessage(spec: PlacementSpec, nodes: KubeObject[]): string {
  const reasons = new Map<string, number>();
  const add = (r: string) => reasons.set(r, (reasons.get(r) ?? 0) + 1);
  for (const node of nodes) {
    const facts = nodeFacts(node);
    if (facts.unschedulable) add('node(s) were unschedulable');
    else if (!selectorsMatch(spec, facts)) add("node(s) didn't match Pod's node affinity/selector");
    else {
      const taint = untoleratedTaints(spec.tolerations ?? [], facts.taints)[0];
      if (taint) add(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`);
    }
  }
  const parts = [...reasons].sort((a, b) => a[0].localeCompare(b[0])).map(([r, n]) => `${n} ${r}`);
  const n = nodes.length;
  return `0/${n} nodes are available: ${parts.join(', ')}. preemption: 0/${n} nodes are available: ${n} Preemption is not helpful for scheduling.`;
}
