import { resourceForKind } from '../resources.js';
import type { KubeObject, StoreChange } from '../store.js';
import { type ClusterContext, isStaleWrite, nsKey, splitKey } from './controller-context.js';
import { type EventSource, referenceTo } from './event-recorder.js';
import { randomSuffix } from './names.js';
import { controllerOf, isTerminating, podFromTemplate, type PodTemplate } from './objects.js';
import { WorkQueue } from './work-queue.js';

/** True when `owner` is the controller named in `obj`'s ownerReferences. */
export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  return controllerOf(obj)?.uid === owner.metadata.uid;
}

/**
 * The skeleton every simulated workload controller shares, as in kube-controller-manager: watch the
 * store, queue the owner's key when the owner or one of the objects it controls changes, and
 * reconcile each queued owner (a 404/409 from the store means the world moved on: queue it again).
 * Subclasses keep only their own reconcile logic.
 */
export abstract class OwnerController {
  private readonly queue: WorkQueue;
  private unsubscribe: (() => void) | undefined;
  private readonly source: EventSource;

  constructor(
    protected readonly ctx: ClusterContext,
    /** The kind this controller reconciles (DaemonSet, ReplicaSet, Deployment). */
    private readonly ownerKind: string,
    /** The kind it creates and owns (Pod, ReplicaSet); their changes queue the owner. */
    private readonly childKind: string,
    component: string,
  ) {
    this.source = { component };
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

  protected abstract reconcile(owner: KubeObject): void;

  /** Changes of other kinds (e.g. Nodes for DaemonSets); none by default. */
  protected observeOther(_change: StoreChange): void {}

  protected enqueueAll(): void {
    for (const owner of this.ctx.store.listShared(resourceForKind(this.ownerKind)))
      this.queue.add(nsKey(owner.metadata.namespace, owner.metadata.name));
  }

  private observe(change: StoreChange): void {
    const obj = change.object;
    if (obj.kind === this.ownerKind) this.queue.add(nsKey(obj.metadata.namespace, obj.metadata.name));
    else if (obj.kind === this.childKind) {
      const owner = controllerOf(obj);
      if (owner?.kind === this.ownerKind) this.queue.add(nsKey(obj.metadata.namespace, owner.name));
    } else this.observeOther(change);
  }

  private reconcileKey(key: string): void {
    const [namespace, name] = splitKey(key);
    const owner = this.ctx.store.get(this.ownerKind, namespace, name);
    if (!owner || isTerminating(owner)) return;
    try {
      this.reconcile(owner);
    } catch (err) {
      if (isStaleWrite(err)) this.queue.add(key);
      else throw err;
    }
  }

  /** The child objects in the owner's namespace (optionally matching a label selector) it controls. */
  protected listOwned(owner: KubeObject, labelSelector?: string): KubeObject[] {
    return this.ctx.store
      .list(this.childKind, {
        namespace: owner.metadata.namespace ?? 'default',
        ...(labelSelector ? { labelSelector } : {}),
      })
      .filter((o) => isControlledBy(o, owner));
  }

  /** A Normal event on the owner, from this controller. */
  protected recordNormal(owner: KubeObject, reason: string, message: string): void {
    this.ctx.recorder.record(referenceTo(owner), 'Normal', reason, message, this.source);
  }

  /**
   * Creates a pod from the template under a generated name (`<owner>-<random>`), labelled with the
   * template's labels plus `extraLabels`; `adjust` edits it before it is written.
   */
  protected createPod(
    owner: KubeObject,
    template: PodTemplate,
    extraLabels: Record<string, string> = {},
    adjust?: (pod: KubeObject) => void,
  ): KubeObject {
    const ownerName = owner.metadata.name;
    const pod = podFromTemplate(template, {
      name: `${ownerName}-${randomSuffix()}`,
      generateName: `${ownerName}-`,
      namespace: owner.metadata.namespace ?? 'default',
      labels: { ...(template.metadata?.labels ?? {}), ...extraLabels },
      owner,
    });
    adjust?.(pod);
    const created = this.ctx.store.create(pod);
    this.recordNormal(owner, 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
    return created;
  }

  /** Deletes a pod; false when it was already gone or changed (the next reconcile sees it). */
  protected deletePod(pod: KubeObject): boolean {
    try {
      this.ctx.store.delete('Pod', pod.metadata.namespace, pod.metadata.name);
      return true;
    } catch (err) {
      if (!isStaleWrite(err)) throw err;
      return false;
    }
  }
}
