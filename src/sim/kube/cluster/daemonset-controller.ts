import { resourceForKind } from '../resources.js';
import type { KubeObject, StoreChange } from '../store.js';
import { OwnerController } from './controller.js';
import type { ClusterContext } from './controller-context.js';
import { podTemplateHash } from './names.js';
import { isPodReady, isTerminating, nodeFacts, type PodTemplate, selectorString } from './objects.js';
import {
  daemonPodFits,
  daemonPodMayStay,
  daemonSetTolerations,
  type PlacementSpec,
  withTolerations,
} from './placement.js';

/**
 * The DaemonSet controller: one pod per eligible node (nodeSelector/affinity, taints vs tolerations),
 * replacements for deleted pods under new names, template changes rolled out by deleting outdated
 * pods (RollingUpdate), and the status numbers `kubectl get ds` shows.
 */
export class DaemonSetController extends OwnerController {
  constructor(ctx: ClusterContext) {
    super(ctx, 'DaemonSet', 'Pod', 'daemonset-controller');
  }

  /** A node added, relabelled or tainted can change where daemon pods belong. */
  protected override observeOther(change: StoreChange): void {
    if (change.object.kind === 'Node') this.enqueueAll();
  }

  protected reconcile(ds: KubeObject): void {
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
    const pods = this.listOwned(ds, selector);

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
    const mayStay = new Set<string>();
    for (const node of store.listShared(resourceForKind('Node'))) {
      const facts = nodeFacts(node);
      if (!daemonPodFits(template.spec as PlacementSpec, hostNetwork, facts)) {
        if (daemonPodMayStay(template.spec as PlacementSpec, hostNetwork, facts))
          mayStay.add(node.metadata.name);
        continue;
      }
      eligible.add(node.metadata.name);
      desired++;
      const onNode = byNode.get(node.metadata.name) ?? [];
      const live = onNode.filter((p) => !isTerminating(p));
      if (onNode.length === 0) {
        this.createDaemonPod(ds, template, hash, generation, node.metadata.name);
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
        // Only an untolerated NoExecute taint or a selector that no longer matches evicts a running pod.
        if (!isTerminating(pod) && !mayStay.has(nodeName)) this.deletePod(pod);
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

  private createDaemonPod(
    ds: KubeObject,
    template: PodTemplate,
    hash: string,
    generation: number,
    nodeName: string,
  ): void {
    const labels = { 'controller-revision-hash': hash, 'pod-template-generation': String(generation) };
    this.createPod(ds, template, labels, (pod) => {
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
    });
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
