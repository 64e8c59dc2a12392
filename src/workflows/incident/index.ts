// The incident workflow: a small deterministic interpreter over a runbook's steps.
//
// detect → assess → remediate → validate run in order; `escalate` steps run only when the incident
// escalates (a failing step, a rejected or timed-out approval, an `escalate` step, or an alert still
// firing after the runbook finished). An incident stays open while its alert fires, so repeats
// join it instead of starting a second remediation.
//
// This file holds the handlers and the main loop. The incident's state is one RunningIncident
// (state.ts); running a step (run-step.ts), the guards before a mutating step (guards.ts),
// approvals (approval-step.ts, approval-rules.ts), messages to people (messages.ts) and failures
// (failures.ts) each have their own module.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { durationMs, formatDuration } from '../../runbook-lang/duration';
import { renderVariables } from '../../runbook-lang/expressions';
import type { Step } from '../../runbook-lang/types';
import { nowIso } from '../clock';
import {
  alertSignal,
  closeUpdate,
  decideUpdate,
  stateQuery,
  type ApprovalDecision,
  type CloseRequest,
  type IncidentInput,
  type IncidentState,
} from '../contract';
import { checkDecision, recordDecision } from './approval-step';
import { registeredCodeRunbook, runCodeProcedure } from './code-runbook';
import { StopIncident, errorMessage } from './failures';
import { releaseGuards } from './guards';
import { escalationMail, slack } from './messages';
import { runStep } from './run-step';
import { RunningIncident } from './state';
import { ESCALATED_HOLD_WAIT_MS, FIRST_NOTIFICATION_WAIT_MS } from '../timers';

export async function incident(input: IncidentInput): Promise<IncidentState> {
  const run = new RunningIncident(input);
  const { state, runbook, steps } = run;

  // --- handlers: registered first, so the signal delivered with the start is seen at once ---
  setHandler(alertSignal, (notification) => run.receiveAlert(notification));
  setHandler(stateQuery, () => state);
  setHandler(decideUpdate, (decision) => recordDecision(run, decision), {
    validator: (decision: ApprovalDecision & { stepId?: string }) => checkDecision(run, decision),
  });
  setHandler(
    closeUpdate,
    (request) => {
      run.closeRequested = true;
      state.closedBy = { ...request, at: nowIso() };
      run.note(
        'close',
        `closed by ${request.identity} via ${request.channel}${request.comment ? `: ${request.comment}` : ''}`,
      );
      return state;
    },
    {
      validator: (request: CloseRequest) => {
        if (typeof request.identity !== 'string' || !request.identity.trim())
          throw new Error('closing needs an identity');
        if (state.status !== 'escalated')
          throw new Error(`only an escalated incident can be closed by hand; this one is ${state.status}`);
      },
    },
  );

  // The first notification arrives with the start (signal-with-start); an incident started another
  // way waits briefly for it rather than acting on nothing.
  if (!run.resumed) {
    if (!(await condition(() => state.notifications > 0, FIRST_NOTIFICATION_WAIT_MS))) {
      return run.finish(new StopIncident('failed', 'started without an alert notification'));
    }
    try {
      run.vars = renderVariables(runbook.variables, run.scope());
    } catch (error) {
      return fail(`runbook variables: ${errorMessage(error)}`);
    }
    run.publishSearchAttributes(true);
    await slack(run);
  }

  /** Continues as a new run when the history grows long, at a step boundary. */
  async function maybeContinueAsNew(): Promise<void> {
    const info = workflowInfo();
    // Continuing as new would end the lock children (parent close policy): not mid-remediation.
    if (!run.historyTooLong() || run.heldLocks.size > 0) return;
    await condition(allHandlersFinished);
    run.note('continue-as-new', `history at ${info.historyLength} events: continuing as a new run`);
    await continueAsNew<typeof incident>({ ...input, resume: run.resumePoint() });
  }

  /** Ends the incident as failed: recorded in state and search attributes, then a non-retryable failure. */
  async function fail(reason: string): Promise<never> {
    await releaseGuards(run);
    run.finish(new StopIncident('failed', reason));
    await slack(run, `Incident failed: ${reason}`, 'outcome');
    throw ApplicationFailure.nonRetryable(
      `incident ${state.incidentId} failed: ${reason}`,
      'IncidentFailed',
      state,
    );
  }

  async function escalate(reason: string): Promise<void> {
    run.startEscalation(reason);
    await Promise.all([escalationMail(run, reason), slack(run, `:rotating_light: escalated: ${reason}`)]);
  }

  // A code runbook (a .ts file): its procedure is in this worker's bundle; it has no steps to walk.
  const code = input.snapshot.kind === 'code' ? registeredCodeRunbook(runbook.name) : undefined;
  if (input.snapshot.kind === 'code' && !code)
    return fail(
      `code runbook ${runbook.name} is not in this worker's bundle (its runbooks directory has no such .ts runbook)`,
    );

  // --- the procedure ---
  try {
    if (run.stage === 'steps') {
      if (code) {
        const outcome = await runCodeProcedure(run, code, 'procedure');
        if (outcome.kind === 'abort') return await fail(outcome.reason);
        if (outcome.kind === 'escalate') await escalate(outcome.reason);
      }
      while (run.cursor < run.mainEnd) {
        if (!state.alertFiring && !run.mutated && runbook.onResolvedBeforeAction === 'stop') {
          throw new StopIncident('resolved', 'resolved before action');
        }
        await maybeContinueAsNew();
        const outcome = await runStep(run, steps[run.cursor] as Step);
        if (outcome.kind === 'next') run.cursor += 1;
        else if (outcome.kind === 'goto') run.cursor = outcome.index;
        else if (outcome.kind === 'abort') return await fail(outcome.reason);
        else {
          await escalate(outcome.reason);
          break;
        }
      }
      await releaseGuards(run);
      if (!run.escalated) {
        if (input.dryRun)
          return run.finish(new StopIncident('resolved', 'dry run complete: nothing was changed'));
        run.stage = 'holding';
        const holdMs = durationMs(runbook.holdOpen);
        run.enterPhase('validate');
        if (state.alertFiring)
          run.note('hold', `waiting up to ${formatDuration(holdMs)} for the alert to resolve`);
        if (state.alertFiring && !(await condition(() => !state.alertFiring, holdMs))) {
          await escalate(
            `alert still firing ${formatDuration(holdMs)} after ${run.mutated ? 'remediation' : 'the runbook finished without acting'}`,
          );
        } else {
          return run.finish(
            new StopIncident('resolved', run.mutated ? 'remediated' : 'resolved without action'),
          );
        }
      }
    }
    if (run.stage === 'escalation') {
      if (code) {
        const outcome = await runCodeProcedure(run, code, 'escalation');
        if (outcome.kind === 'abort') return await fail(outcome.reason);
      }
      while (run.cursor < steps.length) {
        await maybeContinueAsNew();
        const outcome = await runStep(run, steps[run.cursor] as Step);
        if (outcome.kind === 'goto' && outcome.index >= run.escalateFrom) run.cursor = outcome.index;
        else if (outcome.kind === 'abort') return await fail(outcome.reason);
        else run.cursor += 1;
      }
      run.stage = 'holding';
      state.currentStep = undefined;
    }
    // Escalated: stay open while the alert fires, so repeats join this incident instead of
    // starting another remediation; a human may close it.
    run.note('hold', 'escalated: waiting for the alert to resolve or a human to close the incident');
    for (;;) {
      await condition(
        () => !state.alertFiring || run.closeRequested || run.historyTooLong(),
        ESCALATED_HOLD_WAIT_MS,
      );
      if (!state.alertFiring || run.closeRequested) break;
      await maybeContinueAsNew();
    }
    return run.finish(
      new StopIncident(
        'escalated',
        `${state.escalationReason ?? 'escalated'}; ${run.closeRequested ? `closed by ${state.closedBy?.identity}` : 'alert resolved'}`,
      ),
    );
  } catch (error) {
    if (error instanceof StopIncident) {
      await releaseGuards(run);
      const done = run.finish(error);
      await slack(run, `Incident ${error.status}: ${error.resolution}`, 'outcome');
      return done;
    }
    throw error;
  }
}
