/** Discovery documents (legacy and aggregated v2) and the minimal OpenAPI v3 that `kubectl apply` checks. */
import { createHash } from 'node:crypto';
import { RESOURCE_TYPES, type ResourceType } from '../resources.js';

export const AGGREGATED_V2_CONTENT_TYPE =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const CLUSTER_SCOPED_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

interface GroupVersion {
  group: string;
  version: string;
  groupVersion: string;
}

export function groupVersions(): GroupVersion[] {
  const seen = new Map<string, GroupVersion>();
  for (const r of RESOURCE_TYPES) {
    if (!seen.has(r.apiVersion))
      seen.set(r.apiVersion, { group: r.group, version: r.version, groupVersion: r.apiVersion });
  }
  return [...seen.values()];
}

function verbsOf(r: ResourceType): string[] {
  return r.kind === 'Namespace' || r.kind === 'Node' ? CLUSTER_SCOPED_VERBS : ALL_VERBS;
}

function subresourceVerbs(sub: string): string[] {
  return sub === 'log' ? ['get'] : ['get', 'patch', 'update'];
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupList(): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groupVersions()
      .filter((gv) => gv.group !== '')
      .map((gv) => ({
        name: gv.group,
        versions: [{ groupVersion: gv.groupVersion, version: gv.version }],
        preferredVersion: { groupVersion: gv.groupVersion, version: gv.version },
      })),
  };
}

export function apiGroup(group: string): object | undefined {
  const gv = groupVersions().find((g) => g.group === group && group !== '');
  if (!gv) return undefined;
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: gv.group,
    versions: [{ groupVersion: gv.groupVersion, version: gv.version }],
    preferredVersion: { groupVersion: gv.groupVersion, version: gv.version },
  };
}

export function apiResourceList(group: string, version: string): object | undefined {
  const rs = RESOURCE_TYPES.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const resources: object[] = [];
  for (const r of rs) {
    const entry: Record<string, unknown> = {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: verbsOf(r),
    };
    if (r.shortNames.length > 0) entry.shortNames = r.shortNames;
    if (r.categories.length > 0) entry.categories = r.categories;
    resources.push(entry);
    for (const sub of r.subresources) {
      resources.push({
        name: `${r.plural}/${sub}`,
        singularName: '',
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: subresourceVerbs(sub),
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

/** Aggregated discovery for /api (core only) or /apis (all named groups). */
export function aggregatedDiscovery(core: boolean): object {
  const gvs = groupVersions().filter((gv) => (gv.group === '') === core);
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: gvs.map((gv) => ({
      metadata: core ? {} : { name: gv.group },
      versions: [
        {
          version: gv.version,
          freshness: 'Current',
          resources: RESOURCE_TYPES.filter((r) => r.apiVersion === gv.groupVersion).map((r) => {
            const kindRef = { group: r.group, version: r.version, kind: r.kind };
            const entry: Record<string, unknown> = {
              resource: r.plural,
              responseKind: kindRef,
              scope: r.namespaced ? 'Namespaced' : 'Cluster',
              singularResource: r.singular,
              verbs: verbsOf(r),
            };
            if (r.shortNames.length > 0) entry.shortNames = r.shortNames;
            if (r.categories.length > 0) entry.categories = r.categories;
            if (r.subresources.length > 0) {
              entry.subresources = r.subresources.map((sub) => ({
                subresource: sub,
                responseKind: sub === 'log' ? { group: '', version: 'v1', kind: 'Pod' } : kindRef,
                verbs: subresourceVerbs(sub),
              }));
            }
            return entry;
          }),
        },
      ],
    })),
  };
}

/** True when the Accept header asks for aggregated discovery v2 (v2beta1 is not served). */
export function wantsAggregated(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((s) => s.trim());
    return (
      params.includes('g=apidiscovery.k8s.io') &&
      params.includes('v=v2') &&
      params.includes('as=APIGroupDiscoveryList')
    );
  });
}

// ---- OpenAPI v3 stub ---------------------------------------------------------------------------

function openapiPathKey(gv: GroupVersion): string {
  return gv.group === '' ? 'api/v1' : `apis/${gv.groupVersion}`;
}

/** One OpenAPI v3 document per group-version: a PATCH per resource with its GVK and fieldValidation. */
export function openapiDocument(gv: GroupVersion, gitVersion: string): object {
  const paths: Record<string, unknown> = {};
  for (const r of RESOURCE_TYPES.filter((t) => t.apiVersion === gv.groupVersion)) {
    const prefix = `/${openapiPathKey(gv)}`;
    const item = r.namespaced
      ? `${prefix}/namespaces/{namespace}/${r.plural}/{name}`
      : `${prefix}/${r.plural}/{name}`;
    paths[item] = {
      patch: {
        'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
        parameters: [
          { name: 'dryRun', in: 'query', schema: { type: 'string' } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string' } },
          { name: 'fieldValidation', in: 'query', schema: { type: 'string' } },
          { name: 'force', in: 'query', schema: { type: 'boolean' } },
        ],
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: gitVersion },
    paths,
    components: { schemas: {} },
  };
}

export function openapiIndex(gitVersion: string): { index: object; docs: Map<string, string> } {
  const docs = new Map<string, string>();
  const paths: Record<string, unknown> = {};
  for (const gv of groupVersions()) {
    const body = JSON.stringify(openapiDocument(gv, gitVersion));
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 32).toUpperCase();
    const key = openapiPathKey(gv);
    docs.set(key, body);
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { index: { paths }, docs };
}
