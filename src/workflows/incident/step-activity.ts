// Calling the activity that carries out a step: its options, its context (dry run when the kill
// switch is on), the runbook's default recipients for notify, and one call per container when a
// step acts on several.
import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ReboundActivities, StepContext } from '../../activities/types';
import { ACTIVITY_STEP_TYPES, type ActivityStepType, type Step } from '../../runbook-lang/types';
import { activityOptionsFor } from '../../steps/registry';
import { ACTIVITY_FOR_STEP } from '../activity-names';
import { nowIso } from '../clock';
import type { StepRecord } from '../contract';
import type { GuardVerdict } from './guards';
import type { RunningIncident } from './state';

/** Runs a step's activity and returns its output (a list, one per container, for several containers). */
export async function callActivity(
  run: RunningIncident,
  step: Step,
  params: Record<string, unknown>,
  rec: StepRecord,
  verdict: GuardVerdict = { kind: 'act', containers: [] },
): Promise<unknown> {
  const { runbook, state, input } = run;
  if (!(ACTIVITY_STEP_TYPES as readonly string[]).includes(step.type)) {
    throw ApplicationFailure.nonRetryable(`unknown step type ${step.type}`, 'RunbookError');
  }
  const name = ACTIVITY_FOR_STEP[step.type as ActivityStepType];
  const act = proxyActivities<ReboundActivities>(activityOptionsFor(runbook, step, workflowInfo().taskQueue));
  const ctx: StepContext = {
    incidentId: state.incidentId,
    runbook: runbook.name,
    stepId: step.id,
    stepStartedAt: rec.startedAt ?? nowIso(),
    dryRun: input.dryRun || verdict.kind === 'paused',
    // With the incident, these name one visit of the step on every attempt (http.call's Idempotency-Key).
    visit: run.visits[step.id] ?? 1,
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
  if (verdict.kind !== 'outcome' && verdict.containers.length > 1) {
    const results: unknown[] = [];
    for (const container of verdict.containers)
      results.push(await fn({ params: { ...activityParams, container }, ctx }));
    return results;
  }
  const single =
    verdict.kind !== 'outcome' && verdict.containers.length === 1 ? { container: verdict.containers[0] } : {};
  return fn({ params: { ...activityParams, ...single }, ctx });
}

/** Rendered `with` parameters as an object (anything else renders to none). */
export function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

export function isDryRunReport(value: unknown): value is { dryRun: true; wouldDo: string } {
  return typeof value === 'object' && value !== null && (value as { dryRun?: unknown }).dryRun === true;
}
