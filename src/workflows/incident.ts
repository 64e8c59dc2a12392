// The incident workflow: a small deterministic interpreter over a runbook's steps.
//
// detect → assess → remediate → validate run in order; `escalate` steps run only when the incident
// escalates (a failing step, a rejected or timed-out approval, an `escalate` step, or an alert still
// firing after the runbook finished). An incident stays open while its alert fires, so repeats
// join it instead of starting a second remediation.
import {
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  allHandlersFinished,
  ParentClosePolicy,
  condition,
  continueAsNew,
  patched,
  startChild,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ReboundActivities, StepContext } from '../activities/types';
import { ACTIVITY_FOR_STEP } from './activity-names';
import { durationMs, formatDuration } from '../runbook-lang/duration';
import {
  ExpressionError,
  evaluateCondition,
  renderTemplates,
  renderVariables,
} from '../runbook-lang/expressions';
import type { ExpressionScope } from '../runbook-lang/scope';
import {
  ACTIVITY_STEP_TYPES,
  MUTATING_STEP_TYPES,
  defaultOnFailure,
  type ActivityStepType,
  type OnFailure,
  type Phase,
  type Runbook,
  type Step,
} from '../runbook-lang/types';
import { dockerTaskQueue } from '../task-queues';
import { approvalSpec, refusal, type ApprovalSpec } from './approval';
import { targetLock } from './guards';
import { CHECK_STEP_TYPES, mutationTargets, referencedSteps } from './mutation-targets';
import { lockWorkflowId, releaseLockSignal } from './safety-contract';
import { nowIso, nowMs } from './clock';
import {
  NO_ALERT,
  alertSignal,
  closeUpdate,
  decideUpdate,
  stateQuery,
  type AlertNotification,
  type ApprovalDecision,
  type CloseRequest,
  type IncidentInput,
  type IncidentState,
  type IncidentStatus,
  type RecordedDecision,
  type ResumePoint,
  type StepRecord,
} from './contract';
import {
  SA_ALERTNAME,
  SA_DRY_RUN,
  SA_PHASE,
  SA_RUNBOOK,
  SA_SEVERITY,
  SA_STATUS,
  SA_TARGET,
} from './search-attributes';

/** Histories end at 51,200 events; continue well before, at a step boundary. */
const CONTINUE_AS_NEW_AT_EVENTS = 10_000;
/** A goto loop that revisits one step this often is a runbook bug, not a recovery. */
const MAX_STEP_VISITS = 25;
const TIMELINE_LIMIT = 500;
/** Interpreter changes that alter commands are gated by patch ids, so older incidents still replay. */
const PATCH_SAFETY_GUARDS = 'safety-guards';
/** Budget backoff: waits are bounded, then the incident escalates. */
const PATCH_BUDGET_ROUNDS = 'budget-rounds';
/** How many times one step waits for a target's budget backoff before it escalates. */
const MAX_BUDGET_WAITS = 5;

/** Why the interpreter stops following the steps. */
class StopIncident extends Error {
  override name = 'StopIncident';
  constructor(
    readonly status: IncidentStatus,
    readonly resolution: string,
  ) {
    super(`${status}: ${resolution}`);
  }
}

/** How a mutating step may proceed after the safety guards. */
type Clearance =
  | { kind: 'act'; containers: string[] }
  | { kind: 'paused'; reason: string; containers: string[] }
  | { kind: 'outcome'; outcome: StepOutcome };

type StepOutcome =
  | { kind: 'next' }
  | { kind: 'goto'; index: number }
  | { kind: 'escalate'; reason: string }
  | { kind: 'abort'; reason: string };

export async function incident(input: IncidentInput): Promise<IncidentState> {
  const runbook = input.snapshot.runbook;
  const steps = runbook.steps;
  const escalateFrom = steps.findIndex((s) => s.phase === 'escalate');
  const mainEnd = escalateFrom === -1 ? steps.length : escalateFrom;

  const resume: ResumePoint | undefined = input.resume;
  const state: IncidentState = resume?.state ?? {
    incidentId: input.incidentId,
    runbook: runbook.name,
    runbookHash: input.snapshot.hash,
    targetKey: input.targetKey,
    dryRun: input.dryRun,
    status: 'open',
    phase: steps[0]?.phase ?? 'detect',
    alert: { ...NO_ALERT },
    alertFiring: true,
    notifications: 0,
    steps: steps.map((s) => ({ id: s.id, type: s.type, phase: s.phase, status: 'pending', attempts: 0 })),
    decisions: [],
    timeline: [],
    openedAt: nowIso(),
  };
  let cursor = resume?.cursor ?? 0;
  let stage: ResumePoint['stage'] = resume?.stage ?? 'steps';
  let escalated = resume?.escalated ?? false;
  let mutated = resume?.mutated ?? false;
  const visits: Record<string, number> = resume?.visits ?? {};
  let vars: Record<string, unknown> = resume?.vars ?? {};
  let slackTs = resume?.slackTs;
  let slackChannel = resume?.slackChannel;
  let approvalInProgress: ApprovalSpec | undefined;
  /** Locks this incident holds, by resource: child workflows Temporal ends with the incident. */
  const heldLocks = new Map<string, ChildWorkflowHandle<typeof targetLock>>();
  /** Registered with the control workflow as an active remediation. */
  let admitted = false;
  /** The breaker took this incident over: its own messages give way to the breaker's one summary. */
  let suppressMessages = false;
  // Locks, budgets and the control workflow are shared by the incidents of one deployment. The scope
  // comes from the input (not workflowInfo().taskQueue, which differs when a history is replayed).
  const safetyScope = input.safetyScope ?? 'default';
  const safety = proxyActivities<ReboundActivities>({
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
  });
  let closeRequested = false;

  const note = (kind: string, message: string): void => {
    state.timeline.push({ at: nowIso(), kind, message });
    if (state.timeline.length > TIMELINE_LIMIT)
      state.timeline.splice(0, state.timeline.length - TIMELINE_LIMIT);
  };
  const record = (id: string): StepRecord => state.steps.find((r) => r.id === id) as StepRecord;

  // --- handlers: registered first, so the signal delivered with the start is seen at once ---
  setHandler(alertSignal, (notification: AlertNotification) => {
    state.notifications += 1;
    const wasFiring = state.alertFiring;
    const first = state.notifications === 1 && !resume;
    state.alert = notification.alert;
    state.alertFiring = notification.alert.status === 'firing';
    if (first) note('alert', `opened by ${notification.source}: ${describeAlert(notification)}`);
    else if (wasFiring && !state.alertFiring)
      note('alert', `alert resolved (reported by ${notification.source})`);
    else if (!wasFiring && state.alertFiring)
      note('alert', `alert firing again (reported by ${notification.source})`);
    else
      note(
        'alert',
        `repeat notification #${state.notifications} from ${notification.source} (${notification.alert.status})`,
      );
  });
  setHandler(stateQuery, () => state);
  setHandler(
    decideUpdate,
    (decision) => {
      const at = nowIso();
      const pending = state.pendingApproval as NonNullable<IncidentState['pendingApproval']>;
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
      note(
        'approval',
        `${decision.identity} ${decision.decision === 'approve' ? 'approved' : 'rejected'} step ${pending.stepId} via ${decision.channel}${decision.comment ? `: ${decision.comment}` : ''}`,
      );
      return recorded;
    },
    {
      validator: (decision: ApprovalDecision & { stepId?: string }) => {
        const why = refusal(
          {
            pending: state.pendingApproval,
            spec: approvalInProgress,
            decisions: state.decisions,
            triggeredBy: input.triggeredBy,
          },
          decision,
        );
        if (why) throw new Error(why);
      },
    },
  );
  setHandler(
    closeUpdate,
    (request) => {
      closeRequested = true;
      state.closedBy = { ...request, at: nowIso() };
      note(
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
  if (!resume) {
    if (!(await condition(() => state.notifications > 0, '1 minute'))) {
      return finish(new StopIncident('failed', 'started without an alert notification'));
    }
    try {
      vars = renderVariables(runbook.variables, scope());
    } catch (error) {
      return fail(`runbook variables: ${errorMessage(error)}`);
    }
    publishSearchAttributes(true);
    await slack();
  }

  function scope(): ExpressionScope {
    const a = state.alert;
    return {
      alert: {
        status: a.status,
        labels: a.labels,
        annotations: a.annotations,
        startsAt: a.startsAt,
        fingerprint: a.fingerprint,
        generatorURL: a.generatorURL,
      },
      labels: a.labels,
      annotations: a.annotations,
      vars,
      steps: Object.fromEntries(
        state.steps.map((r) => [
          r.id,
          { status: r.status, output: r.output ?? null, ...(r.error ? { error: r.error } : {}) },
        ]),
      ),
      incident: {
        id: state.incidentId,
        target: state.targetKey,
        runbook: runbook.name,
        escalated,
        dryRun: input.dryRun,
        alertFiring: state.alertFiring,
      },
    };
  }

  function publishSearchAttributes(initial = false): void {
    upsertSearchAttributes([
      ...(initial
        ? [
            { key: SA_RUNBOOK, value: runbook.name },
            { key: SA_TARGET, value: state.targetKey },
            { key: SA_ALERTNAME, value: state.alert.labels.alertname ?? '' },
            { key: SA_SEVERITY, value: state.alert.labels.severity ?? '' },
            { key: SA_DRY_RUN, value: input.dryRun },
          ]
        : []),
      { key: SA_PHASE, value: state.phase },
      { key: SA_STATUS, value: state.status },
    ]);
  }

  function enterPhase(phase: Phase | 'done'): void {
    if (state.phase === phase) return;
    state.phase = phase;
    note('phase', `phase ${phase}`);
    publishSearchAttributes();
  }

  /** Keeps the Slack incident message current, when the runbook has one. Never fails the incident. */
  async function slack(threadText?: string, threadKey?: string): Promise<void> {
    const configured = runbook.notifications?.slack?.channel;
    if (!configured || suppressMessages) return;
    // Slack answers with the channel id, which updates and duplicate checks need.
    const channel = slackChannel ?? configured;
    const act = proxyActivities<ReboundActivities>({
      startToCloseTimeout: '20s',
      retry: { maximumAttempts: 5, initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s' },
    });
    try {
      const result = await act.slackIncidentMessage({
        channel,
        ts: slackTs,
        state,
        ...(threadText ? { threadText, threadKey: threadKey ?? `note-${state.timeline.length}` } : {}),
      });
      slackTs = result.ts;
      slackChannel = result.channel ?? slackChannel;
    } catch (error) {
      const failure = describeFailure(error);
      note('message', `Slack incident message not updated: ${failure.type}: ${failure.message}`);
    }
  }

  function historyTooLong(): boolean {
    const info = workflowInfo();
    return (
      info.continueAsNewSuggested ||
      info.historyLength >= (input.continueAsNewAt ?? CONTINUE_AS_NEW_AT_EVENTS)
    );
  }

  async function maybeContinueAsNew(): Promise<void> {
    const info = workflowInfo();
    // Continuing as new would end the lock children (parent close policy): not mid-remediation.
    if (!historyTooLong() || heldLocks.size > 0) return;
    await condition(allHandlersFinished);
    note('continue-as-new', `history at ${info.historyLength} events: continuing as a new run`);
    await continueAsNew<typeof incident>({
      ...input,
      resume: {
        state,
        cursor,
        stage,
        escalated,
        mutated,
        visits,
        vars,
        ...(slackTs ? { slackTs } : {}),
        ...(slackChannel ? { slackChannel } : {}),
      },
    });
  }

  /** Lets go of every lock and the active-remediation registration. */
  async function releaseGuards(): Promise<void> {
    for (const [resource, handle] of heldLocks) {
      try {
        await handle.signal(releaseLockSignal);
      } catch {
        // Already ended: released all the same.
      }
      note('lock', `released ${resource}`);
    }
    heldLocks.clear();
    if (admitted) {
      admitted = false;
      try {
        await safety.safetyLeave({ incidentId: state.incidentId, scope: safetyScope });
      } catch (error) {
        note(
          'safety',
          `could not leave the active list (the lease expires by itself): ${errorMessage(error)}`,
        );
      }
    }
  }

  function finish(stop: StopIncident): IncidentState {
    state.status = stop.status;
    state.resolution = stop.resolution;
    state.closedAt = nowIso();
    state.currentStep = undefined;
    state.pendingApproval = undefined;
    state.phase = 'done';
    note('outcome', `${stop.status}: ${stop.resolution}`);
    publishSearchAttributes();
    return state;
  }

  /** Ends the incident as failed: recorded in state and search attributes, then a non-retryable failure. */
  async function fail(reason: string): Promise<never> {
    await releaseGuards();
    finish(new StopIncident('failed', reason));
    await slack(`Incident failed: ${reason}`, 'outcome');
    throw ApplicationFailure.nonRetryable(
      `incident ${state.incidentId} failed: ${reason}`,
      'IncidentFailed',
      state,
    );
  }

  // --- running one step ---

  async function runStep(step: Step): Promise<StepOutcome> {
    const rec = record(step.id);
    visits[step.id] = (visits[step.id] ?? 0) + 1;
    rec.visits = visits[step.id];
    if ((visits[step.id] ?? 0) > MAX_STEP_VISITS) {
      return {
        kind: 'abort',
        reason: `step ${step.id} was reached ${MAX_STEP_VISITS} times: the runbook loops`,
      };
    }
    enterPhase(step.phase);
    state.currentStep = step.id;
    rec.startedAt = nowIso();
    rec.finishedAt = undefined;
    rec.error = undefined;
    rec.note = undefined;

    if (step.when !== undefined) {
      let run: boolean;
      try {
        run = evaluateCondition(step.when, scope());
      } catch (error) {
        return runbookBug(step, rec, `condition ${JSON.stringify(step.when)}: ${errorMessage(error)}`);
      }
      if (!run) {
        rec.status = 'skipped';
        rec.note = `skipped: condition ${step.when} is false`;
        rec.finishedAt = nowIso();
        note('step', `${step.id} skipped (when: ${step.when})`);
        return { kind: 'next' };
      }
    }

    let params: Record<string, unknown>;
    try {
      params = asRecord(renderTemplates(step.with, scope()));
    } catch (error) {
      return runbookBug(step, rec, `parameters: ${errorMessage(error)}`);
    }
    rec.params = params;

    const mutating = MUTATING_STEP_TYPES.includes(step.type);
    if (mutating && !state.alertFiring) {
      rec.status = 'skipped';
      rec.note = 'skipped: the alert resolved before this action';
      rec.finishedAt = nowIso();
      note('step', `${step.id} not run: alert resolved before action`);
      if (runbook.onResolvedBeforeAction === 'stop')
        throw new StopIncident('resolved', 'resolved before action');
      return { kind: 'next' };
    }

    if (step.type === 'notify' && suppressMessages) {
      rec.status = 'skipped';
      rec.note = 'skipped: the breaker sends one summary for all held-back incidents';
      rec.finishedAt = nowIso();
      return { kind: 'next' };
    }

    let clearance: Clearance = { kind: 'act', containers: [] };
    // Incidents recorded before the safety guards existed replay without them.
    if (mutating && !input.dryRun && patched(PATCH_SAFETY_GUARDS)) {
      clearance = await clearMutation(step, params, rec);
      if (clearance.kind === 'outcome') return clearance.outcome;
    }

    rec.status = 'running';
    note('step', `${step.id} (${step.type}) started`);
    try {
      switch (step.type) {
        case 'sleep':
          await sleep(durationMs(params.duration as string | number));
          rec.output = { slept: params.duration };
          break;
        case 'escalate': {
          const reason =
            typeof params.reason === 'string' && params.reason ? params.reason : `step ${step.id}`;
          rec.status = 'succeeded';
          rec.finishedAt = nowIso();
          rec.output = { reason };
          note('step', `${step.id} escalates: ${reason}`);
          return { kind: 'escalate', reason };
        }
        case 'approval':
          rec.output = await awaitApproval(step, rec, params);
          break;
        default:
          rec.output = await callActivity(step, params, rec, clearance);
          if (mutating && clearance.kind === 'act' && !input.dryRun) mutated = true;
      }
    } catch (error) {
      if (error instanceof StopIncident) throw error;
      if (error instanceof ApprovalRejected || error instanceof ApprovalTimedOut) {
        rec.status = 'failed';
        rec.error = { type: error.name, message: error.message };
        rec.finishedAt = nowIso();
        note('step', `${step.id} ${error.message}`);
        if (error instanceof ApprovalTimedOut && error.onTimeout === 'escalate')
          return { kind: 'escalate', reason: `approval for ${step.id} timed out` };
        return onFailure(step, error.message);
      }
      if (error instanceof ExpressionError) return runbookBug(step, rec, errorMessage(error));
      const failure = describeFailure(error);
      rec.status = 'failed';
      rec.error = failure;
      rec.finishedAt = nowIso();
      note('step', `${step.id} failed: ${failure.type}: ${failure.message}`);
      await slack(`:x: ${step.id} failed: ${failure.message}`, `${step.id}#${visits[step.id]}:failed`);
      if (failure.type === 'RunbookError') return runbookBug(step, rec, failure.message);
      return onFailure(step, `${step.id} failed: ${failure.message}`);
    }
    rec.status = 'succeeded';
    rec.finishedAt = nowIso();
    const report = Array.isArray(rec.output) ? (rec.output as unknown[]).find(isDryRunReport) : rec.output;
    const dry = isDryRunReport(report) ? ` (dry run: ${report.wouldDo})` : '';
    if (dry)
      rec.note = `${clearance.kind === 'paused' ? `paused (${clearance.reason}); would have done` : 'dry run'}: ${(report as { wouldDo: string }).wouldDo}`;
    note('step', `${step.id} succeeded${dry}`);
    await slack(`:white_check_mark: ${step.id} succeeded${dry}`, `${step.id}#${visits[step.id]}:succeeded`);
    return { kind: 'next' };
  }

  function runbookBug(step: Step, rec: StepRecord, message: string): StepOutcome {
    rec.status = 'failed';
    rec.error = { type: 'RunbookError', message };
    rec.finishedAt = nowIso();
    note('step', `${step.id}: runbook error: ${message}`);
    return { kind: 'abort', reason: `runbook error in step ${step.id}: ${message}` };
  }

  function onFailure(step: Step, reason: string): StepOutcome {
    const policy: OnFailure = step.onFailure ?? defaultOnFailure(step.phase);
    if (policy === 'continue') return { kind: 'next' };
    if (policy === 'abort') return { kind: 'abort', reason };
    if (policy === 'escalate') return { kind: 'escalate', reason };
    const target = steps.findIndex((s) => s.id === policy.goto);
    if (target === -1)
      return { kind: 'abort', reason: `runbook error: goto ${policy.goto} names no step (from ${step.id})` };
    // Jumping into the escalate phase is escalating: those steps are for humans.
    if (!escalated && steps[target]?.phase === 'escalate') return { kind: 'escalate', reason };
    note('step', `${step.id} failed; going to ${policy.goto}`);
    return { kind: 'goto', index: target };
  }

  async function callActivity(
    step: Step,
    params: Record<string, unknown>,
    rec: StepRecord,
    clearance: Clearance = { kind: 'act', containers: [] },
  ): Promise<unknown> {
    if (!(ACTIVITY_STEP_TYPES as readonly string[]).includes(step.type)) {
      throw ApplicationFailure.nonRetryable(`unknown step type ${step.type}`, 'RunbookError');
    }
    const name = ACTIVITY_FOR_STEP[step.type as ActivityStepType];
    const act = proxyActivities<ReboundActivities>(activityOptions(runbook, step));
    const ctx: StepContext = {
      incidentId: state.incidentId,
      runbook: runbook.name,
      stepId: step.id,
      stepStartedAt: rec.startedAt ?? nowIso(),
      dryRun: input.dryRun || clearance.kind === 'paused',
      // With the incident, these name one visit of the step on every attempt (http.call's Idempotency-Key).
      visit: visits[step.id] ?? 1,
      firstRunId: workflowInfo().firstExecutionRunId,
    };
    const fn = act[name] as (arg: { params: unknown; ctx: StepContext }) => Promise<unknown>;
    rec.attempts += 1;
    const { maxTargets: _maxTargets, ...activityParams } = params;
    // A notify step without `to` goes where the runbook's notifications go.
    if (step.type === 'notify' && activityParams.to === undefined) {
      const to =
        activityParams.channel === 'email'
          ? runbook.notifications?.email?.to
          : runbook.notifications?.slack?.channel;
      if (to !== undefined) activityParams.to = to;
    }
    // A list of containers is one action per container, each its own activity.
    if (clearance.kind !== 'outcome' && clearance.containers.length > 1) {
      const results: unknown[] = [];
      for (const container of clearance.containers)
        results.push(await fn({ params: { ...activityParams, container }, ctx }));
      return results;
    }
    const single =
      clearance.kind !== 'outcome' && clearance.containers.length === 1
        ? { container: clearance.containers[0] }
        : {};
    return fn({ params: { ...activityParams, ...single }, ctx });
  }

  /**
   * The safety guards before a mutating step: a sane target selection, a fresh check that the target
   * still needs it, the kill switch and breaker, one incident per target (lock), and the target's
   * remediation budget with its growing backoff.
   */
  async function clearMutation(
    step: Step,
    params: Record<string, unknown>,
    rec: StepRecord,
  ): Promise<Clearance> {
    const failed = (type: string, message: string): Clearance => {
      rec.status = 'failed';
      rec.error = { type, message };
      rec.finishedAt = nowIso();
      note('safety', message);
      return { kind: 'outcome', outcome: onFailure(step, message) };
    };
    const selection = mutationTargets(step, params);
    if (!selection.ok) return failed(selection.type, selection.message);

    // Re-run the checks this step's condition reads, so it acts on the target as it is now.
    const checks = referencedSteps(step.when)
      .map((id) => steps.find((s) => s.id === id))
      .filter(
        (s): s is Step =>
          s !== undefined && CHECK_STEP_TYPES.includes(s.type) && record(s.id).status === 'succeeded',
      );
    if (checks.length > 0 && step.when) {
      for (const check of checks) {
        const checkRec = record(check.id);
        checkRec.output = await callActivity(check, asRecord(renderTemplates(check.with, scope())), checkRec);
      }
      note('safety', `re-checked ${checks.map((c) => c.id).join(', ')} before ${step.id}`);
      if (!evaluateCondition(step.when, scope())) {
        rec.status = 'skipped';
        rec.note = 'skipped: the target no longer needs it (re-checked just before acting)';
        rec.finishedAt = nowIso();
        note('step', `${step.id} not run: target healthy again before action`);
        return { kind: 'outcome', outcome: { kind: 'next' } };
      }
    }

    const admission = await safety.safetyAdmit({
      incidentId: state.incidentId,
      runbook: runbook.name,
      target: state.targetKey,
      resources: selection.resources,
      scope: safetyScope,
    });
    if (admission.decision === 'paused') {
      note('safety', `${admission.reason}: ${step.id} only records what it would do`);
      return { kind: 'paused', reason: admission.reason, containers: selection.containers };
    }
    if (admission.decision === 'breaker') {
      suppressMessages = true;
      rec.status = 'skipped';
      rec.note = `not run: ${admission.reason}`;
      rec.finishedAt = nowIso();
      return {
        kind: 'outcome',
        outcome: { kind: 'escalate', reason: `automation stopped by the breaker: ${admission.reason}` },
      };
    }
    admitted = true;

    for (const resource of selection.resources) {
      if (heldLocks.has(resource)) continue;
      if (!(await acquireLock(resource, admission.lockWaitMs))) {
        rec.status = 'skipped';
        rec.note = `not run: ${resource} stayed busy with another incident for ${formatDuration(admission.lockWaitMs)}`;
        rec.finishedAt = nowIso();
        return {
          kind: 'outcome',
          outcome: { kind: 'escalate', reason: `${resource} is being remediated by another incident` },
        };
      }
    }

    for (const resource of selection.resources) {
      // Each round is a new decision by the budget (its own update id); a retried activity repeats
      // its round's question and gets that round's answer.
      for (let round = 0; ; round += 1) {
        const answer = await safety.budgetConsume({
          scope: safetyScope,
          resource,
          key: `${state.incidentId}|${workflowInfo().firstExecutionRunId}|${step.id}|${visits[step.id] ?? 1}|${resource}`,
          round,
          incidentId: state.incidentId,
          stepId: step.id,
          action: step.type,
        });
        if (answer.allowed) {
          note('safety', `budget for ${resource}: ${answer.remaining} action(s) left in the window`);
          break;
        }
        if (answer.reason === 'exhausted') {
          const reason = `remediation budget for ${resource} is used up (${answer.used} of ${answer.max} actions in the last ${formatDuration(answer.windowMs)}); the next is allowed at ${answer.nextAt}`;
          rec.status = 'skipped';
          rec.note = `not run: ${reason}`;
          rec.finishedAt = nowIso();
          return { kind: 'outcome', outcome: { kind: 'escalate', reason } };
        }
        // A bounded number of waits: a budget that keeps saying "back off" (others acting on the
        // target, clocks far apart) is a human's call, and each wait adds to the history.
        if (round >= MAX_BUDGET_WAITS && patched(PATCH_BUDGET_ROUNDS)) {
          const reason = `remediation budget for ${resource} still says to back off after ${MAX_BUDGET_WAITS} waits (${answer.used} action(s) in the window; next allowed at ${answer.retryAt})`;
          rec.status = 'skipped';
          rec.note = `not run: ${reason}`;
          rec.finishedAt = nowIso();
          return { kind: 'outcome', outcome: { kind: 'escalate', reason } };
        }
        // At least a second: clocks of different workflows may disagree a little, and a zero wait
        // would spin, growing the history, until they agree.
        const waitMs = Math.max(1000, Date.parse(answer.retryAt) - nowMs());
        rec.status = 'waiting';
        note(
          'safety',
          `backing off ${formatDuration(waitMs)} before acting on ${resource} again (${answer.used} action(s) in the window)`,
        );
        await condition(() => !state.alertFiring, waitMs);
        rec.status = 'running';
        if (!state.alertFiring) {
          rec.status = 'skipped';
          rec.note = 'skipped: the alert resolved while backing off';
          rec.finishedAt = nowIso();
          if (runbook.onResolvedBeforeAction === 'stop' && !mutated)
            throw new StopIncident('resolved', 'resolved before action');
          return { kind: 'outcome', outcome: { kind: 'next' } };
        }
      }
    }
    return { kind: 'act', containers: selection.containers };
  }

  async function acquireLock(resource: string, waitMs: number): Promise<boolean> {
    const deadline = nowMs() + waitMs;
    let delay = 500;
    let waiting = false;
    for (;;) {
      try {
        const handle = await startChild(targetLock, {
          workflowId: lockWorkflowId(safetyScope, resource),
          args: [{ resource, holder: state.incidentId }],
          parentClosePolicy: ParentClosePolicy.TERMINATE,
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        });
        heldLocks.set(resource, handle);
        note('lock', `acquired ${resource}`);
        return true;
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        if (!waiting) note('lock', `waiting for ${resource}: another incident is acting on it`);
        waiting = true;
        if (nowMs() + delay > deadline) return false;
        await sleep(delay);
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  async function awaitApproval(
    step: Step,
    rec: StepRecord,
    params: Record<string, unknown>,
  ): Promise<unknown> {
    const spec = approvalSpec(params, step.id);
    const timeoutMs = durationMs(spec.timeout);
    const since = nowMs();
    if (input.dryRun) {
      rec.note = `dry run: would wait up to ${formatDuration(timeoutMs)} for approval by ${[...spec.approvers, ...spec.groups.map((g) => `group ${g}`)].join(', ')}`;
      return { dryRun: true, wouldDo: rec.note };
    }
    approvalInProgress = spec;
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
    note('approval', `waiting up to ${formatDuration(timeoutMs)} for approval of ${step.id}: ${spec.prompt}`);
    await slack(
      `:raised_hand: approval needed for ${step.id}: ${spec.prompt}`,
      `${step.id}#${visits[step.id]}:approval`,
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
          await remind(step, spec, next);
          continue;
        }
        throw new ApprovalTimedOut(step.id, formatDuration(timeoutMs), spec.onTimeout);
      }
    } catch (error) {
      if (error instanceof ApprovalTimedOut) {
        if (spec.onTimeout === 'proceed') {
          note(
            'approval',
            `no decision on ${step.id} within ${formatDuration(timeoutMs)}: proceeding as the runbook says`,
          );
          return { approved: false, timedOut: true, proceeded: true };
        }
      }
      throw error;
    } finally {
      state.pendingApproval = undefined;
      approvalInProgress = undefined;
    }
    const mine = state.decisions.filter((d) => d.stepId === step.id && d.at >= new Date(since).toISOString());
    const rejection = mine.find((d) => d.decision === 'reject');
    if (rejection) throw new ApprovalRejected(step.id, rejection.identity, rejection.comment);
    return {
      approved: true,
      approvedBy: mine.filter((d) => d.decision === 'approve').map((d) => d.identity),
    };
  }

  async function remind(
    step: Step,
    spec: ApprovalSpec,
    reminder: ApprovalSpec['reminders'][number],
  ): Promise<void> {
    const act = proxyActivities<ReboundActivities>({
      startToCloseTimeout: '30s',
      retry: { maximumAttempts: 3, initialInterval: '5s' },
    });
    const text = `Reminder: incident ${state.incidentId} waits for approval of ${step.id} (${spec.prompt}); approvers: ${[...spec.approvers, ...spec.groups].join(', ')}`;
    try {
      await act.notify({
        params: {
          channel: reminder.channel,
          ...(reminder.to !== undefined ? { to: reminder.to } : {}),
          subject: `[rebound] approval waiting: ${runbook.name} ${state.targetKey}`,
          text,
        },
        ctx: {
          incidentId: state.incidentId,
          runbook: runbook.name,
          stepId: `${step.id}.reminder.${String(reminder.after)}`,
          stepStartedAt: nowIso(),
          dryRun: input.dryRun,
        },
      });
      note('reminder', `reminded via ${reminder.channel} after ${String(reminder.after)}`);
    } catch (error) {
      note('reminder', `reminder via ${reminder.channel} failed: ${errorMessage(error)}`);
    }
  }

  async function escalationMail(reason: string): Promise<void> {
    const to = runbook.notifications?.email?.to;
    if (!to || to.length === 0 || suppressMessages) return;
    const act = proxyActivities<ReboundActivities>({
      startToCloseTimeout: '30s',
      retry: { maximumAttempts: 5, initialInterval: '5s' },
    });
    try {
      await act.notify({
        params: {
          channel: 'email',
          to,
          subject: `[rebound] escalated: ${runbook.name} ${state.targetKey}`,
          text: `Incident ${state.incidentId} escalated: ${reason}\n\n${state.timeline.map((t) => `${t.at} ${t.kind}: ${t.message}`).join('\n')}`,
        },
        ctx: {
          incidentId: state.incidentId,
          runbook: runbook.name,
          stepId: 'escalation-mail',
          stepStartedAt: nowIso(),
          dryRun: input.dryRun,
        },
      });
      note('message', `escalation mail sent to ${to.join(', ')}`);
    } catch (error) {
      note('message', `escalation mail failed: ${errorMessage(error)}`);
    }
  }

  // --- the procedure ---
  try {
    if (stage === 'steps') {
      while (cursor < mainEnd) {
        if (!state.alertFiring && !mutated && runbook.onResolvedBeforeAction === 'stop') {
          throw new StopIncident('resolved', 'resolved before action');
        }
        await maybeContinueAsNew();
        const step = steps[cursor] as Step;
        const outcome = await runStep(step);
        if (outcome.kind === 'next') cursor += 1;
        else if (outcome.kind === 'goto') cursor = outcome.index;
        else if (outcome.kind === 'abort') return await fail(outcome.reason);
        else {
          await escalate(outcome.reason);
          break;
        }
      }
      await releaseGuards();
      if (!escalated) {
        if (input.dryRun)
          return finish(new StopIncident('resolved', 'dry run complete: nothing was changed'));
        stage = 'holding';
        const holdMs = durationMs(runbook.holdOpen);
        enterPhase('validate');
        if (state.alertFiring)
          note('hold', `waiting up to ${formatDuration(holdMs)} for the alert to resolve`);
        if (state.alertFiring && !(await condition(() => !state.alertFiring, holdMs))) {
          await escalate(
            `alert still firing ${formatDuration(holdMs)} after ${mutated ? 'remediation' : 'the runbook finished without acting'}`,
          );
        } else {
          return finish(new StopIncident('resolved', mutated ? 'remediated' : 'resolved without action'));
        }
      }
    }
    if (stage === 'escalation') {
      while (cursor < steps.length) {
        await maybeContinueAsNew();
        const step = steps[cursor] as Step;
        const outcome = await runStep(step);
        if (outcome.kind === 'goto' && outcome.index >= escalateFrom) cursor = outcome.index;
        else if (outcome.kind === 'abort') return await fail(outcome.reason);
        else cursor += 1;
      }
      stage = 'holding';
      state.currentStep = undefined;
    }
    // Escalated: stay open while the alert fires, so repeats join this incident instead of
    // starting another remediation; a human may close it.
    note('hold', 'escalated: waiting for the alert to resolve or a human to close the incident');
    for (;;) {
      await condition(() => !state.alertFiring || closeRequested || historyTooLong(), '1 hour');
      if (!state.alertFiring || closeRequested) break;
      await maybeContinueAsNew();
    }
    return finish(
      new StopIncident(
        'escalated',
        `${state.escalationReason ?? 'escalated'}; ${closeRequested ? `closed by ${state.closedBy?.identity}` : 'alert resolved'}`,
      ),
    );
  } catch (error) {
    if (error instanceof StopIncident) {
      await releaseGuards();
      const done = finish(error);
      await slack(`Incident ${error.status}: ${error.resolution}`, 'outcome');
      return done;
    }
    throw error;
  }

  async function escalate(reason: string): Promise<void> {
    escalated = true;
    state.status = 'escalated';
    state.escalationReason = reason;
    note('escalate', `escalated: ${reason}`);
    stage = 'escalation';
    cursor = escalateFrom === -1 ? steps.length : escalateFrom;
    enterPhase('escalate');
    publishSearchAttributes();
    await Promise.all([escalationMail(reason), slack(`:rotating_light: escalated: ${reason}`)]);
  }
}

class ApprovalRejected extends Error {
  override name = 'ApprovalRejected';
  constructor(stepId: string, identity: string, comment?: string) {
    super(`rejected by ${identity}${comment ? `: ${comment}` : ''} (step ${stepId})`);
  }
}

class ApprovalTimedOut extends Error {
  override name = 'ApprovalTimedOut';
  constructor(
    stepId: string,
    after: string,
    readonly onTimeout: ApprovalSpec['onTimeout'],
  ) {
    super(`approval for ${stepId} timed out after ${after} (on timeout: ${onTimeout})`);
  }
}

export function activityOptions(runbook: Runbook, step: Step): ActivityOptions {
  const retry = { ...runbook.defaults.retry, ...(step.retry ?? {}) };
  const timeoutMs = durationMs(step.timeout ?? runbook.defaults.timeout);
  const long =
    step.type === 'container.wait-healthy' ||
    step.type === 'container.failover' ||
    step.type === 'container.restart';
  // http.call heartbeats while it waits: a worker that dies mid-call is noticed within 10 s, not the step timeout.
  const heartbeatMs = long ? 30_000 : step.type === 'http.call' ? 10_000 : undefined;
  return {
    startToCloseTimeout: timeoutMs,
    ...(heartbeatMs !== undefined ? { heartbeatTimeout: Math.min(timeoutMs, heartbeatMs) } : {}),
    retry: {
      maximumAttempts: retry.maximumAttempts ?? 3,
      initialInterval: durationMs(retry.initialInterval ?? '1s'),
      backoffCoefficient: retry.backoffCoefficient ?? 2,
      maximumInterval: durationMs(retry.maximumInterval ?? '1m'),
      nonRetryableErrorTypes: retry.nonRetryableErrorTypes ?? [],
    },
    ...(step.host && step.type.startsWith('container.')
      ? { taskQueue: dockerTaskQueue(workflowInfo().taskQueue, step.host) }
      : {}),
  };
}

function describeFailure(error: unknown): { type: string; message: string } {
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

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function isDryRunReport(value: unknown): value is { dryRun: true; wouldDo: string } {
  return typeof value === 'object' && value !== null && (value as { dryRun?: unknown }).dryRun === true;
}

function describeAlert(n: AlertNotification): string {
  const name = n.alert.labels.alertname ?? 'alert';
  const labels = Object.entries(n.alert.labels)
    .filter(([k]) => k !== 'alertname')
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${name} {${labels}} ${n.alert.status}`;
}
