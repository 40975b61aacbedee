/**
 * Does the cluster run Flannel? Detection needs to know: on a cluster that runs Flannel, a sandbox failure
 * from any CNI plugin is Flannel's business (a leftover 10-calico.conflist overriding Flannel's names
 * `plugin type="calico"`); on one that does not, only Flannel's own wordings are. Decided from what the API
 * shows — a DaemonSet labelled app=flannel (or a legacy kube-flannel-ds name), or nodes carrying flanneld's
 * annotations (k3s/RKE2 embed it) — not from plugin names. Cheap (one small list each), cached, refreshed.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeGetJson } from '../kube/lean-request.js';

export const FLANNEL_PRESENCE_REFRESH_MS = 60_000;
const ANNOTATION_PREFIX = 'flannel.alpha.coreos.com/';
const LEGACY_NAME = /^kube-flannel-ds(?:-(?:amd64|arm64|arm|ppc64le|s390x))?$/;
/** Nodes looked at for flanneld's annotations: any one carries them when Flannel runs. */
const NODE_SAMPLE = 50;

export interface PresenceFacts {
  daemonSets: Array<{ name: string; labels: Record<string, string> }>;
  nodeAnnotations: Array<Record<string, string>>;
}

/** Pure: Flannel runs when a Flannel DaemonSet exists or a node carries flanneld's annotations. */
export function runsFlannel(facts: PresenceFacts): boolean {
  return (
    facts.daemonSets.some((d) => d.labels.app === 'flannel' || LEGACY_NAME.test(d.name)) ||
    facts.nodeAnnotations.some((a) => Object.keys(a).some((k) => k.startsWith(ANNOTATION_PREFIX)))
  );
}

/** A list answer, as much as presence reads of it. */
interface ObjectList {
  items?: Array<{
    metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  }>;
}

export class FlannelPresence {
  private value: boolean | undefined;
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly opts: { refreshMs?: number; onError?: (err: unknown) => void } = {},
  ) {}

  /** true / false once known; undefined before the first answer (or while the API keeps failing). */
  get current(): boolean | undefined {
    return this.value;
  }

  /** Asks the API now; keeps the last answer when it fails. */
  async refresh(): Promise<boolean | undefined> {
    try {
      // Plain JSON lists (kube/lean-request.ts): the watch path does without client-node's typed APIs.
      const [labelled, nodes] = await Promise.all([
        kubeGetJson<ObjectList>(this.kubeConfig, '/apis/apps/v1/daemonsets', {
          labelSelector: 'app=flannel',
          limit: 1,
        }),
        kubeGetJson<ObjectList>(this.kubeConfig, '/api/v1/nodes', { limit: NODE_SAMPLE }),
      ]);
      this.value = runsFlannel({
        daemonSets: (labelled.items ?? []).map((d) => ({
          name: d.metadata?.name ?? '',
          labels: d.metadata?.labels ?? {},
        })),
        nodeAnnotations: (nodes.items ?? []).map((n) => n.metadata?.annotations ?? {}),
      });
    } catch (err) {
      this.opts.onError?.(err);
    }
    return this.value;
  }

  /** Refreshes now and then every refreshMs (the timer does not keep the process alive). */
  start(): Promise<boolean | undefined> {
    this.stop();
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs ?? FLANNEL_PRESENCE_REFRESH_MS);
    this.timer.unref();
    return this.refresh();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
