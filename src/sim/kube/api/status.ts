/** Kubernetes `Status` errors with the same reasons and messages as apimachinery's api/errors. */

export interface StatusObject {
  apiVersion: string;
  kind: string;
  metadata: Record<string, never> | { name: string };
  [key: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: object,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown } {
    const status: Record<string, unknown> = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status as { apiVersion: string; kind: string; metadata: { name: string } };
  }
}

function details(plural: string, name: string | undefined, group: string): Record<string, string> {
  const d: Record<string, string> = {};
  if (name) d.name = name;
  if (group) d.group = group;
  d.kind = plural;
  return d;
}

/** "pods" or "deployments.apps": how the real server names a resource in messages. */
export function qualifiedResource(plural: string, group: string): string {
  return group ? `${plural}.${group}` : plural;
}

export function notFound(plural: string, group: string, name: string): ApiError {
  return new ApiError(
    404,
    'NotFound',
    `${qualifiedResource(plural, group)} "${name}" not found`,
    details(plural, name, group),
  );
}

export function pathNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
}

export function alreadyExists(plural: string, group: string, name: string): ApiError {
  return new ApiError(
    409,
    'AlreadyExists',
    `${qualifiedResource(plural, group)} "${name}" already exists`,
    details(plural, name, group),
  );
}

export function conflict(plural: string, group: string, name: string, why?: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(plural, group)} "${name}": ${
      why ?? 'the object has been modified; please apply your changes to the latest version and try again'
    }`,
    details(plural, name, group),
  );
}

export interface Cause {
  reason: string;
  message: string;
  field: string;
}

export function invalid(kind: string, group: string, name: string, causes: Cause[]): ApiError {
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  const d: Record<string, unknown> = { name, kind, causes };
  if (group) d.group = group;
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, d);
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got "${contentType}")`,
  );
}

export function expired(requested: string | number, oldest: number): ApiError {
  return new ApiError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

export function forbidden(
  user: string,
  verb: string,
  plural: string,
  subresource: string | undefined,
  group: string,
  namespace: string | undefined,
  name: string | undefined,
): ApiError {
  const res = subresource ? `${plural}/${subresource}` : plural;
  const what = name ? `${qualifiedResource(res, group)} "${name}"` : qualifiedResource(res, group);
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  return new ApiError(
    403,
    'Forbidden',
    `${what} is forbidden: User "${user}" cannot ${verb} resource "${res}" in API group "${group}" ${scope}`,
    details(plural, name, group),
  );
}

/**
 * A server-side apply that would create the object, by a user who may patch but not create it. The patch
 * handler authorizes the create itself (apiserver handlers/rest.go withAuthorization) and answers with
 * NewForbidden(resource, name, <authorizer reason>); RBAC gives no reason for a plain denial, so the
 * message ends after "forbidden: ".
 */
export function forbiddenCreateOnApply(plural: string, group: string, name: string): ApiError {
  return new ApiError(
    403,
    'Forbidden',
    `${qualifiedResource(plural, group)} "${name}" is forbidden: `,
    details(plural, name, group),
  );
}

/** A role or binding that would grant permissions its writer does not hold (RBAC escalation prevention). */
export function forbiddenEscalation(plural: string, group: string, name: string, message: string): ApiError {
  return new ApiError(403, 'Forbidden', message, details(plural, name, group));
}

export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

/** The Status a 5xx/429 fault injection answers with. */
export function injectedFailure(code: number): ApiError {
  switch (code) {
    case 503:
      return new ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
    case 504:
      return new ApiError(504, 'Timeout', 'the server was unable to return a response in the time allotted');
    case 429:
      return new ApiError(
        429,
        'TooManyRequests',
        'the server has received too many requests and has asked us to try again later',
        { retryAfterSeconds: 1 },
      );
    default:
      return new ApiError(code, 'InternalError', 'Internal error occurred: injected fault');
  }
}
