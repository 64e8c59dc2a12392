// Where the time to a first action goes, read from an incident's event history: the moments the
// history records (workflow started, each activity scheduled/started/closed, each child workflow
// initiated/started) are matched by activity and child workflow TYPE and by occurrence, never by
// event id or position, so the legs survive a change in how the interpreter issues its commands.
// A milestone the history lacks (a guard folded into another, or run as a local activity the
// marker does not name) is reported absent and its time falls into the next leg.
import type { temporal } from '@temporalio/proto';
import { percentile, round } from './common';

type History = temporal.api.history.v1.IHistory;
type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;

/** An activity (or local activity) or a child workflow, with the times the history gives it. */
export interface Span {
  kind: 'activity' | 'child';
  type: string;
  scheduledAt: number;
  startedAt?: number;
  closedAt?: number;
}

export interface Timeline {
  startedAt: number;
  spans: Span[];
}

function ms(t: Timestamp): number {
  if (!t) return NaN;
  return Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6;
}

/** The local activity's type from core's marker, when a guard runs as a local activity. */
function localActivityType(
  attributes: temporal.api.history.v1.IMarkerRecordedEventAttributes,
): string | undefined {
  if (attributes.markerName !== 'core_local_activity') return undefined;
  const data = attributes.details?.data?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: unknown };
    return typeof parsed.activity_type === 'string' ? parsed.activity_type : undefined;
  } catch {
    return undefined;
  }
}

export function timeline(history: History): Timeline {
  const spans: Span[] = [];
  const byEventId = new Map<number, Span>();
  let startedAt = NaN;
  for (const event of history.events ?? []) {
    const at = ms(event.eventTime);
    const id = Number(event.eventId);
    if (event.workflowExecutionStartedEventAttributes) startedAt = at;
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const span: Span = { kind: 'activity', type: scheduled.activityType?.name ?? '?', scheduledAt: at };
      spans.push(span);
      byEventId.set(id, span);
    }
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const span = byEventId.get(Number(started.scheduledEventId));
      if (span) span.startedAt = at;
    }
    const closed =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes ??
      event.activityTaskCanceledEventAttributes;
    if (closed) {
      const span = byEventId.get(Number(closed.scheduledEventId));
      if (span) span.closedAt = at;
    }
    const marker = event.markerRecordedEventAttributes;
    const local = marker ? localActivityType(marker) : undefined;
    if (local) spans.push({ kind: 'activity', type: local, scheduledAt: at, startedAt: at, closedAt: at });
    const initiated = event.startChildWorkflowExecutionInitiatedEventAttributes;
    if (initiated) {
      const span: Span = { kind: 'child', type: initiated.workflowType?.name ?? '?', scheduledAt: at };
      spans.push(span);
      byEventId.set(id, span);
    }
    const childStarted =
      event.childWorkflowExecutionStartedEventAttributes ??
      event.startChildWorkflowExecutionFailedEventAttributes;
    if (childStarted) {
      const span = byEventId.get(Number(childStarted.initiatedEventId));
      if (span) {
        span.startedAt = at;
        span.closedAt = at;
      }
    }
  }
  return { startedAt, spans };
}

/** One leg ends at a moment of the nth span of a type (counting from 1). */
export interface LegSpec {
  leg: string;
  kind: Span['kind'];
  type: string;
  nth: number;
  /** Which moment ends the leg; the leg's own part runs from the span's scheduling to it. */
  at: 'startedAt' | 'closedAt' | 'scheduledAt';
}

export interface LegSample {
  /** ms from the previous milestone that was found to this one; undefined when absent. */
  leg?: number;
  /** ms of it inside the activity or child (scheduled -> the leg's end); the rest is workflow tasks. */
  own?: number;
}

/** The legs of one incident, from the webhook POST (t0, ms since the epoch) to the last spec. */
export function legsOf(t0: number, line: Timeline, specs: LegSpec[]): LegSample[] {
  const samples: LegSample[] = [{ leg: Math.max(0, line.startedAt - t0) }];
  let previous = line.startedAt;
  for (const spec of specs) {
    const span = line.spans.filter((s) => s.kind === spec.kind && s.type === spec.type)[spec.nth - 1];
    const end = span?.[spec.at];
    if (!span || end === undefined || !Number.isFinite(end)) {
      samples.push({});
      continue;
    }
    // Concurrent guards end before the previous milestone: a zero leg, never a negative one.
    samples.push({ leg: Math.max(0, end - previous), own: Math.max(0, end - span.scheduledAt) });
    previous = Math.max(previous, end);
  }
  return samples;
}

export interface LegRow {
  leg: string;
  found: number;
  p50ms: number;
  p99ms: number;
  meanMs: number;
  /** Share of the summed mean legs. */
  share: string;
  /** p50 of the part spent inside the activity or child workflow. */
  ownP50ms: number | string;
}

export function legTable(labels: string[], perIncident: LegSample[][]): LegRow[] {
  const means = labels.map((_, i) => {
    const values = perIncident.flatMap((s) => (s[i]?.leg === undefined ? [] : [s[i]?.leg]));
    return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
  });
  const total = means.reduce((a, b) => a + b, 0);
  return labels.map((leg, i) => {
    const values = perIncident.flatMap((s) => (s[i]?.leg === undefined ? [] : [s[i]?.leg]));
    const own = perIncident.flatMap((s) => (s[i]?.own === undefined ? [] : [s[i]?.own]));
    return {
      leg,
      found: values.length,
      p50ms: values.length ? round(percentile(values, 50)) : NaN,
      p99ms: values.length ? round(percentile(values, 99)) : NaN,
      meanMs: values.length ? round(means[i] as number) : NaN,
      share: total > 0 && values.length ? `${Math.round(((means[i] as number) / total) * 100)}%` : '-',
      ownP50ms: own.length ? round(percentile(own, 50)) : '-',
    };
  });
}
