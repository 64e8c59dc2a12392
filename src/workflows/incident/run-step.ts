// Running one step of the runbook: count the visit, evaluate `when`, render `with`, pass the guards
// when it mutates, carry it out (a timer, an escalation, an approval or an activity), record the
// result and say what the interpreter does next.
import { patched, sleep } from '@temporalio/workflow';
import { durationMs } from '../../runbook-lang/duration';
import { ExpressionError, evaluateCondition, renderTemplates } from '../../runbook-lang/expressions';
import { MUTATING_STEP_TYPES, type Step } from '../../runbook-lang/types';
import { nowIso } from '../clock';
import { awaitApproval } from './approval-step';
import {
  ApprovalRejected,
  ApprovalTimedOut,
  StopIncident,
  describeFailure,
  errorMessage,
  onFailure,
  runbookBug,
  type StepOutcome,
} from './failures';
import { passGuards, type GuardVerdict } from './guards';
import { slack } from './messages';
import type { RunningIncident } from './state';
import { asRecord, callActivity, isDryRunReport } from './step-activity';

/** A goto loop that revisits one step this often is a runbook bug, not a recovery. */
const MAX_STEP_VISITS = 25;
/** Interpreter changes that alter commands are gated by patch ids, so older incidents still replay (legacy id). */
const PATCH_GUARDS = 'safety-guards';

export async function runStep(run: RunningIncident, step: Step): Promise<StepOutcome> {
  const { state, input, runbook } = run;
  const rec = run.record(step.id);
  const visit = run.visit(step.id);
  rec.visits = visit;
  if (visit > MAX_STEP_VISITS) {
    return {
      kind: 'abort',
      reason: `step ${step.id} was reached ${MAX_STEP_VISITS} times: the runbook loops`,
    };
  }
  run.enterPhase(step.phase);
  state.currentStep = step.id;
  rec.startedAt = nowIso();
  rec.finishedAt = undefined;
  rec.error = undefined;
  rec.note = undefined;

  if (step.when !== undefined) {
    let proceed: boolean;
    try {
      proceed = evaluateCondition(step.when, run.scope());
    } catch (error) {
      return runbookBug(run, step, rec, `condition ${JSON.stringify(step.when)}: ${errorMessage(error)}`);
    }
    if (!proceed) {
      rec.status = 'skipped';
      rec.note = `skipped: condition ${step.when} is false`;
      rec.finishedAt = nowIso();
      run.note('step', `${step.id} skipped (when: ${step.when})`);
      return { kind: 'next' };
    }
  }

  let params: Record<string, unknown>;
  try {
    params = step.literal ? { ...step.with } : asRecord(renderTemplates(step.with, run.scope()));
  } catch (error) {
    return runbookBug(run, step, rec, `parameters: ${errorMessage(error)}`);
  }
  rec.params = params;

  const mutating = MUTATING_STEP_TYPES.includes(step.type);
  if (mutating && !state.alertFiring) {
    rec.status = 'skipped';
    rec.note = 'skipped: the alert resolved before this action';
    rec.finishedAt = nowIso();
    run.note('step', `${step.id} not run: alert resolved before action`);
    if (runbook.onResolvedBeforeAction === 'stop')
      throw new StopIncident('resolved', 'resolved before action');
    return { kind: 'next' };
  }

  if (step.type === 'notify' && run.suppressMessages) {
    rec.status = 'skipped';
    rec.note = 'skipped: the breaker sends one summary for all held-back incidents';
    rec.finishedAt = nowIso();
    return { kind: 'next' };
  }

  let verdict: GuardVerdict = { kind: 'act', containers: [] };
  // Incidents recorded before the guards existed replay without them.
  if (mutating && !input.dryRun && patched(PATCH_GUARDS)) {
    verdict = await passGuards(run, step, params, rec);
    if (verdict.kind === 'outcome') return verdict.outcome;
  }

  rec.status = 'running';
  run.note('step', `${step.id} (${step.type}) started`);
  try {
    switch (step.type) {
      case 'sleep':
        await sleep(durationMs(params.duration as string | number));
        rec.output = { slept: params.duration };
        break;
      case 'escalate': {
        const reason = typeof params.reason === 'string' && params.reason ? params.reason : `step ${step.id}`;
        rec.status = 'succeeded';
        rec.finishedAt = nowIso();
        rec.output = { reason };
        run.note('step', `${step.id} escalates: ${reason}`);
        return { kind: 'escalate', reason };
      }
      case 'approval':
        rec.output = await awaitApproval(run, step, rec, params);
        break;
      default:
        rec.output = await callActivity(run, step, params, rec, verdict);
        if (mutating && verdict.kind === 'act' && !input.dryRun) run.mutated = true;
    }
  } catch (error) {
    return failed(run, step, error);
  }
  rec.status = 'succeeded';
  rec.finishedAt = nowIso();
  const report = Array.isArray(rec.output) ? (rec.output as unknown[]).find(isDryRunReport) : rec.output;
  const dry = isDryRunReport(report) ? ` (dry run: ${report.wouldDo})` : '';
  if (dry)
    rec.note = `${verdict.kind === 'paused' ? `paused (${verdict.reason}); would have done` : 'dry run'}: ${(report as { wouldDo: string }).wouldDo}`;
  run.note('step', `${step.id} succeeded${dry}`);
  await slack(
    run,
    `:white_check_mark: ${step.id} succeeded${dry}`,
    `${step.id}#${run.visits[step.id]}:succeeded`,
  );
  return { kind: 'next' };
}

/** Records why a step failed and returns what its policy says to do next. */
async function failed(run: RunningIncident, step: Step, error: unknown): Promise<StepOutcome> {
  const rec = run.record(step.id);
  if (error instanceof StopIncident) throw error;
  if (error instanceof ApprovalRejected || error instanceof ApprovalTimedOut) {
    rec.status = 'failed';
    rec.error = { type: error.name, message: error.message };
    rec.finishedAt = nowIso();
    run.note('step', `${step.id} ${error.message}`);
    if (error instanceof ApprovalTimedOut && error.onTimeout === 'escalate')
      return { kind: 'escalate', reason: `approval for ${step.id} timed out` };
    return onFailure(run, step, error.message);
  }
  if (error instanceof ExpressionError) return runbookBug(run, step, rec, errorMessage(error));
  const failure = describeFailure(error);
  rec.status = 'failed';
  rec.error = failure;
  rec.finishedAt = nowIso();
  run.note('step', `${step.id} failed: ${failure.type}: ${failure.message}`);
  await slack(run, `:x: ${step.id} failed: ${failure.message}`, `${step.id}#${run.visits[step.id]}:failed`);
  if (failure.type === 'RunbookError') return runbookBug(run, step, rec, failure.message);
  return onFailure(run, step, `${step.id} failed: ${failure.message}`);
}
