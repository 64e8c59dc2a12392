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
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Config } from './config';
import {
  closeUpdate,
  decideUpdate,
  stateQuery,
  type ApprovalDecision,
  type CloseRequest,
  type IncidentState,
  type RecordedDecision,
} from './workflows/contract';

export type ApprovalErrorKind = 'not-found' | 'forbidden' | 'conflict' | 'unavailable';

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

/** The running incident's handle and live state; a missing or closed incident is `not-found`. */
async function openIncident(
  client: Client,
  incidentId: string,
): Promise<{ state: IncidentState; description: WorkflowExecutionDescription }> {
  const handle = client.workflow.getHandle(incidentId);
  try {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING')
      throw new ApprovalError(
        'not-found',
        `no open incident ${incidentId} (it is ${description.status.name.toLowerCase()})`,
      );
    const state = await handle.query(stateQuery);
    return { state, description };
  } catch (error) {
    return explainTemporalError(error, incidentId);
  }
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
  const { state } = await openIncident(client, request.incidentId);
  const pending = state.pendingApproval;
  const stepId = request.stepId ?? pending?.stepId;

  // Already decided and no longer pending: a repeated click after the step moved on. Answer with
  // the decision the incident recorded instead of a confusing refusal.
  if (!pending || pending.stepId !== stepId) {
    const earlier = [...state.decisions]
      .reverse()
      .find(
        (d) =>
          d.stepId === stepId &&
          d.identity === identity &&
          d.decision === request.decision &&
          (request.requestId === undefined || d.requestId === request.requestId),
      );
    if (earlier) return { recorded: earlier, duplicate: true, state };
  }

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

/** Closes an escalated incident by hand. */
export async function closeIncident(
  client: Client,
  request: { incidentId: string } & CloseRequest,
): Promise<IncidentState> {
  await openIncident(client, request.incidentId);
  const handle = client.workflow.getHandle(request.incidentId);
  try {
    return await handle.executeUpdate(closeUpdate, {
      args: [
        {
          identity: request.identity,
          channel: request.channel,
          ...(request.comment ? { comment: request.comment } : {}),
        },
      ],
    });
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
