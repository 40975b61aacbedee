/**
 * Every built-in diagnosis check by id: the API checks and the node checks. Runbooks name checks by
 * these ids (validated against catalog.ts at start-up); the engine looks the implementation up here.
 */
import { API_CHECKS } from './api/index.js';
import { CHECK_ID_LIST, type CheckId } from './catalog.js';
import { NODE_CHECKS } from './node/index.js';
import type { CheckDefinition } from './types.js';

export const CHECKS: ReadonlyMap<CheckId, CheckDefinition> = new Map(
  [...API_CHECKS, ...NODE_CHECKS].map((check) => [check.id, check]),
);

export class UnknownCheckError extends Error {
  constructor(id: string) {
    const missing = CHECK_ID_LIST.filter((known) => !CHECKS.has(known));
    super(
      `unknown check "${id}" (known: ${[...CHECKS.keys()].join(', ')}` +
        (missing.length ? `; catalogued but not implemented: ${missing.join(', ')}` : '') +
        ')',
    );
    this.name = 'UnknownCheckError';
  }
}

export function getCheck(id: string): CheckDefinition {
  const check = CHECKS.get(id as CheckId);
  if (!check) throw new UnknownCheckError(id);
  return check;
}

/** Catalogued ids without an implementation (should be empty; a test keeps it so). */
export function unimplementedChecks(): CheckId[] {
  return CHECK_ID_LIST.filter((id) => !CHECKS.has(id));
}
