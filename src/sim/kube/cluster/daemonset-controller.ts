import { resourceForKind } from '../resources.js';
import type { KubeObject, StoreChange } from '../store.js';
import { type ClusterContext, isStaleWrite, nsKey, splitKey } from './controller-context.js';
import { referenceTo } from './event-recorder.js';
import { podTemplateHash, randomSuffix } from './names.js';
import {
  controllerOf,
  isPodReady,
  isTerminating,
  nodeFacts,
  podFromTemplate,
  type PodTemplate,
  selectorString,
} from './objects.js';
import { daemonPodFits, daemonSetTolerations, type PlacementSpec, withTolerations } from './placement.js';
import { WorkQueue } from './work-queue.js';

const SOURCE = { component: 'daemonset-controller' };

/**
 * The DaemonSet controller: one pod per eligible node (nodeSelector/affinity, taints vs tolerations),
 * replacements for deleted pods under new names, template changes rolled out by deleting outdated
 * pods (RollingUpdate), and the status numbers `kubectl get ds` shows.
 */
export class DaemonSetController {
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
    this.enqueueAll();
  }

  stop(): void {
    this.unsubscribe?.();
    this.queue.stop();
  }

  private enqueueAll(): void {
    for (const ds of this.ctx.store.listShared(resourceForKind('DaemonSet')))
      this.queue.add(nsKey(ds.metadata.namespace, ds.metadata.name));
  }

  private observe(change: StoreChange): void {
    const obj = change.object;
    if (obj.kind === 'DaemonSet') this.queue.add(nsKey(obj.metadata.namespace, obj.metadata.name));
    else if (obj.kind === 'Node') this.enqueueAll();
    else if (obj.kind === 'Pod') {
      const owner = controllerOf(obj);
      if (owner?.kind === 'DaemonSet') this.queue.add(nsKey(obj.metadata.namespace, owner.name));
    }
  }

  private reconcileKey(key: string): void {
    const [namespace, name] = splitKey(key);
    const ds = this.ctx.store.get('DaemonSet', namespace, name);
    if (!ds || isTerminating(ds)) return;
    try {
      this.reconcile(ds);
    } catch (err) {
      if (isStaleWrite(err)) this.queue.add(key);
      else throw err;
    }
  }

  private reconcile(ds: KubeObject): void {
    const { store } = this.ctx;
    const namespace = ds.metadata.namespace ?? 'default';
    const spec = (ds.spec ?? {}) as {
      selector?: object;
      template?: PodTemplate;
      updateStrategy?: { type?: string };
    };
    const template = spec.template;
    if (!template?.spec) return;
    const hash = podTemplateHash(template);
    const generation = ds.metadata.generation ?? 1;
    const hostNetwork = Boolean(template.spec.hostNetwork);
    const selector = selectorString(spec.selector as never);
    const pods = store
      .list('Pod', { namespace, ...(selector ? { labelSelector: selector } : {}) })
      .filter((p) => controllerOf(p)?.uid === ds.metadata.uid);

    const byNode = new Map<string, KubeObject[]>();
    for (const pod of pods) {
      const node = daemonPodNode(pod);
      byNode.set(node, [...(byNode.get(node) ?? []), pod]);
    }

    let desired = 0;
    let current = 0;
    let ready = 0;
    let updated = 0;
    let misscheduled = 0;
    const eligible = new Set<string>();
    for (const node of store.listShared(resourceForKind('Node'))) {
      if (!daemonPodFits(template.spec as PlacementSpec, hostNetwork, nodeFacts(node))) continue;
      eligible.add(node.metadata.name);
      desired++;
      const onNode = byNode.get(node.metadata.name) ?? [];
      const live = onNode.filter((p) => !isTerminating(p));
      if (onNode.length === 0) {
        this.createPod(ds, template, hash, generation, node.metadata.name);
        continue;
      }
      if (live.length > 0) current++;
      for (const pod of live) {
        const current = pod.metadata.labels?.['controller-revision-hash'] === hash;
        if (current) {
          updated++;
          if (isPodReady(pod)) ready++;
        } else if (spec.updateStrategy?.type !== 'OnDelete') {
          this.deletePod(pod);
        } else if (isPodReady(pod)) ready++;
      }
    }
    for (const [nodeName, onNode] of byNode) {
      if (eligible.has(nodeName)) continue;
      for (const pod of onNode) {
        misscheduled++;
        if (!isTerminating(pod)) this.deletePod(pod);
      }
    }

    store.mutate('DaemonSet', namespace, ds.metadata.name, (o) => {
      o.status = {
        currentNumberScheduled: current,
        desiredNumberScheduled: desired,
        numberMisscheduled: misscheduled,
        numberReady: ready,
        observedGeneration: generation,
        updatedNumberScheduled: updated,
        ...(ready > 0 ? { numberAvailable: ready } : {}),
        ...(desired - ready > 0 ? { numberUnavailable: desired - ready } : {}),
      };
    });
  }

  private createPod(
    ds: KubeObject,
    template: PodTemplate,
    hash: string,
    generation: number,
    nodeName: string,
  ): void {
    const dsName = ds.metadata.name;
    const pod = podFromTemplate(template, {
      name: `${dsName}-${randomSuffix()}`,
      generateName: `${dsName}-`,
      namespace: ds.metadata.namespace ?? 'default',
      labels: {
        ...(template.metadata?.labels ?? {}),
        'controller-revision-hash': hash,
        'pod-template-generation': String(generation),
      },
      owner: ds,
    });
    const spec = pod.spec as PlacementSpec & Record<string, unknown>;
    // Like the real controller: pin with node affinity (matchFields) and let the scheduler bind it.
    spec.affinity = {
      ...((spec.affinity as object) ?? {}),
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] },
          ],
        },
      },
    };
    spec.tolerations = withTolerations(
      spec.tolerations ?? [],
      daemonSetTolerations(Boolean(spec.hostNetwork)),
    );
    const created = this.ctx.store.create(pod);
    this.ctx.recorder.record(
      referenceTo(ds),
      'Normal',
      'SuccessfulCreate',
      `Created pod: ${created.metadata.name}`,
      SOURCE,
    );
  }

  private deletePod(pod: KubeObject): void {
    try {
      this.ctx.store.delete('Pod', pod.metadata.namespace, pod.metadata.name);
    } catch (err) {
      if (!isStaleWrite(err)) throw err;
    }
  }
}

/** The node a daemon pod is bound to, or the one its matchFields affinity pins it to. */
function daemonPodNode(pod: KubeObject): string {
  const spec = pod.spec as { nodeName?: string; affinity?: PlacementSpec['affinity'] };
  if (spec.nodeName) return spec.nodeName;
  const terms =
    spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms)
    for (const f of term.matchFields ?? [])
      if (f.key === 'metadata.name' && f.values?.[0]) return f.values[0];
  return '';
}
