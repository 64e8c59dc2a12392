// The guards a mutating step passes before it acts, and letting go of what they hold.
//
// Glossary (one word for the feature: "guards"):
//   guards         the checks between a mutating step and its action, in this order:
//     target guard   the step names a sane, not over-wide set of resources (mutation-targets.ts);
//     re-check       the checks the step's `when` reads run again, so it acts on the target as it is now;
//     switch guard   the kill switch (paused: the step only records what it would do) and the global
//                    breaker (stopped: the incident escalates, one summary replaces its messages),
//                    both held by the kill-switch workflow; passing registers the incident as active;
//     lock guard     one incident at a time acts on a resource (a lock child workflow);
//     budget guard   each resource's count of actions in a window, with a growing backoff.
//   guard workflows  the kill-switch, lock and budget workflows (guard-workflows.ts), shared by the
//                    incidents of one deployment: the guard scope (the receiver's task queue).
//   guard verdict    how a step proceeds after the guards: act, act paused (dry), or an outcome instead.
// Legacy wire names, recorded in histories and used by clients, that keep their old words:
// activity types safetyAdmit, safetyLeave, budgetConsume; workflow types control, targetLock,
// targetBudget; workflow ids rebound-control/…, lock/…, budget/…; the lock's `release` signal and
// the kill-switch workflow's updates; the patch id 'safety-guards'; IncidentInput.safetyScope; the
// timeline kind 'safety'; guard-contract.ts (imported by activities and the CLI).
import {
  CancellationScope,
  ParentClosePolicy,
  condition,
  patched,
  proxyActivities,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { AdmitInput, ConsumeInput, ReboundActivities } from '../../activities/types';
import { renderTemplates, evaluateCondition } from '../../runbook-lang/expressions';
import { formatDuration } from '../../runbook-lang/duration';
import type { Step } from '../../runbook-lang/types';
import { nowIso, nowMs } from '../clock';
import type { StepRecord } from '../contract';
import { targetLock } from '../guard-workflows';
import { CHECK_STEP_TYPES, mutationTargets, referencedSteps } from '../mutation-targets';
import { lockWorkflowId, releaseLockSignal, type AdmitAnswer, type BudgetAnswer } from '../guard-contract';
import { StopIncident, errorMessage, onFailure, type StepOutcome } from './failures';
import type { RunningIncident } from './state';
import { asRecord, callActivity } from './step-activity';

/** Budget backoff: waits are bounded, then the incident escalates. */
const PATCH_BUDGET_ROUNDS = 'budget-rounds';
/** The re-check leaves out a check whose result is fresh (FRESH_CHECK_MS). */
const PATCH_RECHECK_SKIPS_FRESH = 'recheck-skips-fresh-check';
/** The target's lock is first tried while admission is asked, not after its answer. */
const PATCH_LOCK_WITH_ADMISSION = 'lock-with-admission';
/**
 * A check step that began at most this long ago (workflow time) is not run again by the re-check.
 * The re-check exists for results that have aged: an approval, a sleep, a budget backoff, slow steps
 * in between (seconds to hours). Right after the detect step, running the same inspect again costs a
 * round trip through Temporal and the Docker host and sees the same thing. Two seconds: measured from
 * the check's start (so its own duration and retries count), it bounds how old the observation is
 * when the guards begin; the guards after the re-check (admission, lock, budget) took 0.7 s at p50
 * and up to 2.5 s at p99 on a loaded 2-core machine, so even with the re-check the action relies on
 * an observation that old. A result older than this, or from a check that took longer, is re-checked.
 */
export const FRESH_CHECK_MS = 2_000;
/**
 * One resource: the lock, then the budget, run while admission is asked (not after its answer); a
 * budget counted for a step that may not act is taken back.
 */
const PATCH_BUDGET_WITH_ADMISSION = 'budget-with-admission';
/**
 * When admission answers this long (workflow time) after the budget counted the step, the count's
 * time is moved to when the step acts: a slow admission (retries, a kill-switch backlog) must not
 * let the next incident's backoff run from a moment long before the action.
 */
const RESTAMP_AFTER_MS = 1_000;
/** How many times one step waits for a target's budget backoff before it escalates. */
const MAX_BUDGET_WAITS = 5;

/** How a mutating step proceeds after the guards. */
export type GuardVerdict =
  | { kind: 'act'; containers: string[] }
  | { kind: 'paused'; reason: string; containers: string[] }
  | { kind: 'outcome'; outcome: StepOutcome };

const guardActivities = proxyActivities<ReboundActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
});

/** Runs the guards before a mutating step, in order; the first that does not let it act decides. */
export async function passGuards(
  run: RunningIncident,
  step: Step,
  params: Record<string, unknown>,
  rec: StepRecord,
): Promise<GuardVerdict> {
  const selection = mutationTargets(step, params);
  if (!selection.ok) {
    const message = selection.message;
    rec.status = 'failed';
    rec.error = { type: selection.type, message };
    rec.finishedAt = nowIso();
    run.note('safety', message);
    return { kind: 'outcome', outcome: onFailure(run, step, message) };
  }
  const rechecked = await recheck(run, step, rec);
  if (rechecked) return rechecked;

  const only = selection.resources.length === 1 ? selection.resources[0] : undefined;
  if (only !== undefined && patched(PATCH_BUDGET_WITH_ADMISSION))
    return guardsOverlapped(run, step, rec, selection, only);

  // The lock does not depend on admission's answer, only the budget does: its first try runs
  // while admission is asked, and a lock taken for a step that may not act is let go at once.
  const firstTries = patched(PATCH_LOCK_WITH_ADMISSION)
    ? selection.resources
        .filter((resource) => !run.heldLocks.has(resource))
        .map((resource) => settle(tryLock(run, resource)))
    : [];
  const admitted = await settle(guardActivities.safetyAdmit(admitInput(run, selection.resources)));
  const tried = await Promise.all(firstTries);
  const answer = unsettle(admitted);
  for (const attempt of tried) unsettle(attempt);
  if (answer.decision !== 'act') await releaseLocksTakenFor(run, tried);
  const decided = admissionVerdict(run, step, rec, answer, selection.containers);
  if (decided) return decided;

  for (const resource of selection.resources) {
    if (run.heldLocks.has(resource)) continue;
    if (!(await acquireLock(run, resource, answer.lockWaitMs))) {
      return lockStayedBusy(rec, resource, answer.lockWaitMs);
    }
  }
  for (const resource of selection.resources) {
    const spent = await spendBudget(run, step, rec, resource);
    if (spent) return spent;
  }
  return { kind: 'act', containers: selection.containers };
}

/**
 * The guards for a step on one resource, overlapped. Admission (the kill-switch workflow, shared by
 * every incident of the deployment) is the slowest leg, so it is asked first; meanwhile the lock is
 * tried and, once held, the budget asked. What each guard guarantees is unchanged:
 * - the step acts only when admission says act, it holds the lock and the budget allows it;
 * - the budget is counted only by the lock's holder (it is asked once the lock is held), so an
 *   incident waiting for the lock never takes another's share;
 * - a step that admission holds back (paused, breaker) or that fails gets its count taken back
 *   (budgetRefund) and lets go of the lock it just took, as before. Until the refund lands the count
 *   is one higher than the actions taken: a moment of caution, never an extra action.
 * A busy lock falls back to the sequential path: wait for it, then ask the budget.
 */
async function guardsOverlapped(
  run: RunningIncident,
  step: Step,
  rec: StepRecord,
  selection: { containers: string[]; resources: string[] },
  resource: string,
): Promise<GuardVerdict> {
  const alreadyHeld = run.heldLocks.has(resource);
  const admitted = settle(guardActivities.safetyAdmit(admitInput(run, selection.resources)));
  const lockedThenCounted = settle(
    (async () => {
      const takenNow = !alreadyHeld && (await tryLock(run, resource)).held;
      if (!alreadyHeld && !takenNow) return { held: false, takenNow };
      const counted = await settle(guardActivities.budgetConsume(consumeInput(run, step, resource, 0)));
      return { held: true, takenNow, counted, countedAtMs: nowMs() };
    })(),
  );
  const [admission, lock] = await Promise.all([admitted, lockedThenCounted]);
  const answeredAtMs = nowMs();
  if (!admission.ok || admission.value.decision !== 'act') {
    // Held back, or admission failed: the step keeps nothing its guards took, even when the
    // incident is being cancelled (a count left behind would hold back the next incident).
    await CancellationScope.nonCancellable(async () => {
      if (lock.ok && lock.value.counted?.ok && lock.value.counted.value.allowed)
        await refundBudget(run, step, resource);
      if (lock.ok && lock.value.takenNow) await releaseLock(run, resource, 'the step does not act');
    });
  }
  if (!admission.ok) throw admission.error;
  if (!lock.ok) throw lock.error;
  const { lockWaitMs } = admission.value;
  const decided = admissionVerdict(run, step, rec, admission.value, selection.containers);
  if (decided) return decided;
  const { held, counted, countedAtMs } = lock.value;
  if (!held) {
    if (!(await acquireLock(run, resource, lockWaitMs))) return lockStayedBusy(rec, resource, lockWaitMs);
    return (await spendBudget(run, step, rec, resource)) ?? { kind: 'act', containers: selection.containers };
  }
  let answer = counted ? unsettle(counted) : undefined;
  let round = 0;
  if (answer?.allowed && countedAtMs !== undefined && answeredAtMs - countedAtMs > RESTAMP_AFTER_MS) {
    // Admission answered well after the count: the action's time moves to now, so the next
    // incident's backoff and the window run from when this step acts, not from when it asked.
    round = 1;
    answer = await guardActivities.budgetConsume({
      ...consumeInput(run, step, resource, round),
      restamp: true,
    });
  }
  const spent = await spendBudget(run, step, rec, resource, answer, round);
  return spent ?? { kind: 'act', containers: selection.containers };
}

/** What admission's answer means for the step: paused or breaker decide it; act registers it as active. */
function admissionVerdict(
  run: RunningIncident,
  step: Step,
  rec: StepRecord,
  answer: AdmitAnswer,
  containers: string[],
): GuardVerdict | undefined {
  if (answer.decision === 'paused') {
    run.note('safety', `${answer.reason}: ${step.id} only records what it would do`);
    return { kind: 'paused', reason: answer.reason, containers };
  }
  if (answer.decision === 'breaker') {
    run.suppressMessages = true;
    skip(rec, `not run: ${answer.reason}`);
    return escalateInstead(`automation stopped by the breaker: ${answer.reason}`);
  }
  run.registeredActive = true;
  return undefined;
}

function admitInput(run: RunningIncident, resources: string[]): AdmitInput {
  return {
    incidentId: run.state.incidentId,
    runbook: run.runbook.name,
    target: run.state.targetKey,
    resources,
    scope: run.guardScope,
  };
}

/** The budget's question for one resource; its key makes a retried activity count once. */
function consumeInput(run: RunningIncident, step: Step, resource: string, round: number): ConsumeInput {
  return {
    scope: run.guardScope,
    resource,
    key: budgetKey(run, step, resource),
    round,
    incidentId: run.state.incidentId,
    stepId: step.id,
    action: step.type,
  };
}

function budgetKey(run: RunningIncident, step: Step, resource: string): string {
  return `${run.state.incidentId}|${workflowInfo().firstExecutionRunId}|${step.id}|${run.visits[step.id] ?? 1}|${resource}`;
}

/** Takes back the action this step counted on a resource; a failure leaves it counted (the safe side). */
async function refundBudget(run: RunningIncident, step: Step, resource: string): Promise<void> {
  try {
    const { refunded } = await guardActivities.budgetRefund({
      scope: run.guardScope,
      resource,
      key: budgetKey(run, step, resource),
      incidentId: run.state.incidentId,
      stepId: step.id,
    });
    run.note(
      'safety',
      refunded
        ? `budget for ${resource}: the count for ${step.id} taken back, it does not act`
        : `budget for ${resource}: nothing counted for ${step.id} to take back`,
    );
  } catch (error) {
    run.note(
      'safety',
      `budget for ${resource}: could not take back ${step.id}'s count: ${errorMessage(error)}`,
    );
  }
}

/** The re-check: runs again the checks the step's condition reads; skips the step when it no longer holds. */
async function recheck(run: RunningIncident, step: Step, rec: StepRecord): Promise<GuardVerdict | undefined> {
  let checks = referencedSteps(step.when)
    .map((id) => run.stepDefinition(id))
    .filter(
      (s): s is Step =>
        s !== undefined && CHECK_STEP_TYPES.includes(s.type) && run.record(s.id).status === 'succeeded',
    );
  if (checks.length === 0 || !step.when) return undefined;
  const now = nowMs();
  const fresh = checks.filter(
    (check) => now - Date.parse(run.record(check.id).startedAt ?? '') <= FRESH_CHECK_MS,
  );
  if (fresh.length > 0 && patched(PATCH_RECHECK_SKIPS_FRESH)) {
    run.note(
      'safety',
      `not re-checked before ${step.id}: ${fresh.map((c) => c.id).join(', ')} began ${formatDuration(Math.max(0, ...fresh.map((c) => now - Date.parse(run.record(c.id).startedAt ?? ''))))} ago (fresh within ${formatDuration(FRESH_CHECK_MS)})`,
    );
    checks = checks.filter((check) => !fresh.includes(check));
  }
  for (const check of checks) {
    const checkRec = run.record(check.id);
    checkRec.output = await callActivity(
      run,
      check,
      asRecord(renderTemplates(check.with, run.scope())),
      checkRec,
    );
  }
  if (checks.length > 0)
    run.note('safety', `re-checked ${checks.map((c) => c.id).join(', ')} before ${step.id}`);
  if (evaluateCondition(step.when, run.scope())) return undefined;
  skip(rec, 'skipped: the target no longer needs it (re-checked just before acting)');
  run.note('step', `${step.id} not run: target healthy again before action`);
  return { kind: 'outcome', outcome: { kind: 'next' } };
}

/**
 * The budget guard for one resource. Each round is a new decision by the budget (its own update
 * id); a retried activity repeats its round's question and gets that round's answer.
 */
async function spendBudget(
  run: RunningIncident,
  step: Step,
  rec: StepRecord,
  resource: string,
  firstAnswer?: BudgetAnswer,
  firstRound = 0,
): Promise<GuardVerdict | undefined> {
  const state = run.state;
  for (let round = firstRound; ; round += 1) {
    const answer =
      round === firstRound && firstAnswer
        ? firstAnswer
        : await guardActivities.budgetConsume(consumeInput(run, step, resource, round));
    if (answer.allowed) {
      run.note('safety', `budget for ${resource}: ${answer.remaining} action(s) left in the window`);
      return undefined;
    }
    if (answer.reason === 'exhausted') {
      const reason = `remediation budget for ${resource} is used up (${answer.used} of ${answer.max} actions in the last ${formatDuration(answer.windowMs)}); the next is allowed at ${answer.nextAt}`;
      skip(rec, `not run: ${reason}`);
      return escalateInstead(reason);
    }
    // A bounded number of waits: a budget that keeps saying "back off" (others acting on the
    // target, clocks far apart) is a human's call, and each wait adds to the history.
    if (round >= MAX_BUDGET_WAITS && patched(PATCH_BUDGET_ROUNDS)) {
      const reason = `remediation budget for ${resource} still says to back off after ${MAX_BUDGET_WAITS} waits (${answer.used} action(s) in the window; next allowed at ${answer.retryAt})`;
      skip(rec, `not run: ${reason}`);
      return escalateInstead(reason);
    }
    // At least a second: clocks of different workflows may disagree a little, and a zero wait
    // would spin, growing the history, until they agree.
    const waitMs = Math.max(1000, Date.parse(answer.retryAt) - nowMs());
    rec.status = 'waiting';
    run.note(
      'safety',
      `backing off ${formatDuration(waitMs)} before acting on ${resource} again (${answer.used} action(s) in the window)`,
    );
    await condition(() => !state.alertFiring, waitMs);
    rec.status = 'running';
    if (!state.alertFiring) {
      skip(rec, 'skipped: the alert resolved while backing off');
      if (run.runbook.onResolvedBeforeAction === 'stop' && !run.mutated)
        throw new StopIncident('resolved', 'resolved before action');
      return { kind: 'outcome', outcome: { kind: 'next' } };
    }
  }
}

/** The lock guard: starts the resource's lock child, retrying with backoff while another incident holds it. */
async function acquireLock(run: RunningIncident, resource: string, waitMs: number): Promise<boolean> {
  const deadline = nowMs() + waitMs;
  let delay = 500;
  let waiting = false;
  for (;;) {
    if ((await tryLock(run, resource)).held) return true;
    if (!waiting) run.note('lock', `waiting for ${resource}: another incident is acting on it`);
    waiting = true;
    if (nowMs() + delay > deadline) return false;
    await sleep(delay);
    delay = Math.min(delay * 2, 10_000);
  }
}

/** One try at a resource's lock: false when another incident holds it. */
async function tryLock(run: RunningIncident, resource: string): Promise<{ resource: string; held: boolean }> {
  try {
    const handle = await startChild(targetLock, {
      workflowId: lockWorkflowId(run.guardScope, resource),
      args: [{ resource, holder: run.state.incidentId }],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    run.heldLocks.set(resource, handle);
    run.note('lock', `acquired ${resource}`);
    return { resource, held: true };
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    return { resource, held: false };
  }
}

/** Lets go of the locks taken by this step's first tries, when admission says it does not act. */
async function releaseLocksTakenFor(
  run: RunningIncident,
  tried: Array<Settled<{ resource: string; held: boolean }>>,
): Promise<void> {
  for (const attempt of tried)
    if (attempt.ok && attempt.value.held)
      await releaseLock(run, attempt.value.resource, 'the step does not act');
}

/** Lets go of one lock this incident holds. */
async function releaseLock(run: RunningIncident, resource: string, why: string): Promise<void> {
  const handle = run.heldLocks.get(resource);
  if (!handle) return;
  run.heldLocks.delete(resource);
  try {
    await handle.signal(releaseLockSignal);
  } catch {
    // Already ended: released all the same.
  }
  run.note('lock', `released ${resource}: ${why}`);
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Waits for a promise without letting its rejection go unhandled while another is awaited. */
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function unsettle<T>(settled: Settled<T>): T {
  if (!settled.ok) throw settled.error;
  return settled.value;
}

/** Lets go of every lock and the active-remediation registration. */
export async function releaseGuards(run: RunningIncident): Promise<void> {
  for (const [resource, handle] of run.heldLocks) {
    try {
      await handle.signal(releaseLockSignal);
    } catch {
      // Already ended: released all the same.
    }
    run.note('lock', `released ${resource}`);
  }
  run.heldLocks.clear();
  if (run.registeredActive) {
    run.registeredActive = false;
    try {
      await guardActivities.safetyLeave({ incidentId: run.state.incidentId, scope: run.guardScope });
    } catch (error) {
      run.note(
        'safety',
        `could not leave the active list (the lease expires by itself): ${errorMessage(error)}`,
      );
    }
  }
}

function skip(rec: StepRecord, note: string): void {
  rec.status = 'skipped';
  rec.note = note;
  rec.finishedAt = nowIso();
}

function lockStayedBusy(rec: StepRecord, resource: string, waitedMs: number): GuardVerdict {
  skip(rec, `not run: ${resource} stayed busy with another incident for ${formatDuration(waitedMs)}`);
  return escalateInstead(`${resource} is being remediated by another incident`);
}

function escalateInstead(reason: string): GuardVerdict {
  return { kind: 'outcome', outcome: { kind: 'escalate', reason } };
}
