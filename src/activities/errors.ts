// Failure helpers shared by the integrations, so the workflow (and runbook retry policies) can rely on
// one set of failure types.
import { ApplicationFailure } from '@temporalio/common';
import { errorMessage } from '../workflows/values';

export const FailureType = {
  BadParameters: 'BadParameters',
  NotConfigured: 'NotConfigured',
  ContainerNotFound: 'ContainerNotFound',
  ContainerNotHealthy: 'ContainerNotHealthy',
  /** An earlier attempt's restart is still under way; the next attempt waits for it again. */
  RestartInProgress: 'RestartInProgress',
  UnexpectedStatus: 'UnexpectedStatus',
  SmtpRejected: 'SmtpRejected',
  SlackError: 'SlackError',
  PrometheusError: 'PrometheusError',
} as const;

/** Bad runbook input: retrying cannot help. */
export function badParameters(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FailureType.BadParameters);
}

/** An integration used by a runbook but not configured on this worker. */
export function notConfigured(what: string, setting: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `${what} is not configured on this worker: set ${setting}`,
    FailureType.NotConfigured,
  );
}

/** Re-exported for the activities, which take their helpers from here. */
export { errorMessage };

export function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw badParameters(`${name} must be a non-empty string`);
  return value;
}

export function optionalPositiveInt(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw badParameters(`${name} must be a whole number of at least 0, got ${JSON.stringify(value)}`);
  return value;
}

/** Normalises expectStatus (one code or a list) and checks it. Undefined means "any 2xx". */
export function expectedStatuses(value: unknown, name = 'expectStatus'): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  if (list.length === 0) throw badParameters(`${name} must not be an empty list`);
  return list.map((code) => {
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 100 || code > 599)
      throw badParameters(`${name} must hold HTTP status codes (100-599), got ${JSON.stringify(code)}`);
    return code;
  });
}

export function statusMatches(status: number, expected: number[] | undefined): boolean {
  return expected ? expected.includes(status) : status >= 200 && status < 300;
}

/** Parses an absolute http(s) URL or throws BadParameters. */
export function httpUrl(value: unknown, name = 'url'): URL {
  const text = requireString(value, name);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badParameters(`${name} is not an absolute URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw badParameters(`${name} must be http:// or https://, got ${url.protocol}`);
  return url;
}
