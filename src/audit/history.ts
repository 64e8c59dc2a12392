// Small readers over a Temporal event history as the SDK decodes it (protobuf objects with Long ids
// and timestamps): event names, times, payloads and failures, shared by the audit and `incidents show`.
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { maskSecretHeaders } from '../runbook-lang/secret-refs';

export type History = temporal.api.history.v1.IHistory;
export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;
type Failure = temporal.api.failure.v1.IFailure;

/** A Long, number or numeric string as a number (event ids and counters are int64 in the protos). */
export function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  if (value && typeof value === 'object' && 'toNumber' in value) {
    return (value as { toNumber(): number }).toNumber();
  }
  return 0;
}

/** The event's type as Temporal's docs name it: `ActivityTaskStarted`, `WorkflowExecutionSignaled`. */
export function eventType(event: HistoryEvent): string {
  const key = Object.keys(event).find(
    (k) => k.endsWith('EventAttributes') && (event as Record<string, unknown>)[k],
  );
  return key ? key.replace(/EventAttributes$/, '').replace(/^./, (c) => c.toUpperCase()) : 'Unknown';
}

export function eventTimeMs(event: HistoryEvent): number {
  const ts = event.eventTime;
  if (!ts) return 0;
  return num(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1_000_000);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** A protobuf Duration as milliseconds. */
export function durationToMs(d: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!d) return 0;
  return num(d.seconds) * 1000 + Math.round((d.nanos ?? 0) / 1_000_000);
}

/** Decodes a payload with the default converter; something it cannot decode is described, not thrown. */
export function decodePayload(payload: Payload | null | undefined): unknown {
  if (!payload) return undefined;
  try {
    // Credential headers written into runbooks before secrets were named are never shown.
    return maskSecretHeaders(defaultPayloadConverter.fromPayload(payload));
  } catch {
    const encoding = payload.metadata?.encoding ? Buffer.from(payload.metadata.encoding).toString() : '?';
    return `<payload in encoding ${encoding}, ${payload.data?.length ?? 0} bytes, not decodable here>`;
  }
}

export function decodePayloads(payloads: { payloads?: Payload[] | null } | null | undefined): unknown[] {
  return (payloads?.payloads ?? []).map((p) => decodePayload(p));
}

export interface FailureSummary {
  type: string;
  message: string;
  /** Decoded details of an application failure (the incident workflow puts its state there). */
  details?: unknown[];
}

/** The innermost meaningful cause of a failure: activity failures wrap the application error. */
export function summariseFailure(failure: Failure | null | undefined): FailureSummary | undefined {
  if (!failure) return undefined;
  let current: Failure = failure;
  while (current.activityFailureInfo && current.cause) current = current.cause;
  if (current.applicationFailureInfo) {
    const details = decodePayloads(current.applicationFailureInfo.details);
    return {
      type: current.applicationFailureInfo.type || 'Error',
      message: current.message ?? '',
      ...(details.length > 0 ? { details } : {}),
    };
  }
  if (current.timeoutFailureInfo) {
    const kind = current.timeoutFailureInfo.timeoutType ?? 0;
    const names = ['unspecified', 'start-to-close', 'schedule-to-start', 'schedule-to-close', 'heartbeat'];
    return { type: 'Timeout', message: `timed out (${names[num(kind)] ?? String(kind)})` };
  }
  if (current.canceledFailureInfo) return { type: 'Canceled', message: current.message || 'canceled' };
  if (current.terminatedFailureInfo) return { type: 'Terminated', message: current.message || 'terminated' };
  return { type: 'Failure', message: current.message ?? '' };
}

/** The decoded first input payload of the workflow, when the history starts with it. */
export function workflowInput(history: History): unknown {
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  return started ? decodePayloads(started.input)[0] : undefined;
}
