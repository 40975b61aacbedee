/** The events.k8s.io/v1 view of stored core/v1 Events (same object, renamed fields). */
import type { KubeObject } from '../store.js';

const RENAMES: Array<[core: string, v1: string]> = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['reportingComponent', 'reportingController'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
];

export function toEventsV1(core: KubeObject): KubeObject {
  const out: Record<string, unknown> = { ...core, apiVersion: 'events.k8s.io/v1', kind: 'Event' };
  for (const [c, v] of RENAMES) {
    delete out[c];
    if (core[c] !== undefined && core[c] !== null && core[c] !== '') out[v] = core[c];
  }
  const src = core.source as { component?: string; host?: string } | undefined;
  if (!out.reportingController && src?.component) out.reportingController = src.component;
  if (!out.reportingInstance && src?.host) out.reportingInstance = src.host;
  const series = core.series as { count?: number; lastObservedTime?: string } | undefined;
  if (series) out.series = series;
  return out as KubeObject;
}

export function fromEventsV1(v1: KubeObject): KubeObject {
  const out: Record<string, unknown> = { ...v1, apiVersion: 'v1', kind: 'Event' };
  for (const [c, v] of RENAMES) {
    delete out[v];
    if (v1[v] !== undefined) out[c] = v1[v];
  }
  return out as KubeObject;
}
