// How things go wrong in an incident, and what the interpreter does next: the outcome of a step,
// the errors that stop the procedure or fail an approval, a step's onFailure policy, and readable
// descriptions of Temporal's failures for the timeline.
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { defaultOnFailure, type OnFailure, type Step } from '../../runbook-lang/types';
import { nowIso } from '../clock';
import type { IncidentStatus, StepRecord } from '../contract';
import type { ApprovalSpec } from './approval-rules';
import type { RunningIncident } from './state';
import { errorMessage } from '../values';

export { errorMessage };

/** What the interpreter does after a step. */
export type StepOutcome =
  | { kind: 'next' }
  | { kind: 'goto'; index: number }
  | { kind: 'escalate'; reason: string }
  | { kind: 'abort'; reason: string };

/** Why the interpreter stops following the steps. */
export class StopIncident extends Error {
  override name = 'StopIncident';
  constructor(
    readonly status: IncidentStatus,
    readonly resolution: string,
  ) {
    super(`${status}: ${resolution}`);
  }
}

export class ApprovalRejected extends Error {
  override name = 'ApprovalRejected';
  constructor(stepId: string, identity: string, comment?: string) {
    super(`rejected by ${identity}${comment ? `: ${comment}` : ''} (step ${stepId})`);
  }
}

export class ApprovalTimedOut extends Error {
  override name = 'ApprovalTimedOut';
  constructor(
    stepId: string,
    after: string,
    readonly onTimeout: ApprovalSpec['onTimeout'],
  ) {
    super(`approval for ${stepId} timed out after ${after} (on timeout: ${onTimeout})`);
  }
}

/** A mistake in the runbook itself: the step fails and the incident aborts. */
export function runbookBug(run: RunningIncident, step: Step, rec: StepRecord, message: string): StepOutcome {
  rec.status = 'failed';
  rec.error = { type: 'RunbookError', message };
  rec.finishedAt = nowIso();
  run.note('step', `${step.id}: runbook error: ${message}`);
  return { kind: 'abort', reason: `runbook error in step ${step.id}: ${message}` };
}

/** What the step's onFailure policy (or its phase's default) says to do after it failed. */
export function onFailure(run: RunningIncident, step: Step, reason: string): StepOutcome {
  const steps = run.steps;
  const policy: OnFailure = step.onFailure ?? defaultOnFailure(step.phase);
  if (policy === 'continue') return { kind: 'next' };
  if (policy === 'abort') return { kind: 'abort', reason };
  if (policy === 'escalate') return { kind: 'escalate', reason };
  const target = steps.findIndex((s) => s.id === policy.goto);
  if (target === -1)
    return { kind: 'abort', reason: `runbook error: goto ${policy.goto} names no step (from ${step.id})` };
  // Jumping into the escalate phase is escalating: those steps are for humans.
  if (!run.escalated && steps[target]?.phase === 'escalate') return { kind: 'escalate', reason };
  run.note('step', `${step.id} failed; going to ${policy.goto}`);
  return { kind: 'goto', index: target };
}

/** The failure's type and message as a person reads them, the activity's own cause first. */
export function describeFailure(error: unknown): { type: string; message: string } {
  if (error instanceof ActivityFailure) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
    if (cause instanceof TimeoutFailure)
      return { type: 'Timeout', message: `timed out (${cause.timeoutType})` };
    return { type: cause?.name ?? 'ActivityFailure', message: cause?.message ?? error.message };
  }
  if (error instanceof ApplicationFailure) return { type: error.type ?? 'Error', message: error.message };
  return { type: error instanceof Error ? error.name : 'Error', message: errorMessage(error) };
}
