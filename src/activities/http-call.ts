// A generic HTTP call for runbooks (a load balancer API, a feature flag, a webhook). It changes the
// world, so a dry run only says what it would send.
import { ApplicationFailure } from '@temporalio/common';
import {
  badParameters,
  errorMessage,
  expectedStatuses,
  FailureType,
  httpUrl,
  optionalPositiveInt,
  statusMatches,
} from './errors';
import { readLimited, requestSignal } from './probes';
import type { DryRunReport, HttpCallParams, HttpCallResult, StepInput } from './types';

const DEFAULT_TIMEOUT_MS = 30_000;
/** The answer lands in the workflow history: keep it well under Temporal's payload limits. */
const MAX_BODY_BYTES = 256 * 1024;

/** Retrying helps for overload and server trouble, not for a request the server refuses. */
function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 425 || status === 429;
}

export async function httpCall({
  params,
  ctx,
}: StepInput<HttpCallParams>): Promise<HttpCallResult | DryRunReport> {
  const url = httpUrl(params?.url);
  const method = (params.method ?? (params.body === undefined ? 'GET' : 'POST')).toUpperCase();
  if (!/^[A-Z]+$/.test(method))
    throw badParameters(`method must be an HTTP method, got ${JSON.stringify(params.method)}`);
  const expect = expectedStatuses(params.expectStatus);
  const timeoutMs = optionalPositiveInt(params.timeoutMs, 'timeoutMs') ?? DEFAULT_TIMEOUT_MS;
  const headers = new Headers();
  if (params.headers !== undefined) {
    if (typeof params.headers !== 'object' || params.headers === null || Array.isArray(params.headers))
      throw badParameters('headers must be a mapping of header name to value');
    for (const [name, value] of Object.entries(params.headers)) {
      if (typeof value !== 'string') throw badParameters(`header ${name} must be a string`);
      try {
        headers.set(name, value);
      } catch {
        throw badParameters(`header ${JSON.stringify(name)} is not a valid HTTP header`);
      }
    }
  }
  let body: string | undefined;
  if (params.body !== undefined) {
    body = typeof params.body === 'string' ? params.body : JSON.stringify(params.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  // Header values may carry credentials: the report names them only.
  const described = `${method} ${url.origin}${url.pathname}${headers.has('authorization') ? ' (with authorization)' : ''}${body === undefined ? '' : ` with a ${body.length}-byte body`}`;
  if (ctx.dryRun) return { dryRun: true, wouldDo: `send HTTP ${described}` };

  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body,
      signal: requestSignal(timeoutMs),
      redirect: 'manual',
    });
  } catch (error) {
    throw ApplicationFailure.retryable(`HTTP ${described} failed: ${errorMessage(error)}`, 'HttpCallFailed');
  }
  const text = await readLimited(response, MAX_BODY_BYTES);
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      parsed = text;
    }
  }
  if (!statusMatches(response.status, expect)) {
    throw ApplicationFailure.create({
      message: `HTTP ${described} answered ${response.status}, expected ${expect ? expect.join(' or ') : '2xx'}`,
      type: FailureType.UnexpectedStatus,
      nonRetryable: !retryableStatus(response.status),
      details: [{ status: response.status, body: text.slice(0, 2000) }],
    });
  }
  return { status: response.status, body: parsed };
}
