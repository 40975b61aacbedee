import { resourceForKind } from '../resources.js';
import type { KubeObject, StoreChange } from '../store.js';
import { type ClusterContext, isStaleWrite, nsKey, splitKey } from './controller-context.js';
import { referenceTo } from './event-recorder.js';
import { randomSuffix } from './names.js';
import {
  controllerOf,
  isPodReady,
  isTerminating,
  ownerRefTo,
  podFromTemplate,
  podPhase,
  type PodTemplate,
  selectorString,
} from './objects.js';
import { WorkQueue } from './work-queue.js';

const SOURCE = { component: 'replicaset-controller' };

/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods (a deleted or terminating pod is
 * replaced at once under a new name), adopts matching orphans, and reports status counts.
 */
export class ReplicaSetController {
  private readonly queue: WorkQueue;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly ctx: ClusterContext) {
    this.queue = new WorkQueue(
      ctx.activity,
      (keys) => keys.forEach((k) => this.reconcileKey(k)),
      ctx.onError,
    );
  }

  start(): void {
    this.unsubscribe = this.ctx.store.subscribe((c) => this.observe(c));
    for (const rs of this.ctx.store.listShared(resourceForKind('ReplicaSet')))
      this.queue.add(nsKey(rs.metadata.namespace, rs.metadata.name));
  }

  stop(): void {
    this.unsubscribe?.();
    this.queue.stop();
  }

  private observe(change: StoreChange): void {
    const obj = change.object;
    if (obj.kind === 'ReplicaSet') this.queue.add(nsKey(obj.metadata.namespace, obj.metadata.name));
    else if (obj.kind === 'Pod') {
      const owner = controllerOf(obj);
      if (owner?.kind === 'ReplicaSet') this.queue.add(nsKey(obj.metadata.namespace, owner.name));
    }
  }

  private reconcileKey(key: string): void {
    const [namespace, name] = splitKey(key);
    const rs = this.ctx.store.get('ReplicaSet', namespace, name);
    if (!rs || isTerminating(rs)) return;
    try {
      this.reconcile(rs);
    } catch (err) {
      if (isStaleWrite(err)) this.queue.add(key);
      else throw err;
    }
  }

  private reconcile(rs: KubeObject): void {
    const { store } = this.ctx;
    const namespace = rs.metadata.namespace ?? 'default';
    const spec = (rs.spec ?? {}) as { replicas?: number; selector?: object; template?: PodTemplate };
    const selector = selectorString(spec.selector as never);
    if (!spec.template?.spec || !selector) return;
    const wanted = spec.replicas ?? 1;
    const matching = store.list('Pod', { namespace, labelSelector: selector });
    for (const orphan of matching.filter((p) => !controllerOf(p) && !isTerminating(p))) {
      store.mutate('Pod', namespace, orphan.metadata.name, (p) => {
        p.metadata.ownerReferences = [...(p.metadata.ownerReferences ?? []), ownerRefTo(rs)];
      });
      orphan.metadata.ownerReferences = [ownerRefTo(rs)];
    }
    const owned = matching.filter((p) => controllerOf(p)?.uid === rs.metadata.uid);
    const active = owned.filter((p) => !isTerminating(p) && !['Succeeded', 'Failed'].includes(podPhase(p)));

    if (active.length < wanted) {
      for (let i = active.length; i < wanted; i++) this.createPod(rs, spec.template);
    } else if (active.length > wanted) {
      // Like the real controller: delete unscheduled, then not-ready, then the newest pods first.
      const victims = [...active]
        .sort((a, b) => deletionRank(a) - deletionRank(b) || compareNewestFirst(a, b))
        .slice(0, active.length - wanted);
      for (const pod of victims) {
        try {
          store.delete('Pod', namespace, pod.metadata.name);
          this.ctx.recorder.record(
            referenceTo(rs),
            'Normal',
            'SuccessfulDelete',
            `Deleted pod: ${pod.metadata.name}`,
            SOURCE,
          );
        } catch (err) {
          if (!isStaleWrite(err)) throw err;
        }
      }
    }

    const ready = active.filter(isPodReady).length;
    store.mutate('ReplicaSet', namespace, rs.metadata.name, (o) => {
      o.status = {
        replicas: active.length,
        fullyLabeledReplicas: active.length,
        observedGeneration: rs.metadata.generation ?? 1,
        ...(ready > 0 ? { readyReplicas: ready, availableReplicas: ready } : {}),
      };
    });
  }

  private createPod(rs: KubeObject, template: PodTemplate): void {
    const rsName = rs.metadata.name;
    const pod = podFromTemplate(template, {
      name: `${rsName}-${randomSuffix()}`,
      generateName: `${rsName}-`,
      namespace: rs.metadata.namespace ?? 'default',
      labels: { ...(template.metadata?.labels ?? {}) },
      owner: rs,
    });
    const created = this.ctx.store.create(pod);
    this.ctx.recorder.record(
      referenceTo(rs),
      'Normal',
      'SuccessfulCreate',
      `Created pod: ${created.metadata.name}`,
      SOURCE,
    );
  }
}

function deletionRank(pod: KubeObject): number {
  if (!(pod.spec as { nodeName?: string }).nodeName) return 0;
  if (podPhase(pod) === 'Pending') return 1;
  return isPodReady(pod) ? 3 : 2;
}

function compareNewestFirst(a: KubeObject, b: KubeObject): number {
  return String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp));
}
