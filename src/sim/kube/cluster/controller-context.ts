import type { ObjectStore } from '../store.js';
import type { Activity } from './activity.js';
import type { EventRecorder } from './event-recorder.js';

/** What every simulated controller and kubelet is given. */
export interface ClusterContext {
  store: ObjectStore;
  activity: Activity;
  recorder: EventRecorder;
  /** Unexpected errors (bugs, not cluster failures); the simulator logs them. */
  onError: (err: unknown) => void;
}

export function nsKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export function splitKey(key: string): [string | undefined, string] {
  const i = key.indexOf('/');
  const ns = key.slice(0, i);
  return [ns === '' ? undefined : ns, key.slice(i + 1)];
}

/** True when the error is the store's 404/409: the world moved on, the next reconcile fixes it. */
export function isStaleWrite(err: unknown): boolean {
  const code = (err as { code?: number }).code;
  return code === 404 || code === 409;
}
