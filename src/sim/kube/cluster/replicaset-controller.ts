import type { KubeObject } from '../store.js';
import { isControlledBy, OwnerController } from './controller.js';
import type { ClusterContext } from './controller-context.js';
import {
  controllerOf,
  isPodReady,
  isTerminating,
  ownerRefTo,
  podPhase,
  type PodTemplate,
  selectorString,
} from './objects.js';

/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods (a deleted or terminating pod is
 * replaced at once under a new name), adopts matching orphans, and reports status counts.
 */
export class ReplicaSetController extends OwnerController {
  constructor(ctx: ClusterContext) {
    super(ctx, 'ReplicaSet', 'Pod', 'replicaset-controller');
  }

  protected reconcile(rs: KubeObject): void {
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
    const owned = matching.filter((p) => isControlledBy(p, rs));
    const active = owned.filter((p) => !isTerminating(p) && !['Succeeded', 'Failed'].includes(podPhase(p)));

    if (active.length < wanted) {
      for (let i = active.length; i < wanted; i++) this.createPod(rs, spec.template);
    } else if (active.length > wanted) {
      // Like the real controller: delete unscheduled, then not-ready, then the newest pods first.
      const victims = [...active]
        .sort((a, b) => deletionRank(a) - deletionRank(b) || compareNewestFirst(a, b))
        .slice(0, active.length - wanted);
      for (const pod of victims) {
        if (this.deletePod(pod))
          this.recordNormal(rs, 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
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
}

function deletionRank(pod: KubeObject): number {
  if (!(pod.spec as { nodeName?: string }).nodeName) return 0;
  if (podPhase(pod) === 'Pending') return 1;
  return isPodReady(pod) ? 3 : 2;
}

function compareNewestFirst(a: KubeObject, b: KubeObject): number {
  return String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp));
}
