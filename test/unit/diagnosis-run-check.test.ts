import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import type { CheckContext, CheckDefinition, KubeClients } from '../../src/checks/types.js';
import { describeCheckFailure, runCheck } from '../../src/diagnosis/run-check.js';

const ctx: CheckContext = { cluster: 'prod', kube: {} as KubeClients, params: { limit: 3 } };

function check(
  gather: (ctx: CheckContext) => Promise<number>,
  title = 'Flannel pods',
): CheckDefinition<number> {
  return {
    id: 'flannel-pods',
    scope: 'api',
    title,
    gather,
    evaluate: (facts, params) => ({
      status: facts > Number(params.limit) ? 'fail' : 'ok',
      summary: `${facts} restarts`,
      evidence: [],
      findings: [],
    }),
  };
}

describe('runCheck', () => {
  it('returns the evaluated result with the check id, params and a duration', async () => {
    const run = await runCheck(
      check(async () => 5),
      ctx,
    );
    expect(run.retryable).toBe(false);
    expect(run.result).toMatchObject({ id: 'flannel-pods', status: 'fail', summary: '5 restarts' });
    expect(typeof run.result.durationMs).toBe('number');
  });

  it('turns an API 503 into an error result naming the status and message, and marks it retryable', async () => {
    const failing = check(async () => {
      throw new ApiException(
        503,
        'Service Unavailable',
        {
          kind: 'Status',
          reason: 'ServiceUnavailable',
          message: 'the server is currently unable to handle the request',
        },
        {},
      );
    });
    const run = await runCheck(failing, ctx);
    expect(run.result.status).toBe('error');
    expect(run.result.summary).toContain(
      'API answered 503: the server is currently unable to handle the request',
    );
    expect(run.result.evidence).toEqual([
      'API answered 503: the server is currently unable to handle the request',
    ]);
    expect(run.result.findings).toEqual([]);
    expect(run.retryable).toBe(true);
  });

  it('does not retry a 403 (it will not fix itself) but says what the API answered', async () => {
    const run = await runCheck(
      check(async () => {
        throw new ApiException(
          403,
          'Forbidden',
          JSON.stringify({ message: 'pods is forbidden: User "bot" cannot list pods' }),
          {},
        );
      }),
      ctx,
    );
    expect(run.result.status).toBe('error');
    expect(run.result.summary).toContain('API answered 403: pods is forbidden');
    expect(run.retryable).toBe(false);
  });

  it('turns a connection reset into a retryable error', async () => {
    const run = await runCheck(
      check(async () => {
        throw Object.assign(new Error('request to https://10.0.0.1/api failed'), {
          cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
        });
      }),
      ctx,
    );
    expect(run.result.status).toBe('error');
    expect(run.result.summary).toContain('ECONNRESET');
    expect(run.retryable).toBe(true);
  });

  it('times out a check that hangs, aborts its signal and says how long it waited', async () => {
    let seen: AbortSignal | undefined;
    const hanging = check(
      (c) =>
        new Promise<number>(() => {
          seen = c.signal;
        }),
    );
    const run = await runCheck(hanging, ctx, { timeoutMs: 50 });
    expect(run.result.status).toBe('error');
    expect(run.result.summary).toBe('Flannel pods: could not run (timed out after 0.1s)');
    expect(run.retryable).toBe(true);
    expect(seen?.aborted).toBe(true);
  });

  it('a bug in evaluate is an error result, not an exception', async () => {
    const buggy: CheckDefinition<number> = {
      ...check(async () => 1),
      evaluate: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'items')");
      },
    };
    const run = await runCheck(buggy, ctx);
    expect(run.result).toMatchObject({ id: 'flannel-pods', status: 'error' });
    expect(run.result.summary).toContain("Cannot read properties of undefined (reading 'items')");
    expect(run.retryable).toBe(false);
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    const pending = runCheck(
      check(() => new Promise<number>(() => undefined)),
      ctx,
      { signal: controller.signal, timeoutMs: 10_000 },
    );
    controller.abort();
    const run = await pending;
    expect(run.result.status).toBe('error');
    expect(run.result.summary).toContain('cancelled');
  });
});

describe('describeCheckFailure', () => {
  it('keeps multi-line messages on one line', () => {
    expect(describeCheckFailure(new Error('first\n  second')).reason).toBe('first second');
  });
  it('treats 429 and 5xx as transient, 404 as not', () => {
    expect(describeCheckFailure({ code: 429, body: {} }).retryable).toBe(true);
    expect(describeCheckFailure({ code: 500, body: {} }).retryable).toBe(true);
    expect(describeCheckFailure({ code: 404, body: { message: 'not found' } })).toEqual({
      reason: 'API answered 404: not found',
      retryable: false,
    });
  });
});
