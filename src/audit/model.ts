// The audit record of one incident, built from its Temporal event history: what the server recorded
// (signals, activity attempts, update requests, timers, the result), not what the workflow chose to
// note about itself. The workflow's own state (its result) only fills in what the history cannot say,
// such as which step a timer belonged to.
import { parseDuration } from '../runbook-lang/duration';
import { definitionOfActivity } from '../steps/registry';
import type { AlertNotification, IncidentInput, IncidentState } from '../workflows/contract';
import { lockResource, releaseLockSignal } from '../workflows/guard-contract';
import { ESCALATED_HOLD_WAIT_MS, FIRST_NOTIFICATION_WAIT_MS } from '../workflows/timers';
import { describeAlert, isObject } from '../workflows/values';
import {
  decodePayloads,
  durationToMs,
  eventTimeMs,
  isoTime,
  num,
  summariseFailure,
  type FailureSummary,
  type History,
  type HistoryEvent,
} from './history';

export interface AuditEntry {
  eventId: number;
  at: string;
  kind:
    | 'start'
    | 'alert'
    | 'signal'
    | 'status'
    | 'step'
    | 'message'
    | 'guard'
    | 'approval'
    | 'close'
    | 'timer'
    | 'outcome';
  text: string;
  /** Further lines shown under the entry. */
  detail: string[];
}

export interface AttemptFailure {
  attempt: number;
  error: FailureSummary;
}

export interface ActivityAudit {
  activityId: string;
  activityType: string;
  /** The runbook step it served (ctx.stepId), or what it was for when no step. */
  stepId?: string;
  purpose: 'step' | 'message' | 'guard';
  scheduledEventId: number;
  scheduledAt: string;
  startedAt?: string;
  closedAt?: string;
  /** Attempt number of the last attempt the server started (Temporal records only that one). */
  attempt: number;
  maximumAttempts?: number;
  /** The attempt before the last one failed with this (ActivityTaskStarted.lastFailure). */
  previousFailure?: AttemptFailure;
  outcome: 'scheduled' | 'running' | 'completed' | 'failed' | 'timed out' | 'canceled';
  error?: FailureSummary;
  params?: unknown;
  input: unknown;
  result?: unknown;
  /** Last attempt: started → closed. */
  attemptMs?: number;
  /** Scheduled → closed, retries and backoff included. */
  totalMs?: number;
  worker?: string;
}

export interface AlertAudit {
  eventId: number;
  at: string;
  notification?: AlertNotification;
  /** Client that sent it (Temporal identity of the receiver or CLI). */
  sender: string;
}

export interface DecisionAudit {
  eventId: number;
  at: string;
  update: string;
  updateId: string;
  /** Arguments as requested: identity, channel, comment, decision. */
  request: Record<string, unknown>;
  /** What the workflow answered (the recorded decision), when completed. */
  response?: unknown;
  completedAt?: string;
  error?: FailureSummary;
  sender: string;
}

export interface TimerAudit {
  timerId: string;
  startedEventId: number;
  startedAt: string;
  durationMs: number;
  purpose: string;
  end?: 'fired' | 'canceled';
  endedAt?: string;
}

export interface Outcome {
  kind: 'running' | 'completed' | 'failed' | 'terminated' | 'timed out' | 'canceled' | 'continued as new';
  at?: string;
  /** Incident status and resolution, from the result (or the failure's details). */
  state?: IncidentState;
  error?: FailureSummary;
  newRunId?: string;
  reason?: string;
}

export interface AuditRecord {
  workflowId: string;
  incidentId: string;
  runId?: string;
  continuedFromRunId?: string;
  workflowType: string;
  taskQueue: string;
  runbook: { name: string; description?: string; source: string; hash: string; steps: number };
  targetKey: string;
  dryRun: boolean;
  triggeredBy?: string;
  startedAt: string;
  closedAt?: string;
  events: number;
  entries: AuditEntry[];
  alerts: AlertAudit[];
  activities: ActivityAudit[];
  decisions: DecisionAudit[];
  timers: TimerAudit[];
  input?: IncidentInput;
  /** Search attributes as last upserted (ReboundStatus, ReboundPhase, ...). */
  searchAttributes: Record<string, unknown>;
  outcome: Outcome;
}

const MESSAGE_ACTIVITIES = new Set(['notify', 'slackIncidentMessage']);
/** The guards before a mutating step: the kill switch and breaker, the budget, leaving the active list. */
const GUARD_ACTIVITIES = new Set(['safetyAdmit', 'budgetConsume', 'budgetRefund', 'safetyLeave']);

/** One line an auditor reads for a guard activity: what was asked and what the guard answered. */
export function describeGuard(a: ActivityAudit): string {
  const input = isObject(a.input) ? a.input : {};
  const result = isObject(a.result) ? a.result : {};
  if (a.outcome !== 'completed') return `${a.activityType} ${a.outcome ?? 'running'}`;
  switch (a.activityType) {
    case 'safetyAdmit': {
      const resources = Array.isArray(input.resources) ? input.resources.join(', ') : '?';
      const decision = typeof result.decision === 'string' ? result.decision : '?';
      const verdict =
        decision === 'act'
          ? 'cleared to act'
          : decision === 'paused'
            ? 'paused: record only'
            : 'held back by the breaker';
      return `guards before acting on ${resources}: ${verdict}${typeof result.reason === 'string' ? ` (${result.reason})` : ''}`;
    }
    case 'budgetConsume': {
      const resource = typeof input.resource === 'string' ? input.resource : '?';
      if (result.allowed === true)
        return `budget for ${resource}: action counted, ${String(result.remaining)} left in the window`;
      if (result.reason === 'backoff')
        return `budget for ${resource}: backing off until ${String(result.retryAt)}`;
      return `budget for ${resource}: used up (${String(result.used)} of ${String(result.max)}); next allowed at ${String(result.nextAt)}`;
    }
    case 'budgetRefund': {
      const resource = typeof input.resource === 'string' ? input.resource : '?';
      return result.refunded === true
        ? `budget for ${resource}: the action counted for ${String(input.stepId)} taken back (it did not act)`
        : `budget for ${resource}: nothing to take back for ${String(input.stepId)}`;
    }
    default:
      return 'left the list of active remediations';
  }
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ''}`;
}

export function oneLine(value: unknown, max = 300): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** What a notification or slack message activity said, in one line. */
export function describeMessage(a: ActivityAudit): string {
  const input = isObject(a.input) ? a.input : {};
  if (a.activityType === 'slackIncidentMessage') {
    const channel = typeof input.channel === 'string' ? input.channel : '?';
    const thread = typeof input.threadText === 'string' ? input.threadText : undefined;
    const status = isObject(input.state) && typeof input.state.status === 'string' ? input.state.status : '?';
    return thread
      ? `Slack ${channel}: incident message (status ${status}) and thread reply "${thread}"`
      : `Slack ${channel}: incident message ${input.ts ? 'updated' : 'posted'} (status ${status})`;
  }
  const params = isObject(input.params) ? input.params : {};
  const channel = typeof params.channel === 'string' ? params.channel : '?';
  const to =
    params.to === undefined
      ? ''
      : ` to ${Array.isArray(params.to) ? params.to.join(', ') : oneLine(params.to)}`;
  const subject = typeof params.subject === 'string' ? ` "${params.subject}"` : '';
  return `${channel}${to}${subject}`;
}

function outcomeVerb(a: ActivityAudit): string {
  switch (a.outcome) {
    case 'completed':
      return 'succeeded';
    case 'failed':
      return 'failed';
    case 'timed out':
      return 'timed out';
    case 'canceled':
      return 'was canceled';
    default:
      return 'is still running';
  }
}

/** Long message bodies are shown whole under "Messages sent"; in a params line they would only be cut off. */
function shortenText(params: unknown): unknown {
  if (!isObject(params) || typeof params.text !== 'string' || params.text.length <= 120) return params;
  const lines = params.text.split('\n').length;
  return { ...params, text: `<${lines} lines, shown under Messages sent>` };
}

export function activityLines(a: ActivityAudit): string[] {
  const lines: string[] = [];
  const max = a.maximumAttempts ? ` of ${a.maximumAttempts}` : '';
  lines.push(
    `${a.activityType} (activity ${a.activityId}) ${outcomeVerb(a)} on attempt ${a.attempt}${max}` +
      (a.attemptMs !== undefined ? ` in ${formatMs(a.attemptMs)}` : '') +
      (a.totalMs !== undefined && a.attempt > 1 ? `, ${formatMs(a.totalMs)} with retries` : ''),
  );
  if (a.attempt > 2) lines.push(`attempts 1-${a.attempt - 2} failed (Temporal keeps only the last failure)`);
  if (a.previousFailure)
    lines.push(
      `attempt ${a.previousFailure.attempt} failed: ${a.previousFailure.error.type}: ${a.previousFailure.error.message}`,
    );
  if (a.error) lines.push(`error: ${a.error.type}: ${a.error.message}`);
  if (a.params !== undefined) lines.push(`params: ${oneLine(shortenText(a.params))}`);
  if (a.result !== undefined)
    lines.push(
      ...(definitionOfActivity(a.activityType)?.auditLines?.(a.result) ?? [`output: ${oneLine(a.result)}`]),
    );
  return lines;
}

function decisionText(d: DecisionAudit): string {
  const r = d.request;
  const who = typeof r.identity === 'string' ? r.identity : '?';
  const channel = typeof r.channel === 'string' ? r.channel : '?';
  const comment = typeof r.comment === 'string' && r.comment ? `: "${r.comment}"` : '';
  if (d.update === 'decide') {
    const response = isObject(d.response) ? d.response : {};
    const step =
      typeof response.stepId === 'string' ? response.stepId : typeof r.stepId === 'string' ? r.stepId : '?';
    const verb = r.decision === 'reject' ? 'rejected' : 'approved';
    return `${who} ${verb} step ${step} via ${channel}${comment}`;
  }
  if (d.update === 'close') return `${who} closed the incident via ${channel}${comment}`;
  return `update ${d.update} by ${who}`;
}

/**
 * Builds the audit record. The history must be one run's full history, starting with
 * WorkflowExecutionStarted (as `rebound history export` and `temporal workflow show` write it).
 */
export function buildAudit(history: History, workflowIdHint?: string): AuditRecord {
  const events = history.events ?? [];
  const first = events[0];
  const started = first?.workflowExecutionStartedEventAttributes;
  if (!first || !started) throw new Error('the history does not start with WorkflowExecutionStarted');
  const input = decodePayloads(started.input)[0] as IncidentInput | undefined;
  const snapshot = input?.snapshot;
  const runbookName = snapshot?.runbook.name ?? '?';
  const record: AuditRecord = {
    workflowId: workflowIdHint ?? input?.incidentId ?? '?',
    incidentId: input?.incidentId ?? workflowIdHint ?? '?',
    ...(started.originalExecutionRunId ? { runId: started.originalExecutionRunId } : {}),
    ...(started.continuedExecutionRunId ? { continuedFromRunId: started.continuedExecutionRunId } : {}),
    workflowType: started.workflowType?.name ?? '?',
    taskQueue: started.taskQueue?.name ?? '?',
    runbook: {
      name: runbookName,
      ...(snapshot?.runbook.description ? { description: snapshot.runbook.description } : {}),
      source: snapshot?.source ?? '?',
      hash: snapshot?.hash ?? '?',
      steps: snapshot?.runbook.steps.length ?? 0,
    },
    targetKey: input?.targetKey ?? '?',
    dryRun: input?.dryRun ?? false,
    ...(input?.triggeredBy ? { triggeredBy: input.triggeredBy } : {}),
    startedAt: isoTime(eventTimeMs(first)),
    events: events.length,
    entries: [],
    alerts: [],
    activities: [],
    decisions: [],
    timers: [],
    ...(input ? { input } : {}),
    searchAttributes: {},
    outcome: { kind: 'running' },
  };

  const entry = (
    event: HistoryEvent,
    kind: AuditEntry['kind'],
    text: string,
    detail: string[] = [],
  ): void => {
    record.entries.push({ eventId: num(event.eventId), at: isoTime(eventTimeMs(event)), kind, text, detail });
  };
  const byScheduledId = new Map<number, ActivityAudit>();
  const timersById = new Map<string, TimerAudit>();
  const decisionsByUpdateId = new Map<string, DecisionAudit>();
  const searchAttributes = record.searchAttributes;

  const resume = input?.resume;
  entry(
    first,
    'start',
    resume
      ? `incident continued as a new run (from run ${started.continuedExecutionRunId ?? '?'}), at step ${resume.cursor + 1} of ${record.runbook.steps} (${resume.stage})`
      : `incident started: runbook ${runbookName} (${record.runbook.source}, sha256 ${record.runbook.hash}) for target ${record.targetKey}${record.dryRun ? ', dry run' : ''}`,
    [
      ...(input?.triggeredBy ? [`triggered by ${input.triggeredBy}`] : []),
      `started by ${started.identity || '?'} on task queue ${record.taskQueue}`,
    ],
  );

  for (const event of events) {
    const id = num(event.eventId);
    const at = isoTime(eventTimeMs(event));
    const signaled = event.workflowExecutionSignaledEventAttributes;
    if (signaled) {
      const args = decodePayloads(signaled.input);
      if (signaled.signalName === 'alert' && isObject(args[0]) && isObject(args[0].alert)) {
        const n = args[0] as unknown as AlertNotification;
        record.alerts.push({ eventId: id, at, notification: n, sender: signaled.identity ?? '?' });
        const count = record.alerts.length;
        const where = [n.receiver ? `receiver ${n.receiver}` : '', n.groupKey ? `group ${n.groupKey}` : '']
          .filter(Boolean)
          .join(', ');
        const detail = [
          `received ${n.receivedAt}${where ? ` (${where})` : ''}; alert started ${n.alert.startsAt}, fingerprint ${n.alert.fingerprint}`,
        ];
        const annotations = Object.entries(n.alert.annotations ?? {});
        if (annotations.length > 0)
          detail.push(`annotations: ${annotations.map(([k, v]) => `${k}=${v}`).join(', ')}`);
        entry(
          event,
          'alert',
          count === 1 && !resume
            ? `alert from ${n.source}: ${describeAlert(n)}`
            : `notification #${count} from ${n.source}: ${describeAlert(n)}`,
          detail,
        );
      } else {
        record.alerts.push({ eventId: id, at, sender: signaled.identity ?? '?' });
        entry(event, 'signal', `signal ${signaled.signalName ?? '?'} from ${signaled.identity || '?'}`, [
          ...(args.length > 0 ? [`payload: ${oneLine(args)}`] : []),
        ]);
      }
      continue;
    }

    const upsert = event.upsertWorkflowSearchAttributesEventAttributes;
    if (upsert) {
      const changes: string[] = [];
      // Protobuf maps have no order; sort so the same history always reads the same.
      const fields = Object.entries(upsert.searchAttributes?.indexedFields ?? {}).sort(([a], [b]) =>
        a.localeCompare(b),
      );
      for (const [key, payload] of fields) {
        const value = decodePayloads({ payloads: [payload] })[0];
        if (searchAttributes[key] !== value && (key === 'ReboundPhase' || key === 'ReboundStatus')) {
          changes.push(`${key === 'ReboundPhase' ? 'phase' : 'status'} ${oneLine(value)}`);
        }
        searchAttributes[key] = value;
      }
      if (changes.length > 0) entry(event, 'status', changes.join(', '));
      continue;
    }

    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const activityInput = decodePayloads(scheduled.input)[0];
      const type = scheduled.activityType?.name ?? '?';
      const ctx = isObject(activityInput) && isObject(activityInput.ctx) ? activityInput.ctx : undefined;
      const max = num(scheduled.retryPolicy?.maximumAttempts);
      const activity: ActivityAudit = {
        activityId: scheduled.activityId ?? '?',
        activityType: type,
        ...(typeof ctx?.stepId === 'string' ? { stepId: ctx.stepId } : {}),
        purpose: GUARD_ACTIVITIES.has(type)
          ? 'guard'
          : MESSAGE_ACTIVITIES.has(type) &&
              !(typeof ctx?.stepId === 'string' && isRunbookStep(input, ctx.stepId))
            ? 'message'
            : 'step',
        scheduledEventId: id,
        scheduledAt: at,
        attempt: 0,
        ...(max > 0 ? { maximumAttempts: max } : {}),
        outcome: 'scheduled',
        input: activityInput,
        ...(isObject(activityInput) && 'params' in activityInput ? { params: activityInput.params } : {}),
      };
      byScheduledId.set(id, activity);
      record.activities.push(activity);
      continue;
    }
    const activityStarted = event.activityTaskStartedEventAttributes;
    if (activityStarted) {
      const a = byScheduledId.get(num(activityStarted.scheduledEventId));
      if (a) {
        a.startedAt = at;
        a.attempt = activityStarted.attempt ?? 1;
        a.outcome = 'running';
        a.worker = activityStarted.identity ?? undefined;
        const previous = summariseFailure(activityStarted.lastFailure);
        if (previous && a.attempt > 1) a.previousFailure = { attempt: a.attempt - 1, error: previous };
      }
      continue;
    }
    const closed =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes ??
      event.activityTaskCanceledEventAttributes;
    if (closed) {
      const a = byScheduledId.get(num(closed.scheduledEventId));
      if (!a) continue;
      a.closedAt = at;
      if (a.startedAt) a.attemptMs = Date.parse(at) - Date.parse(a.startedAt);
      a.totalMs = Date.parse(at) - Date.parse(a.scheduledAt);
      if (event.activityTaskCompletedEventAttributes) {
        a.outcome = 'completed';
        a.result = decodePayloads(event.activityTaskCompletedEventAttributes.result)[0];
      } else if (event.activityTaskFailedEventAttributes) {
        a.outcome = 'failed';
        a.error = summariseFailure(event.activityTaskFailedEventAttributes.failure);
      } else if (event.activityTaskTimedOutEventAttributes) {
        a.outcome = 'timed out';
        a.error = summariseFailure(event.activityTaskTimedOutEventAttributes.failure);
      } else {
        a.outcome = 'canceled';
      }
      if (a.purpose === 'message') {
        entry(event, 'message', `${describeMessage(a)}: ${outcomeVerb(a)}`, activityLines(a).slice(1));
      } else if (a.purpose === 'guard') {
        entry(event, 'guard', describeGuard(a), a.error ? activityLines(a).slice(1) : []);
      } else {
        entry(
          event,
          'step',
          `step ${a.stepId ?? '?'}: ${a.activityType} ${outcomeVerb(a)}`,
          activityLines(a),
        );
      }
      continue;
    }

    // Per-target locks are child workflows named after the target.
    const childStarted = event.childWorkflowExecutionStartedEventAttributes;
    if (childStarted) {
      entry(
        event,
        'guard',
        `lock taken: ${lockName(childStarted.workflowExecution?.workflowId, input?.safetyScope)}`,
        [],
      );
      continue;
    }
    const childFailed = event.startChildWorkflowExecutionFailedEventAttributes;
    if (childFailed) {
      entry(
        event,
        'guard',
        `lock busy: ${lockName(childFailed.workflowId, input?.safetyScope)} is held by another incident`,
        [],
      );
      continue;
    }
    const released = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
    if (released && released.signalName === releaseLockSignal.name) {
      entry(
        event,
        'guard',
        `lock released: ${lockName(released.workflowExecution?.workflowId, input?.safetyScope)}`,
        [],
      );
      continue;
    }

    const timerStarted = event.timerStartedEventAttributes;
    if (timerStarted) {
      const timer: TimerAudit = {
        timerId: timerStarted.timerId ?? '?',
        startedEventId: id,
        startedAt: at,
        durationMs: durationToMs(timerStarted.startToFireTimeout),
        purpose: 'timer',
      };
      timersById.set(timer.timerId, timer);
      record.timers.push(timer);
      continue;
    }
    const timerEnded = event.timerFiredEventAttributes ?? event.timerCanceledEventAttributes;
    if (timerEnded) {
      const timer = timersById.get(timerEnded.timerId ?? '');
      if (timer) {
        timer.end = event.timerFiredEventAttributes ? 'fired' : 'canceled';
        timer.endedAt = at;
      }
      continue;
    }

    const accepted = event.workflowExecutionUpdateAcceptedEventAttributes;
    if (accepted) {
      const request = accepted.acceptedRequest;
      const name = request?.input?.name ?? '?';
      const args = decodePayloads(request?.input?.args);
      const decision: DecisionAudit = {
        eventId: id,
        at,
        update: name,
        updateId: request?.meta?.updateId ?? accepted.protocolInstanceId ?? '?',
        request: isObject(args[0]) ? args[0] : { args },
        sender: request?.meta?.identity ?? '?',
      };
      decisionsByUpdateId.set(decision.updateId, decision);
      record.decisions.push(decision);
      entry(event, name === 'close' ? 'close' : 'approval', decisionText(decision), [
        `update ${name} ${decision.updateId} accepted from client ${decision.sender}`,
      ]);
      continue;
    }
    const updateDone = event.workflowExecutionUpdateCompletedEventAttributes;
    if (updateDone) {
      const d = decisionsByUpdateId.get(updateDone.meta?.updateId ?? '');
      if (d) {
        d.completedAt = at;
        if (updateDone.outcome?.success) {
          d.response = decodePayloads(updateDone.outcome.success)[0];
          // The workflow's recorded decision carries the step it applied to; refresh the entry text.
          const shown = record.entries.find((e) => e.eventId === d.eventId);
          if (shown) shown.text = decisionText(d);
        } else if (updateDone.outcome?.failure) {
          d.error = summariseFailure(updateDone.outcome.failure);
          entry(event, 'approval', `update ${d.update} ${d.updateId} failed: ${d.error?.message ?? '?'}`);
        }
      }
      continue;
    }

    const completed = event.workflowExecutionCompletedEventAttributes;
    if (completed) {
      const result = decodePayloads(completed.result)[0];
      const state =
        isObject(result) && typeof result.status === 'string'
          ? (result as unknown as IncidentState)
          : undefined;
      record.outcome = { kind: 'completed', at, ...(state ? { state } : {}) };
      record.closedAt = at;
      entry(
        event,
        'outcome',
        state ? `incident ${state.status}: ${state.resolution ?? ''}` : `completed: ${oneLine(result)}`,
      );
      continue;
    }
    const failed = event.workflowExecutionFailedEventAttributes;
    if (failed) {
      const error = summariseFailure(failed.failure);
      const details = error?.details?.[0];
      const state =
        isObject(details) && typeof details.status === 'string'
          ? (details as unknown as IncidentState)
          : undefined;
      record.outcome = {
        kind: 'failed',
        at,
        ...(error ? { error: { type: error.type, message: error.message } } : {}),
        ...(state ? { state } : {}),
      };
      record.closedAt = at;
      entry(
        event,
        'outcome',
        `incident failed: ${error?.message ?? '?'}`,
        error ? [`error type ${error.type}`] : [],
      );
      continue;
    }
    const terminated = event.workflowExecutionTerminatedEventAttributes;
    if (terminated) {
      record.outcome = { kind: 'terminated', at, reason: terminated.reason ?? '' };
      record.closedAt = at;
      entry(
        event,
        'outcome',
        `terminated by ${terminated.identity || '?'}${terminated.reason ? `: ${terminated.reason}` : ''}`,
      );
      continue;
    }
    if (event.workflowExecutionTimedOutEventAttributes) {
      record.outcome = { kind: 'timed out', at };
      record.closedAt = at;
      entry(event, 'outcome', 'the workflow execution timed out');
      continue;
    }
    if (event.workflowExecutionCanceledEventAttributes) {
      record.outcome = { kind: 'canceled', at };
      record.closedAt = at;
      entry(event, 'outcome', 'the workflow execution was canceled');
      continue;
    }
    const can = event.workflowExecutionContinuedAsNewEventAttributes;
    if (can) {
      record.outcome = { kind: 'continued as new', at, newRunId: can.newExecutionRunId ?? '?' };
      record.closedAt = at;
      entry(
        event,
        'outcome',
        `continued as new run ${can.newExecutionRunId ?? '?'} (history reached ${events.length} events)`,
      );
      continue;
    }
    const taskFailed = event.workflowTaskFailedEventAttributes;
    if (taskFailed) {
      entry(event, 'status', `workflow task failed: ${summariseFailure(taskFailed.failure)?.message ?? '?'}`);
    }
  }

  labelTimers(record);
  for (const timer of record.timers) {
    const text = `${timer.purpose}: timer ${timer.timerId} for ${formatMs(timer.durationMs)}`;
    const end =
      timer.end && timer.endedAt
        ? `${timer.end} after ${formatMs(Date.parse(timer.endedAt) - Date.parse(timer.startedAt))}`
        : 'still running';
    record.entries.push({
      eventId: timer.startedEventId,
      at: timer.startedAt,
      kind: 'timer',
      text: `${text}, ${end}`,
      detail: [],
    });
  }
  record.entries.sort((a, b) => a.eventId - b.eventId);
  return record;
}

/** lock/<scope>/<resource> -> <resource>, as the incident's guard scope (input.safetyScope, default "default") named it. */
function lockName(workflowId: string | null | undefined, scope: string | undefined): string {
  return lockResource(workflowId ?? '?', scope ?? 'default');
}

function isRunbookStep(input: IncidentInput | undefined, stepId: string): boolean {
  return input?.snapshot.runbook.steps.some((s) => s.id === stepId) ?? false;
}

/**
 * Says what each timer waited for. The history only has ids and durations; the interpreter's own
 * step records (in the result) tell which step was running then, and the runbook's holdOpen names
 * the wait for the alert to resolve.
 */
function labelTimers(record: AuditRecord): void {
  const state = record.outcome.state;
  const holdMs = record.input ? parseDuration(record.input.snapshot.runbook.holdOpen) : undefined;
  for (const timer of record.timers) {
    const t = Date.parse(timer.startedAt);
    const step = state?.steps.find((s) => {
      if (!s.startedAt || (s.type !== 'approval' && s.type !== 'sleep')) return false;
      // Both are workflow-task times: the timer is created in the task that started the step and
      // ends no later than the task that finished it.
      const from = Date.parse(s.startedAt);
      const to = s.finishedAt ? Date.parse(s.finishedAt) : Number.POSITIVE_INFINITY;
      return t >= from && t <= to;
    });
    if (step)
      timer.purpose =
        step.type === 'approval' ? `approval wait for step ${step.id}` : `sleep step ${step.id}`;
    else if (holdMs !== undefined && timer.durationMs === holdMs)
      timer.purpose = 'hold open: waiting for the alert to resolve';
    else if (timer.durationMs === ESCALATED_HOLD_WAIT_MS)
      timer.purpose = 'escalated: waiting for the alert to resolve or a close';
    else if (timer.durationMs === FIRST_NOTIFICATION_WAIT_MS && timer.startedEventId < 10)
      timer.purpose = 'waiting for the first alert';
  }
}
