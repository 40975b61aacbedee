/**
 * The simulated Kubernetes API server: real HTTP on 127.0.0.1 that kubectl and
 * @kubernetes/client-node use unmodified (see shared/domain/kubernetes-api.md).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ObjectStore } from './store.js';
import { RESOURCE_TYPES, type ResourceType, resourceForKind, resourceForPath } from './resources.js';
import {
  AGGREGATED_V2_CONTENT_TYPE,
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  openapiIndex,
  wantsAggregated,
} from './api/discovery.js';
import { type ResourceRequest, handleResource, verbOf } from './api/handlers.js';
import { sendJson, sendStatus, sendText } from './api/http.js';
import { type UserInfo, authorize, escalationDenial, serviceAccountUser } from './api/rbac.js';
import { rbacState } from './api/rbac-state.js';
import {
  ApiError,
  forbidden,
  forbiddenEscalation,
  notFound,
  injectedFailure,
  internalError,
  pathNotFound,
  unauthorized,
} from './api/status.js';
import { WatchRegistry } from './api/watch.js';

export interface ApiServerOptions {
  store: ObjectStore;
  host?: string; // 127.0.0.1
  port?: number; // 0 = ephemeral
  kubernetesVersion?: { major: string; minor: string; gitVersion: string }; // default 1 / 33 / v1.33.4
  rbac?: boolean; // opt-in enforcement
  watchBookmarkIntervalMs?: number;
  /**
   * With rbac: how to treat requests without an Authorization header. kubectl never sends credentials
   * to an http:// server (client-go only reads auth info for TLS), so the default 'admin' keeps kubectl
   * usable; 'anonymous' authorises them as system:anonymous through RBAC like the real server.
   */
  unauthenticated?: 'admin' | 'anonymous';
}

export interface Faults {
  dropWatches(): void;
  expireNextWatch(): void;
  failNext(count: number, status?: number): void;
  setLatency(ms: number): void;
  reset(): void;
}

export interface ApiServer {
  url: string;
  port: number;
  faults: Faults;
  close(): Promise<void>;
}

/** The bearer token with full access (the kubeconfig the simulator writes uses it). */
export const ADMIN_TOKEN = 'admin';

const ADMIN: UserInfo = { name: 'admin', groups: ['system:masters', 'system:authenticated'], admin: true };

class FaultState implements Faults {
  failCount = 0;
  failStatus = 500;
  latencyMs = 0;
  constructor(private readonly watches: WatchRegistry) {}
  dropWatches(): void {
    this.watches.dropAll();
  }
  expireNextWatch(): void {
    this.watches.expireNextWatch();
  }
  failNext(count: number, status = 500): void {
    this.failCount = Math.max(0, Math.floor(count));
    this.failStatus = status;
  }
  setLatency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }
  reset(): void {
    this.failCount = 0;
    this.failStatus = 500;
    this.latencyMs = 0;
    this.watches.reset();
  }
}

interface ParsedResourcePath {
  resource: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Splits /api/v1/... and /apis/{g}/{v}/... into resource, namespace, name, subresource. */
export function parseResourcePath(pathname: string): ParsedResourcePath | undefined {
  const segs = pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    group = '';
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1];
    version = segs[2];
    rest = segs.slice(3);
  } else return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const inNs = resourceForPath(group, version, rest[2]);
    if (inNs?.namespaced) {
      if (rest.length > 5) return undefined;
      return { resource: inNs, namespace: rest[1], name: rest[3], subresource: rest[4] };
    }
  }
  const resource = resourceForPath(group, version, rest[0]);
  if (!resource || rest.length > 3) return undefined;
  return { resource, name: rest[1], subresource: rest[2] };
}

const ANONYMOUS: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'], admin: false };

function authenticate(
  store: ObjectStore,
  req: IncomingMessage,
  rbac: boolean,
  unauthenticated: 'admin' | 'anonymous',
): UserInfo {
  if (!rbac) return ADMIN;
  const header = req.headers.authorization;
  if (header === undefined) return unauthenticated === 'admin' ? ADMIN : ANONYMOUS;
  const m = /^Bearer\s+(.+)$/i.exec(header);
  if (!m) throw unauthorized();
  const token = m[1].trim();
  if (token === ADMIN_TOKEN) return ADMIN;
  for (const s of store.listShared(resourceForKind('Secret'))) {
    if (s.type !== 'kubernetes.io/service-account-token') continue;
    const encoded = (s.data as Record<string, string> | undefined)?.token;
    if (!encoded || Buffer.from(encoded, 'base64').toString('utf8') !== token) continue;
    const sa = s.metadata.annotations?.['kubernetes.io/service-account.name'];
    if (sa && s.metadata.namespace) return serviceAccountUser(s.metadata.namespace, sa);
  }
  throw unauthorized();
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { store } = opts;
  const host = opts.host ?? '127.0.0.1';
  const version = opts.kubernetesVersion ?? { major: '1', minor: '33', gitVersion: 'v1.33.4' };
  const watches = new WatchRegistry();
  const faults = new FaultState(watches);
  const deps = { store, watches, bookmarkIntervalMs: opts.watchBookmarkIntervalMs ?? 60000 };
  const openapi = openapiIndex(version.gitVersion);
  let serverAddress = '';

  const versionInfo = {
    major: version.major,
    minor: version.minor,
    gitVersion: version.gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-08-01T00:00:00Z',
    goVersion: 'go1.24.5',
    compiler: 'gc',
    platform: 'linux/amd64',
  };

  function handleAdmin(url: URL, req: IncomingMessage, res: ServerResponse): void {
    const path = url.pathname;
    if (path === '/_sim/healthz') return sendText(res, 200, 'ok');
    if (req.method !== 'POST') return sendStatus(res, pathNotFound());
    switch (path) {
      case '/_sim/faults/drop-watches':
        faults.dropWatches();
        break;
      case '/_sim/faults/expire-next-watch':
        faults.expireNextWatch();
        break;
      case '/_sim/faults/fail': {
        const count = Number(url.searchParams.get('count') ?? '1');
        const status = Number(url.searchParams.get('status') ?? '500');
        if (
          !Number.isInteger(count) ||
          count < 0 ||
          !Number.isInteger(status) ||
          status < 400 ||
          status > 599
        ) {
          return sendStatus(
            res,
            new ApiError(400, 'BadRequest', 'count must be an integer >= 0 and status 400-599'),
          );
        }
        faults.failNext(count, status);
        break;
      }
      case '/_sim/faults/latency': {
        const ms = Number(url.searchParams.get('ms') ?? '0');
        if (!Number.isFinite(ms) || ms < 0)
          return sendStatus(res, new ApiError(400, 'BadRequest', 'ms must be a number >= 0'));
        faults.setLatency(ms);
        break;
      }
      case '/_sim/faults/reset':
        faults.reset();
        break;
      default:
        return sendStatus(res, pathNotFound());
    }
    sendJson(res, 200, { ok: true });
  }

  function handleNonResource(url: URL, req: IncomingMessage, res: ServerResponse): boolean {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const accept = req.headers.accept;
    if (req.method !== 'GET') return false;
    if (path === '/version') return (sendJson(res, 200, versionInfo), true);
    if (path === '/healthz' || path === '/livez' || path === '/readyz')
      return (sendText(res, 200, 'ok'), true);
    if (path === '/api' || path === '/apis') {
      const core = path === '/api';
      if (wantsAggregated(accept)) sendJson(res, 200, aggregatedDiscovery(core), AGGREGATED_V2_CONTENT_TYPE);
      else sendJson(res, 200, core ? apiVersions(serverAddress) : apiGroupList());
      return true;
    }
    if (path === '/api/v1') return (sendJson(res, 200, apiResourceList('', 'v1')), true);
    const gm = /^\/apis\/([^/]+)$/.exec(path);
    if (gm) {
      const g = apiGroup(gm[1]);
      if (!g) return false;
      return (sendJson(res, 200, g), true);
    }
    const gvm = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    if (gvm) {
      const list = apiResourceList(gvm[1], gvm[2]);
      if (!list) return false;
      return (sendJson(res, 200, list), true);
    }
    if (path === '/openapi/v3') return (sendJson(res, 200, openapi.index), true);
    if (path.startsWith('/openapi/v3/')) {
      const doc = openapi.docs.get(path.slice('/openapi/v3/'.length));
      if (!doc) return false;
      res.setHeader('Cache-Control', 'public, immutable');
      return (sendJson(res, 200, doc), true);
    }
    return false;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/_sim/')) return handleAdmin(url, req, res);
    if (faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
    if (faults.failCount > 0) {
      faults.failCount--;
      throw injectedFailure(faults.failStatus);
    }
    const user = authenticate(store, req, opts.rbac ?? false, opts.unauthenticated ?? 'admin');
    if (handleNonResource(url, req, res)) return;
    const parsed = parseResourcePath(url.pathname);
    if (!parsed) throw pathNotFound();
    const r: ResourceRequest = { method: req.method ?? 'GET', query: url.searchParams, req, res, ...parsed };
    if (!user.admin) {
      const verb = verbOf(r);
      const access = {
        verb,
        group: r.resource.group,
        resource: r.resource.plural,
        subresource: r.subresource,
        namespace: r.namespace,
        name: r.name,
      };
      r.authorize = (other) => authorize(rbacState(store), user, { ...access, verb: other });
      if (r.resource.group === 'rbac.authorization.k8s.io') {
        r.admit = (obj) => {
          const denial = escalationDenial(rbacState(store), user, obj as never);
          if (denial?.code === 404) throw notFound(denial.plural, r.resource.group, denial.name);
          if (denial)
            throw forbiddenEscalation(r.resource.plural, r.resource.group, obj.metadata.name, denial.message);
        };
      }
      if (!authorize(rbacState(store), user, access)) {
        throw forbidden(
          user.name,
          verb,
          r.resource.plural,
          r.subresource,
          r.resource.group,
          r.namespace,
          r.name,
        );
      }
    }
    await handleResource(deps, r);
  }

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof ApiError) sendStatus(res, err);
      else sendStatus(res, internalError(err instanceof Error ? err.message : String(err)));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  serverAddress = `${host}:${port}`;
  return {
    url: `http://${host}:${port}`,
    port,
    faults,
    close: async () => {
      watches.dropAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

/** All resource types the server serves (for callers that build kubeconfigs or docs). */
export const SERVED_RESOURCES = RESOURCE_TYPES;
