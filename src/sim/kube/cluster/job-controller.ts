import type { KubeObject } from '../store.js';
import { OwnerController } from './controller.js';
import type { ClusterContext } from './controller-context.js';
import { isoSeconds } from './names.js';
import { isTerminating, podPhase, type PodTemplate } from './objects.js';

/**
 * The Job controller (batch/v1): runs `parallelism` pods at a time until `completions` of them succeeded,
 * labels them with the job name and controller uid as kube-controller-manager does, and keeps the status
 * (`active`, `succeeded`, `failed`, `startTime`, the `Complete` condition) that `kubectl get jobs` shows.
 * The simulated kubelet lets a Job's pod succeed once its sandbox and containers are up.
 */
export class JobController extends OwnerController {
  constructor(ctx: ClusterContext) {
    super(ctx, 'Job', 'Pod', 'job-controller');
  }

  protected reconcile(job: KubeObject): void {
    const { store } = this.ctx;
    const namespace = job.metadata.namespace ?? 'default';
    const spec = (job.spec ?? {}) as { parallelism?: number; completions?: number; template?: PodTemplate };
    if (!spec.template?.spec) return;
    const completions = spec.completions ?? 1;
    const parallelism = spec.parallelism ?? 1;
    const pods = this.listOwned(job);
    const succeeded = pods.filter((p) => podPhase(p) === 'Succeeded').length;
    const failed = pods.filter((p) => podPhase(p) === 'Failed').length;
    const active = pods.filter((p) => !isTerminating(p) && !['Succeeded', 'Failed'].includes(podPhase(p)));
    const remaining = Math.max(0, completions - succeeded);
    const labels = {
      'batch.kubernetes.io/controller-uid': job.metadata.uid ?? '',
      'batch.kubernetes.io/job-name': job.metadata.name,
      'controller-uid': job.metadata.uid ?? '',
      'job-name': job.metadata.name,
    };
    let running = active.length;
    for (; running < Math.min(parallelism, remaining); running++) {
      this.createPod(
        job,
        {
          ...spec.template,
          spec: { ...spec.template.spec, restartPolicy: spec.template.spec.restartPolicy ?? 'Never' },
        },
        labels,
      );
    }
    const complete = remaining === 0;
    const previous = (job.status ?? {}) as {
      startTime?: string;
      completionTime?: string;
      conditions?: unknown[];
    };
    const now = isoSeconds();
    store.mutate('Job', namespace, job.metadata.name, (o) => {
      o.status = {
        startTime: previous.startTime ?? now,
        ...(running > 0 ? { active: running } : {}),
        ...(succeeded > 0 ? { succeeded } : {}),
        ...(failed > 0 ? { failed } : {}),
        ready: active.length,
        ...(complete
          ? {
              completionTime: previous.completionTime ?? now,
              conditions: previous.conditions ?? [
                { type: 'SuccessCriteriaMet', status: 'True', lastProbeTime: now, lastTransitionTime: now },
                { type: 'Complete', status: 'True', lastProbeTime: now, lastTransitionTime: now },
              ],
            }
          : {}),
      };
    });
  }
}
