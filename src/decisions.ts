// Applying a human decision to an incident, shared by the CLI, the HTTP API and Slack. The channel
// authenticates the identity; this module resolves its groups, sends the decision as a Temporal
// Update with a deterministic update id (so retries and double clicks are recorded once) and turns
// Temporal's answers into errors each channel can explain.
import { createHash } from 'node:crypto';
import {
  ServiceError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcServiceError,
  type Client,
} from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Config } from './config';
import { GRPC, grpcCode, grpcMessage } from './grpc-status';
import { showIncident } from './incident-queries';
import {
  closeUpdate,
  decideUpdate,
  stateQuery,
  type ApprovalDecision,
  type CloseRequest,
  type IncidentState,
  type RecordedDecision,
} from './workflows/contract';

export type ApprovalErrorKind = 'not-found' | 'forbidden' | 'conflict' | 'invalid' | 'unavailable';

/** Why a decision was not recorded, in words a user can act on. */
export class ApprovalError extends Error {
  constructor(
    readonly kind: ApprovalErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApprovalError';
  }
}

export interface DecisionRequest {
  incidentId: string;
  stepId?: string;
  decision: ApprovalDecision['decision'];
  identity: string;
  channel: ApprovalDecision['channel'];
  comment?: string;
  requestId?: string;
}

export interface DecisionResult {
  recorded: RecordedDecision;
  /** The same decision was already recorded earlier (a repeated click or retry). */
  duplicate: boolean;
  /** The incident's state right after the decision, for channels that show it. */
  state?: IncidentState;
}

/** Groups the identity belongs to, from approvals.groups. */
export function groupsOf(config: Config, identity: string): string[] {
  return Object.entries(config.approvals.groups)
    .filter(([, members]) => members.includes(identity))
    .map(([group]) => group)
    .sort();
}

/**
 * The update id of one decision. `visit` is when the step started waiting: a runbook that loops
 * back to the same approval step asks again, and that new question must not be answered by the
 * id Temporal remembers from the first visit.
 */
export function decisionUpdateId(parts: {
  incidentId: string;
  stepId: string;
  visit: string;
  identity: string;
  decision: string;
  requestId?: string;
}): string {
  const canonical = [
    parts.incidentId,
    parts.stepId,
    parts.visit,
    parts.identity,
    parts.decision,
    parts.requestId ?? '',
  ].join('\u0000');
  return `decide-${createHash('sha256').update(canonical).digest('hex').slice(0, 40)}`;
}

/** Whether the decision was refused because of who asked rather than when. */
function refusalKind(reason: string): ApprovalErrorKind {
  return /may not (decide|approve)|needs an identity/.test(reason) ? 'forbidden' : 'conflict';
}

function unavailable(error: unknown): ApprovalError {
  const detail = error instanceof Error ? error.message : String(error);
  return new ApprovalError('unavailable', `Temporal is unreachable: ${detail}`, { cause: error });
}

/** Maps what Temporal threw to an ApprovalError; anything unknown is rethrown as is. */
export function explainTemporalError(error: unknown, incidentId: string): never {
  if (error instanceof ApprovalError) throw error;
  if (error instanceof WorkflowNotFoundError)
    throw new ApprovalError('not-found', `no open incident ${incidentId}`, { cause: error });
  if (error instanceof WorkflowUpdateFailedError) {
    // The validator's refusal is the failure's cause; it never entered the history.
    const reason = error.cause?.message ?? error.message;
    if (/workflow execution already completed|already completed/i.test(reason))
      throw new ApprovalError('not-found', `no open incident ${incidentId}`, { cause: error });
    throw new ApprovalError(refusalKind(reason), reason, { cause: error });
  }
  if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) throw unavailable(error);
  if (grpcCode(error) === GRPC.INVALID_ARGUMENT)
    throw new ApprovalError('invalid', `Temporal refused the request: ${grpcMessage(error)}`, {
      cause: error,
    });
  if (error instanceof ServiceError || isGrpcServiceError(error)) {
    const text = error.message;
    if (/not found|already completed/i.test(text))
      throw new ApprovalError('not-found', `no open incident ${incidentId}`, { cause: error });
    throw unavailable(error);
  }
  if (error instanceof Error && /ECONNREFUSED|UNAVAILABLE|DEADLINE_EXCEEDED|connect/i.test(error.message))
    throw unavailable(error);
  throw error;
}

/**
 * The incident's state: live (a query) while it runs, its final state once closed. A missing
 * incident is `not-found`.
 */
async function incidentState(
  client: Client,
  incidentId: string,
): Promise<{ state: IncidentState; open: boolean; execution: string }> {
  const handle = client.workflow.getHandle(incidentId);
  try {
    const description = await handle.describe();
    const execution = description.status.name;
    if (execution === 'RUNNING') return { state: await handle.query(stateQuery), open: true, execution };
    // Closed: its final state is in its history (no worker needed). A retry of the decision that
    // closed it must find that decision there.
    const shown = await showIncident(client, incidentId, { runId: description.runId });
    return { state: shown.state, open: false, execution };
  } catch (error) {
    return explainTemporalError(error, incidentId);
  }
}

function notOpen(incidentId: string, execution: string): ApprovalError {
  return new ApprovalError('not-found', `no open incident ${incidentId} (it is ${execution.toLowerCase()})`);
}

/**
 * The decision this request repeats, if it is a retry of one already recorded. With a step named,
 * that is the identity's latest same decision on that step (and request id, when given). Without
 * one, "the pending step" may have moved on since the original was sent, and a retry must not
 * become a decision on the next step: the identity's latest decision through the same channel with
 * the same decision, comment and request id is the original. To decide a later step with the same
 * words, name it.
 */
function repeatedDecision(
  state: IncidentState,
  request: DecisionRequest,
  identity: string,
): RecordedDecision | undefined {
  const pending = state.pendingApproval;
  const sameVisit = (d: RecordedDecision): boolean =>
    pending !== undefined && d.stepId === pending.stepId && d.at >= pending.since;
  // The named step is waiting: this is a decision on it (a repeat within this visit has the same
  // update id, and Temporal answers it with the first result).
  if (request.stepId !== undefined && pending?.stepId === request.stepId) return undefined;
  return [...state.decisions].reverse().find((d) => {
    if (d.identity !== identity || d.decision !== request.decision) return false;
    if (request.requestId !== undefined && d.requestId !== request.requestId) return false;
    if (request.stepId !== undefined) return d.stepId === request.stepId;
    return d.channel === request.channel && (d.comment ?? '') === (request.comment ?? '') && !sameVisit(d);
  });
}

/**
 * Applies one approve/reject decision; resolves with what the incident recorded. `timeoutMs` bounds
 * every call to Temporal, so an HTTP or Slack caller gets an answer (503) instead of a hang.
 */
export async function applyDecision(
  client: Client,
  config: Config,
  request: DecisionRequest,
  options: { timeoutMs?: number } = {},
): Promise<DecisionResult> {
  if (options.timeoutMs === undefined) return decide(client, config, request);
  try {
    return await client.connection.withDeadline(Date.now() + options.timeoutMs, () =>
      decide(client, config, request),
    );
  } catch (error) {
    return explainTemporalError(error, request.incidentId);
  }
}

async function decide(client: Client, config: Config, request: DecisionRequest): Promise<DecisionResult> {
  const identity = request.identity.trim();
  if (!identity) throw new ApprovalError('forbidden', 'a decision needs an identity');
  const { state, open, execution } = await incidentState(client, request.incidentId);

  // A retry (double click, re-sent request, re-run command) after the decision moved the incident
  // on, or closed it: answer with the decision recorded the first time.
  const earlier = repeatedDecision(state, request, identity);
  if (earlier) return { recorded: earlier, duplicate: true, state };
  if (!open) throw notOpen(request.incidentId, execution);

  const pending = state.pendingApproval;
  const stepId = request.stepId ?? pending?.stepId;
  const visit = pending && pending.stepId === stepId ? pending.since : '';
  const updateId = decisionUpdateId({
    incidentId: request.incidentId,
    stepId: stepId ?? '',
    visit,
    identity,
    decision: request.decision,
    requestId: request.requestId,
  });
  const decision: ApprovalDecision & { stepId?: string } = {
    decision: request.decision,
    identity,
    channel: request.channel,
    groups: groupsOf(config, identity),
    // The update id doubles as request id, so the workflow recognises a retry even after
    // continue-as-new (where Temporal's own update-id memory does not reach).
    requestId: request.requestId ?? updateId,
    ...(request.comment ? { comment: request.comment } : {}),
    ...(stepId ? { stepId } : {}),
  };
  const handle = client.workflow.getHandle(request.incidentId);
  let recorded: RecordedDecision;
  try {
    recorded = await handle.executeUpdate(decideUpdate, { args: [decision], updateId });
  } catch (error) {
    return explainTemporalError(error, request.incidentId);
  }
  let after: IncidentState | undefined;
  try {
    after = await handle.query(stateQuery);
  } catch {
    // The decision is recorded; the fresh state is only for display.
  }
  // Recorded before this call: Temporal (same update id) or the workflow (same request id) deduplicated it.
  const duplicate = state.decisions.some(
    (d) => d.stepId === recorded.stepId && d.identity === recorded.identity && d.at === recorded.at,
  );
  return { recorded, duplicate, ...(after ? { state: after } : {}) };
}

export interface CloseResult {
  state: IncidentState;
  /** It was already closed by this identity: a retried close, answered as the first one was. */
  duplicate: boolean;
}

/** Closes an escalated incident by hand. */
export async function closeIncident(
  client: Client,
  request: { incidentId: string } & CloseRequest,
): Promise<CloseResult> {
  const { state, open, execution } = await incidentState(client, request.incidentId);
  if (!open) {
    if (state.closedBy?.identity === request.identity) return { state, duplicate: true };
    throw notOpen(request.incidentId, execution);
  }
  const handle = client.workflow.getHandle(request.incidentId);
  try {
    const closed = await handle.executeUpdate(closeUpdate, {
      args: [
        {
          identity: request.identity,
          channel: request.channel,
          ...(request.comment ? { comment: request.comment } : {}),
        },
      ],
    });
    return { state: closed, duplicate: false };
  } catch (error) {
    return explainTemporalError(error, request.incidentId);
  }
}

export interface PendingRow {
  incidentId: string;
  runbook: string;
  target: string;
  stepId: string;
  prompt: string;
  approvers: string[];
  minApprovers: number;
  approvedBy: string[];
  since: string;
  deadline: string;
}

/**
 * Every running incident that waits for an approval, oldest first. A query needs a worker, so each
 * is bounded; incidents that did not answer are counted in `unanswered` rather than hanging the list.
 */
export async function pendingApprovals(
  client: Client,
  options: { queryTimeoutMs?: number } = {},
): Promise<{ rows: PendingRow[]; unanswered: string[] }> {
  const unanswered: string[] = [];
  const ids: string[] = [];
  try {
    for await (const wf of client.workflow.list({
      query: `WorkflowType = 'incident' AND ExecutionStatus = 'Running' AND ReboundStatus IN ('open', 'escalated')`,
    }))
      ids.push(wf.workflowId);
  } catch (error) {
    if (error instanceof ServiceError || isGrpcServiceError(error)) throw unavailable(error);
    throw error;
  }
  const rows = await Promise.all(
    ids.map(async (incidentId): Promise<PendingRow | undefined> => {
      let state: IncidentState;
      try {
        state = await client.connection.withDeadline(Date.now() + (options.queryTimeoutMs ?? 5_000), () =>
          client.workflow.getHandle(incidentId).query(stateQuery),
        );
      } catch (error) {
        // Closed between the list and the query: nothing to approve. No worker answering: say so.
        if (!(error instanceof WorkflowNotFoundError)) unanswered.push(incidentId);
        return undefined;
      }
      const p = state.pendingApproval;
      if (!p) return undefined;
      return {
        incidentId,
        runbook: state.runbook,
        target: state.targetKey,
        stepId: p.stepId,
        prompt: p.prompt,
        approvers: p.approvers,
        minApprovers: p.minApprovers,
        approvedBy: p.approvedBy,
        since: p.since,
        deadline: p.deadline,
      };
    }),
  );
  return {
    rows: rows.filter((r): r is PendingRow => r !== undefined).sort((a, b) => a.since.localeCompare(b.since)),
    unanswered,
  };
}
