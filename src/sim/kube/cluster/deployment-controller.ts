import type { KubeObject } from '../store.js';
import { OwnerController } from './controller.js';
import type { ClusterContext } from './controller-context.js';
import { isoSeconds, podTemplateHash } from './names.js';
import { ownerRefTo, type LabelSelectorSpec, type PodTemplate } from './objects.js';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

/**
 * The Deployment controller: one ReplicaSet per pod template (`<name>-<pod-template-hash>`), the
 * current one scaled to `spec.replicas` and older ones to 0, and status/conditions from the sets.
 */
export class DeploymentController extends OwnerController {
  constructor(ctx: ClusterContext) {
    super(ctx, 'Deployment', 'ReplicaSet', 'deployment-controller');
  }

  protected reconcile(deploy: KubeObject): void {
    const { store } = this.ctx;
    const namespace = deploy.metadata.namespace ?? 'default';
    const spec = (deploy.spec ?? {}) as {
      replicas?: number;
      selector?: LabelSelectorSpec;
      template?: PodTemplate;
    };
    if (!spec.template?.spec) return;
    const replicas = spec.replicas ?? 1;
    const hash = podTemplateHash(spec.template);
    const owned = this.listOwned(deploy);
    const revision =
      1 +
      Math.max(
        0,
        ...owned.map((rs) => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0)),
      );
    let current = owned.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    if (!current) {
      current = this.createReplicaSet(deploy, spec, hash, replicas, revision);
      owned.push(current);
    } else if ((current.spec as { replicas?: number }).replicas !== replicas) {
      const from = (current.spec as { replicas?: number }).replicas ?? 0;
      store.mutate('ReplicaSet', namespace, current.metadata.name, (rs) => {
        (rs.spec as { replicas: number }).replicas = replicas;
      });
      const verb = replicas > from ? 'up' : 'down';
      this.recordNormal(
        deploy,
        'ScalingReplicaSet',
        `Scaled ${verb} replica set ${current.metadata.name} from ${from} to ${replicas}`,
      );
    }
    for (const old of owned) {
      if (old.metadata.uid === current.metadata.uid) continue;
      const from = (old.spec as { replicas?: number }).replicas ?? 0;
      if (from === 0) continue;
      store.mutate('ReplicaSet', namespace, old.metadata.name, (rs) => {
        (rs.spec as { replicas: number }).replicas = 0;
      });
      this.recordNormal(
        deploy,
        'ScalingReplicaSet',
        `Scaled down replica set ${old.metadata.name} from ${from} to 0`,
      );
    }

    const status = (rs: KubeObject) => (rs.status ?? {}) as Record<string, number | undefined>;
    const total = owned.reduce((n, rs) => n + (status(rs).replicas ?? 0), 0);
    const updated = status(current).replicas ?? 0;
    const ready = owned.reduce((n, rs) => n + (status(rs).readyReplicas ?? 0), 0);
    const available = owned.reduce((n, rs) => n + (status(rs).availableReplicas ?? 0), 0);
    const unavailable = Math.max(0, replicas - available);
    const now = isoSeconds();
    store.mutate('Deployment', namespace, deploy.metadata.name, (o) => {
      const previous = ((o.status as { conditions?: Condition[] })?.conditions ?? []) as Condition[];
      const availableCond: Condition =
        available >= replicas
          ? {
              type: 'Available',
              status: 'True',
              reason: 'MinimumReplicasAvailable',
              message: 'Deployment has minimum availability.',
            }
          : {
              type: 'Available',
              status: 'False',
              reason: 'MinimumReplicasUnavailable',
              message: 'Deployment does not have minimum availability.',
            };
      const progressing: Condition =
        updated === replicas && available >= replicas
          ? {
              type: 'Progressing',
              status: 'True',
              reason: 'NewReplicaSetAvailable',
              message: `ReplicaSet "${current.metadata.name}" has successfully progressed.`,
            }
          : {
              type: 'Progressing',
              status: 'True',
              reason: 'ReplicaSetUpdated',
              message: `ReplicaSet "${current.metadata.name}" is progressing.`,
            };
      o.status = {
        observedGeneration: deploy.metadata.generation ?? 1,
        replicas: total,
        updatedReplicas: updated,
        ...(ready > 0 ? { readyReplicas: ready } : {}),
        ...(available > 0 ? { availableReplicas: available } : {}),
        ...(unavailable > 0 ? { unavailableReplicas: unavailable } : {}),
        conditions: [availableCond, progressing].map((c) => keepTimes(c, previous, now)),
      };
    });
  }

  private createReplicaSet(
    deploy: KubeObject,
    spec: { selector?: LabelSelectorSpec; template?: PodTemplate },
    hash: string,
    replicas: number,
    revision: number,
  ): KubeObject {
    const template = structuredClone(spec.template as PodTemplate);
    template.metadata = {
      ...(template.metadata ?? {}),
      labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash },
    };
    const selector: LabelSelectorSpec = {
      ...(spec.selector ?? {}),
      matchLabels: { ...(spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash },
    };
    const name = `${deploy.metadata.name}-${hash}`;
    const created = this.ctx.store.create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: deploy.metadata.namespace,
        labels: { ...(template.metadata.labels ?? {}) },
        annotations: {
          'deployment.kubernetes.io/desired-replicas': String(replicas),
          'deployment.kubernetes.io/max-replicas': String(replicas + Math.max(1, Math.ceil(replicas / 4))),
          'deployment.kubernetes.io/revision': String(revision),
        },
        ownerReferences: [ownerRefTo(deploy)],
      },
      spec: { replicas, selector, template },
    });
    this.recordNormal(deploy, 'ScalingReplicaSet', `Scaled up replica set ${name} from 0 to ${replicas}`);
    return created;
  }
}

/** Keeps a condition's timestamps while its status and reason stay the same (no needless writes). */
function keepTimes(next: Condition, previous: Condition[], now: string): Condition {
  const old = previous.find((c) => c.type === next.type);
  if (old && old.status === next.status && old.reason === next.reason)
    return {
      ...next,
      lastUpdateTime: old.lastUpdateTime ?? now,
      lastTransitionTime: old.lastTransitionTime ?? now,
    };
  return {
    ...next,
    lastUpdateTime: now,
    lastTransitionTime: old && old.status === next.status ? (old.lastTransitionTime ?? now) : now,
  };
}
