// Finding incidents (a visibility query over Rebound's typed search attributes) and reading one
// incident's state: live from its worker, or rebuilt from its history when no worker answers.
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { parseDuration } from './runbook-lang/duration';
import { buildAudit, type AuditRecord } from './audit/model';
import type { History } from './audit/history';
import {
  INCIDENT_WORKFLOW_TYPE,
  NO_ALERT,
  stateQuery,
  type IncidentState,
  type IncidentStatus,
  type StepRecord,
} from './workflows/contract';
import { SA_DRY_RUN, SA_PHASE, SA_RUNBOOK, SA_STATUS, SA_TARGET } from './workflows/search-attributes';
import { maskSecretHeaders } from './runbook-lang/secret-refs';

export const INCIDENT_STATUSES: readonly IncidentStatus[] = ['open', 'resolved', 'failed', 'escalated'];

export interface ListFilter {
  status?: IncidentStatus;
  runbook?: string;
  target?: string;
  /** Started at or after this time. */
  since?: Date;
  /** Started or closed at or after this time (exports: everything that changed since). */
  changedSince?: Date;
}

/** A string literal for a visibility query: single-quoted, with quotes and backslashes escaped. */
export function queryLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function listQuery(filter: ListFilter): string {
  const clauses = [`WorkflowType = ${queryLiteral(INCIDENT_WORKFLOW_TYPE)}`];
  if (filter.status) clauses.push(`${SA_STATUS.name} = ${queryLiteral(filter.status)}`);
  if (filter.runbook) clauses.push(`${SA_RUNBOOK.name} = ${queryLiteral(filter.runbook)}`);
  if (filter.target) clauses.push(`${SA_TARGET.name} = ${queryLiteral(filter.target)}`);
  if (filter.since) clauses.push(`StartTime >= ${queryLiteral(filter.since.toISOString())}`);
  if (filter.changedSince) {
    const t = queryLiteral(filter.changedSince.toISOString());
    clauses.push(`(StartTime >= ${t} OR CloseTime >= ${t})`);
  }
  return clauses.join(' AND ');
}

/** `24h`, `7d`, `90m` back from now, or an absolute ISO time. */
export function parseSince(value: string, now = Date.now()): Date {
  const ms = parseDuration(value);
  if (ms !== undefined && /^\s*\d/.test(value) && !/^\d{4}-\d\d-\d\d/.test(value)) return new Date(now - ms);
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new Error(
      `"${value}" is neither a duration back from now (24h, 7d) nor a time (2026-11-23T10:00:00Z)`,
    );
  return new Date(t);
}

export interface IncidentSummary {
  id: string;
  runId: string;
  runbook: string;
  target: string;
  /** Rebound's incident status (search attribute). */
  status: string;
  phase: string;
  dryRun: boolean;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, CONTINUED_AS_NEW, ... */
  execution: string;
  opened: string;
  closed?: string;
}

export function summarise(info: WorkflowExecutionInfo): IncidentSummary {
  const sa = info.typedSearchAttributes;
  return {
    id: info.workflowId,
    runId: info.runId,
    runbook: sa.get(SA_RUNBOOK) ?? '',
    target: sa.get(SA_TARGET) ?? '',
    status: sa.get(SA_STATUS) ?? '',
    phase: sa.get(SA_PHASE) ?? '',
    dryRun: sa.get(SA_DRY_RUN) ?? false,
    execution: info.status.name,
    opened: info.startTime.toISOString(),
    ...(info.closeTime ? { closed: info.closeTime.toISOString() } : {}),
  };
}

export async function listIncidents(
  client: Client,
  filter: ListFilter,
  limit = 100,
): Promise<IncidentSummary[]> {
  const out: IncidentSummary[] = [];
  for await (const info of client.workflow.list({
    query: listQuery(filter),
    pageSize: Math.min(limit, 1000),
  })) {
    out.push(summarise(info));
    if (out.length >= limit) break;
  }
  return out;
}

export type StateSource = 'query' | 'result' | 'history';

export interface ShownIncident {
  /** Where the state came from: a live query, the closed workflow's result, or rebuilt from history. */
  source: StateSource;
  execution: string;
  runId: string;
  state: IncidentState;
  /** Why the state is not live, when it is not. */
  note?: string;
}

/**
 * The incident's state. A running incident is asked (stateQuery) under a short deadline; when no
 * worker answers, or the incident is closed, the state comes from the history: the result payload
 * (the workflow's exact final state, or the state attached to its failure) when there is one,
 * otherwise rebuilt from the events. Replaying with today's workflow code would also give a state,
 * but only while the code still matches the history, which is exactly what changes between deploys.
 */
export async function showIncident(
  client: Client,
  id: string,
  options: { queryTimeoutMs?: number; runId?: string } = {},
): Promise<ShownIncident> {
  const handle = client.workflow.getHandle(id, options.runId);
  const description = await handle.describe();
  const execution = description.status.name;
  let note: string | undefined;
  if (execution === 'RUNNING') {
    const timeout = options.queryTimeoutMs ?? 3000;
    try {
      const state = await client.withDeadline(Date.now() + timeout, () => handle.query(stateQuery));
      return { source: 'query', execution, runId: description.runId, state: maskSecretHeaders(state) };
    } catch (error) {
      note = `no worker answered the state query within ${timeout} ms (${firstLine(error)}); state rebuilt from the history`;
    }
  }
  const history = await client.workflow.getHandle(id, description.runId).fetchHistory();
  const record = buildAudit(history, id);
  if (record.outcome.state) {
    return {
      source: 'result',
      execution,
      runId: description.runId,
      state: record.outcome.state,
      ...(note ? { note } : {}),
    };
  }
  return {
    source: 'history',
    execution,
    runId: description.runId,
    state: stateFromAudit(record),
    note: note ?? `${execution.toLowerCase()} without a result payload; state rebuilt from the history`,
  };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/** Rebuilds the incident state from its history alone (no worker, no result). */
export function stateFromHistory(history: History, id?: string): IncidentState {
  return stateFromAudit(buildAudit(history, id));
}

export function stateFromAudit(r: AuditRecord): IncidentState {
  const base = r.input?.resume?.state;
  const lastAlert = [...r.alerts].reverse().find((a) => a.notification)?.notification;
  const alert = lastAlert?.alert ?? base?.alert ?? { ...NO_ALERT };
  const steps: StepRecord[] = (r.input?.snapshot.runbook.steps ?? []).map((step) => {
    const earlier = base?.steps.find((s) => s.id === step.id);
    const runs = r.activities.filter((a) => a.purpose === 'step' && a.stepId === step.id);
    const last = runs[runs.length - 1];
    if (!last)
      return earlier ?? { id: step.id, type: step.type, phase: step.phase, status: 'pending', attempts: 0 };
    const status: StepRecord['status'] =
      last.outcome === 'completed'
        ? 'succeeded'
        : last.outcome === 'scheduled' || last.outcome === 'running'
          ? 'running'
          : 'failed';
    return {
      id: step.id,
      type: step.type,
      phase: step.phase,
      status,
      attempts: (earlier?.attempts ?? 0) + runs.length,
      visits: (earlier?.visits ?? 0) + runs.length,
      startedAt: last.scheduledAt,
      ...(last.closedAt ? { finishedAt: last.closedAt } : {}),
      ...(last.params !== undefined && typeof last.params === 'object' && last.params !== null
        ? { params: last.params as Record<string, unknown> }
        : {}),
      ...(last.result !== undefined ? { output: last.result } : {}),
      ...(last.error ? { error: { type: last.error.type, message: last.error.message } } : {}),
    };
  });
  const decisions = [
    ...(base?.decisions ?? []),
    ...r.decisions
      .filter((d) => d.update === 'decide' && d.response && typeof d.response === 'object')
      .map((d) => d.response as IncidentState['decisions'][number]),
  ];
  const status = (r.searchAttributes.ReboundStatus as IncidentStatus | undefined) ?? base?.status ?? 'open';
  const phase =
    (r.searchAttributes.ReboundPhase as IncidentState['phase'] | undefined) ?? base?.phase ?? 'detect';
  return {
    incidentId: r.incidentId,
    runbook: r.runbook.name,
    runbookHash: r.runbook.hash,
    targetKey: r.targetKey,
    dryRun: r.dryRun,
    status,
    phase,
    ...(r.outcome.kind !== 'running' && r.outcome.kind !== 'completed'
      ? {
          resolution: `workflow ${r.outcome.kind}${r.outcome.reason ? `: ${r.outcome.reason}` : r.outcome.error ? `: ${r.outcome.error.message}` : ''}`,
        }
      : {}),
    alert,
    alertFiring: alert.status === 'firing',
    notifications: (base?.notifications ?? 0) + r.alerts.filter((a) => a.notification).length,
    steps,
    decisions,
    timeline: [
      ...(base?.timeline ?? []),
      ...r.entries.map((e) => ({ at: e.at, kind: e.kind, message: e.text })),
    ],
    openedAt: base?.openedAt ?? r.startedAt,
    ...(r.closedAt ? { closedAt: r.closedAt } : {}),
  };
}
