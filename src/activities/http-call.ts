// A generic HTTP call for runbooks (a load balancer API, a feature flag, a webhook). It changes the
// world, so a dry run only says what it would send. Credentials are named in the runbook
// (`Authorization: { secret: NAME, prefix: "Bearer " }`) and resolved here, so they never enter the
// history; an answer that echoes them back is scrubbed before it is returned.
//
// At least once: a worker that dies mid-call leaves the call to be retried by another worker, so the
// receiving side may see it twice. Every request carries an Idempotency-Key derived from the incident,
// the step and the step's visit (the same on every retry) for the receiver to deduplicate on, and the
// call heartbeats while it waits, so a dead worker's call is retried after the heartbeat timeout
// instead of the whole step timeout.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { isSecretRef } from '../runbook-lang/secret-refs';
import { createEgressPolicy, DEFAULT_EGRESS_ALLOW, type EgressPolicy } from './egress';
import {
  badParameters,
  errorMessage,
  expectedStatuses,
  FailureType,
  optionalPositiveInt,
  statusMatches,
} from './errors';
import { readLimited, requestSignal } from './probes';
import { createSecretStore, scrubSecrets, type SecretStore } from './secrets';
import type { DryRunReport, HttpCallParams, HttpCallResult, StepContext, StepInput } from './types';

const DEFAULT_TIMEOUT_MS = 30_000;
/** The answer lands in the workflow history: keep it well under Temporal's payload limits. */
const MAX_BODY_BYTES = 256 * 1024;

/** Retrying helps for overload and server trouble, not for a request the server refuses. */
function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 425 || status === 429;
}

/** Same incident, step and visit: same key, whichever attempt or worker sends it. */
export function idempotencyKey(ctx: StepContext): string {
  const parts = [
    ctx.incidentId,
    ctx.firstRunId ?? '',
    ctx.stepId,
    String(ctx.visit ?? ''),
    ctx.stepStartedAt,
  ];
  return `rebound-${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 40)}`;
}

/** Heartbeats until stopped, when the activity has a heartbeat timeout (not in plain unit calls). */
function heartbeatWhileWaiting(): () => void {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return () => {};
  }
  const timeoutMs = context.info.heartbeatTimeoutMs;
  if (!timeoutMs) return () => {};
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), Math.max(200, Math.floor(timeoutMs / 3)));
  return () => clearInterval(timer);
}

export interface HttpCallDeps {
  egress: EgressPolicy;
  secrets: SecretStore;
}

export function createHttpCall({ egress, secrets }: HttpCallDeps) {
  return async function httpCall({
    params,
    ctx,
  }: StepInput<HttpCallParams>): Promise<HttpCallResult | DryRunReport> {
    const url = egress.checkUrl('http.call', params?.url);
    const method = (params.method ?? (params.body === undefined ? 'GET' : 'POST')).toUpperCase();
    if (!/^[A-Z]+$/.test(method))
      throw badParameters(`method must be an HTTP method, got ${JSON.stringify(params.method)}`);
    const expect = expectedStatuses(params.expectStatus);
    const timeoutMs = optionalPositiveInt(params.timeoutMs, 'timeoutMs') ?? DEFAULT_TIMEOUT_MS;
    const headers = new Headers();
    const secretValues: string[] = [];
    const named: string[] = [];
    if (params.headers !== undefined) {
      if (typeof params.headers !== 'object' || params.headers === null || Array.isArray(params.headers))
        throw badParameters('headers must be a mapping of header name to value');
      for (const [name, value] of Object.entries(params.headers as Record<string, unknown>)) {
        let text: string;
        if (isSecretRef(value)) {
          // Resolved only when sending: a dry run does not need (or reveal the absence of) the value.
          if (ctx.dryRun) {
            named.push(name);
            continue;
          }
          const secret = secrets.resolve(value.secret);
          secretValues.push(secret);
          text = `${value.prefix ?? ''}${secret}`;
          named.push(name);
        } else if (typeof value === 'string') text = value;
        else throw badParameters(`header ${name} must be a string or { secret: NAME }`);
        try {
          headers.set(name, text);
        } catch {
          // The value is never quoted: it may be a secret.
          throw badParameters(`header ${JSON.stringify(name)} is not a valid HTTP header name or value`);
        }
      }
    }
    if (!headers.has('idempotency-key')) headers.set('idempotency-key', idempotencyKey(ctx));
    let body: string | undefined;
    if (params.body !== undefined) {
      body = typeof params.body === 'string' ? params.body : JSON.stringify(params.body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    // Header values may carry credentials: the report names them only.
    const withCredentials = named.length > 0 || headers.has('authorization');
    const described = `${method} ${url.origin}${url.pathname}${withCredentials ? ' (with authorization)' : ''}${body === undefined ? '' : ` with a ${body.length}-byte body`}`;
    if (ctx.dryRun) return { dryRun: true, wouldDo: `send HTTP ${described}` };

    const stopHeartbeat = heartbeatWhileWaiting();
    let response: Response;
    let text: string;
    try {
      try {
        response = await fetch(url, {
          method,
          headers,
          body,
          signal: requestSignal(timeoutMs),
          redirect: 'manual',
        });
      } catch (error) {
        throw ApplicationFailure.retryable(
          `HTTP ${described} failed: ${scrubSecrets(errorMessage(error), secretValues)}`,
          'HttpCallFailed',
        );
      }
      text = scrubSecrets(await readLimited(response, MAX_BODY_BYTES), secretValues);
    } finally {
      stopHeartbeat();
    }
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
  };
}

/** With the default policy (loopback only) and secrets from the environment: for direct use in tests and tools. */
export const httpCall = createHttpCall({
  egress: createEgressPolicy(DEFAULT_EGRESS_ALLOW),
  secrets: createSecretStore({}),
});
