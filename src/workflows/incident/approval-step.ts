// An `approval` step: it waits for people to decide (through the decide update), reminds them as
// the runbook says, and ends approved, rejected or timed out. The rules for who may decide are in
// approval-rules.ts; this module applies them to the running incident.
import { condition } from '@temporalio/workflow';
import { durationMs, formatDuration } from '../../runbook-lang/duration';
import type { Step } from '../../runbook-lang/types';
import { nowIso, nowMs } from '../clock';
import type { ApprovalDecision, RecordedDecision, StepRecord } from '../contract';
import { approvalSpec, refusal } from './approval-rules';
import { ApprovalRejected, ApprovalTimedOut } from './failures';
import { remind, slack } from './messages';
import type { RunningIncident } from './state';

/** The decide update's validator: throws why a decision is refused, before it reaches the history. */
export function checkDecision(run: RunningIncident, decision: ApprovalDecision & { stepId?: string }): void {
  const why = refusal(
    {
      pending: run.state.pendingApproval,
      spec: run.approvalInProgress,
      decisions: run.state.decisions,
      triggeredBy: run.input.triggeredBy,
    },
    decision,
  );
  if (why) throw new Error(why);
}

/** The decide update's handler: records an accepted decision once (a retried request gets the first answer). */
export function recordDecision(run: RunningIncident, decision: ApprovalDecision): RecordedDecision {
  const at = nowIso();
  const state = run.state;
  const pending = state.pendingApproval as NonNullable<typeof state.pendingApproval>;
  const earlier = state.decisions.find(
    (d) =>
      d.stepId === pending.stepId &&
      d.identity === decision.identity &&
      d.requestId === decision.requestId &&
      d.at >= pending.since,
  );
  if (earlier) return earlier;
  const recorded: RecordedDecision = {
    stepId: pending.stepId,
    decision: decision.decision,
    identity: decision.identity,
    channel: decision.channel,
    ...(decision.comment ? { comment: decision.comment } : {}),
    ...(decision.requestId ? { requestId: decision.requestId } : {}),
    at,
  };
  state.decisions.push(recorded);
  if (decision.decision === 'approve') pending.approvedBy.push(decision.identity);
  run.note(
    'approval',
    `${decision.identity} ${decision.decision === 'approve' ? 'approved' : 'rejected'} step ${pending.stepId} via ${decision.channel}${decision.comment ? `: ${decision.comment}` : ''}`,
  );
  return recorded;
}

/**
 * Waits for the approval an approval step asks for. Returns the step's output; throws
 * ApprovalRejected, or ApprovalTimedOut unless the runbook says to proceed on timeout.
 */
export async function awaitApproval(
  run: RunningIncident,
  step: Step,
  rec: StepRecord,
  params: Record<string, unknown>,
): Promise<unknown> {
  const state = run.state;
  const spec = approvalSpec(params, step.id);
  const timeoutMs = durationMs(spec.timeout);
  const since = nowMs();
  if (run.input.dryRun) {
    rec.note = `dry run: would wait up to ${formatDuration(timeoutMs)} for approval by ${[...spec.approvers, ...spec.groups.map((g) => `group ${g}`)].join(', ')}`;
    return { dryRun: true, wouldDo: rec.note };
  }
  run.approvalInProgress = spec;
  state.pendingApproval = {
    stepId: step.id,
    since: new Date(since).toISOString(),
    deadline: new Date(since + timeoutMs).toISOString(),
    approvers: [...spec.approvers, ...spec.groups.map((g) => `group:${g}`)],
    minApprovers: spec.minApprovers,
    approvedBy: [],
    prompt: spec.prompt,
  };
  rec.status = 'waiting';
  run.note(
    'approval',
    `waiting up to ${formatDuration(timeoutMs)} for approval of ${step.id}: ${spec.prompt}`,
  );
  await slack(
    run,
    `:raised_hand: approval needed for ${step.id}: ${spec.prompt}`,
    `${step.id}#${run.visits[step.id]}:approval`,
  );
  const decided = (): boolean => {
    const pending = state.pendingApproval;
    if (!pending) return true;
    return (
      pending.approvedBy.length >= pending.minApprovers ||
      state.decisions.some((d) => d.stepId === step.id && d.decision === 'reject' && d.at >= pending.since)
    );
  };
  const reminders = [...spec.reminders].sort((a, b) => durationMs(a.after) - durationMs(b.after));
  try {
    for (;;) {
      const elapsed = nowMs() - since;
      const next = reminders[0];
      const nextAt = next ? Math.min(durationMs(next.after), timeoutMs) : timeoutMs;
      if (await condition(decided, Math.max(1, nextAt - elapsed))) break;
      if (next && durationMs(next.after) < timeoutMs) {
        reminders.shift();
        await remind(run, step, spec, next);
        continue;
      }
      throw new ApprovalTimedOut(step.id, formatDuration(timeoutMs), spec.onTimeout);
    }
  } catch (error) {
    if (error instanceof ApprovalTimedOut) {
      if (spec.onTimeout === 'proceed') {
        run.note(
          'approval',
          `no decision on ${step.id} within ${formatDuration(timeoutMs)}: proceeding as the runbook says`,
        );
        return { approved: false, timedOut: true, proceeded: true };
      }
    }
    throw error;
  } finally {
    state.pendingApproval = undefined;
    run.approvalInProgress = undefined;
  }
  const mine = state.decisions.filter((d) => d.stepId === step.id && d.at >= new Date(since).toISOString());
  const rejection = mine.find((d) => d.decision === 'reject');
  if (rejection) throw new ApprovalRejected(step.id, rejection.identity, rejection.comment);
  return {
    approved: true,
    approvedBy: mine.filter((d) => d.decision === 'approve').map((d) => d.identity),
  };
}
