// Health probes. An unhealthy target is an answer, not a failure: probes return ok:false so runbook
// `when` conditions can act on it; only bad parameters throw.
import net from 'node:net';
import { Context } from '@temporalio/activity';
import {
  badParameters,
  errorMessage,
  expectedStatuses,
  httpUrl,
  optionalPositiveInt,
  requireString,
  statusMatches,
} from './errors';
import type { HttpProbeParams, HttpProbeResult, TcpProbeParams, TcpProbeResult } from './types';

const DEFAULT_TIMEOUT_MS = 5000;
/** Enough of a body to match a health page against; a probe never reads an unbounded answer. */
const MAX_BODY_BYTES = 1024 * 1024;

function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** Reads at most `limit` bytes of a response body as text. */
export async function readLimited(response: Response, limit = MAX_BODY_BYTES): Promise<string> {
  if (!response.body) return '';
  // The DOM and Node stream typings disagree on the chunk type: fetch bodies yield Uint8Array.
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= limit) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/** A timeout signal that also fires when the activity is cancelled. */
export function requestSignal(timeoutMs: number): AbortSignal {
  const cancel = cancellationSignal();
  const timeout = AbortSignal.timeout(timeoutMs);
  return cancel ? AbortSignal.any([timeout, cancel]) : timeout;
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return error.name === 'TimeoutError' ? `timed out after ${timeoutMs}ms` : 'aborted';
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ''}`;
  return errorMessage(error);
}

export async function httpProbe(params: HttpProbeParams): Promise<HttpProbeResult> {
  const url = httpUrl(params?.url);
  const method = (params.method ?? 'GET').toUpperCase();
  if (!/^[A-Z]+$/.test(method))
    throw badParameters(`method must be an HTTP method, got ${JSON.stringify(params.method)}`);
  const expect = expectedStatuses(params.expectStatus);
  const timeoutMs = optionalPositiveInt(params.timeoutMs, 'timeoutMs') ?? DEFAULT_TIMEOUT_MS;
  let pattern: RegExp | undefined;
  if (params.bodyMatch !== undefined) {
    try {
      pattern = new RegExp(requireString(params.bodyMatch, 'bodyMatch'));
    } catch (error) {
      throw badParameters(`bodyMatch is not a valid regular expression: ${errorMessage(error)}`);
    }
  }
  const started = performance.now();
  const signal = requestSignal(timeoutMs);
  try {
    const response = await fetch(url, { method, signal, redirect: 'manual' });
    const statusOk = statusMatches(response.status, expect);
    let bodyMatched: boolean | undefined;
    if (pattern) bodyMatched = pattern.test(await readLimited(response));
    else await response.body?.cancel();
    const durationMs = Math.round(performance.now() - started);
    const ok = statusOk && bodyMatched !== false;
    return {
      ok,
      status: response.status,
      durationMs,
      ...(bodyMatched === undefined ? {} : { bodyMatched }),
      ...(ok
        ? {}
        : {
            error: statusOk
              ? 'body did not match'
              : `unexpected status ${response.status} (expected ${expect ? expect.join(' or ') : '2xx'})`,
          }),
    };
  } catch (error) {
    // Cancellation is not an answer about the target: surface it as the activity's cancellation.
    const cancel = cancellationSignal();
    if (cancel?.aborted) throw cancel.reason;
    return {
      ok: false,
      durationMs: Math.round(performance.now() - started),
      error: describeFetchError(error, timeoutMs),
    };
  }
}

export async function tcpProbe(params: TcpProbeParams): Promise<TcpProbeResult> {
  const host = requireString(params?.host, 'host');
  const port = params.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw badParameters(`port must be a whole number from 1 to 65535, got ${JSON.stringify(port)}`);
  const timeoutMs = optionalPositiveInt(params.timeoutMs, 'timeoutMs') ?? DEFAULT_TIMEOUT_MS;
  const started = performance.now();
  const cancel = cancellationSignal();
  const error = await new Promise<string | undefined>((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (result: string | undefined): void => {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = (): void => finish('cancelled');
    const timer = setTimeout(() => finish(`timed out after ${timeoutMs}ms`), timeoutMs);
    cancel?.addEventListener('abort', onAbort);
    socket.once('connect', () => finish(undefined));
    socket.once('error', (e: NodeJS.ErrnoException) =>
      finish(e.code ? `${e.code}: ${e.message}` : e.message),
    );
  });
  if (cancel?.aborted) throw cancel.reason;
  const durationMs = Math.round(performance.now() - started);
  return error === undefined ? { ok: true, durationMs } : { ok: false, durationMs, error };
}
