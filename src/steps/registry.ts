// Every step type, from the family files beside this one, and everything derived from them: the lists
// of step types, which activity runs each, what mutates and what it touches, which steps are checks, the
// activity options a step is scheduled with, and which activities a Docker host's worker serves.
// Adding a step type is one entry in a family file plus its activity; nothing here changes.
// Deterministic (the incident workflow imports it): no Node built-ins, activities as types only.
import type { ActivityOptions } from '@temporalio/common';
import type { ReboundActivities } from '../activities/types';
import { durationMs } from '../runbook-lang/duration';
import type { Runbook, Step } from '../runbook-lang/types';
import { dockerTaskQueue } from '../task-queues';
import { CONTAINER_STEPS } from './container';
import { CONTROL_STEPS } from './control';
import type { StepDefinition } from './definition';
import { HTTP_CALL_STEPS } from './http-call';
import { NOTIFY_STEPS } from './notify';
import { PROBE_STEPS } from './probe';
import { PROMETHEUS_STEPS } from './prometheus';

const ALL = {
  ...CONTAINER_STEPS,
  ...PROBE_STEPS,
  ...PROMETHEUS_STEPS,
  ...HTTP_CALL_STEPS,
  ...NOTIFY_STEPS,
  ...CONTROL_STEPS,
};

type Definitions = typeof ALL;
/** The step definitions with their literal types (the code-runbook API derives its typed steps from them). */
export type StepDefinitions = Definitions;
export type StepType = keyof Definitions;
/** Step types whose work is done by an activity. */
export type ActivityStepType = {
  [K in StepType]: Definitions[K] extends { activity: string } ? K : never;
}[StepType];
/** Step types the interpreter carries out itself (timers, updates, control flow). */
export type ControlStepType = Exclude<StepType, ActivityStepType>;

/** All step definitions by type, in the order the schema and error messages list them. */
export const STEP_DEFINITIONS: Readonly<Record<StepType, StepDefinition>> = ALL;

const entries = Object.entries(STEP_DEFINITIONS) as Array<[StepType, StepDefinition]>;
const typesWhere = (test: (d: StepDefinition) => boolean): StepType[] =>
  entries.filter(([, d]) => test(d)).map(([type]) => type);

export const STEP_TYPES: readonly StepType[] = entries.map(([type]) => type);
export const ACTIVITY_STEP_TYPES = typesWhere((d) => d.activity !== undefined) as readonly ActivityStepType[];
export const CONTROL_STEP_TYPES = typesWhere((d) => d.activity === undefined) as readonly ControlStepType[];
/** Step types that change the world; dry-run, pause and the guards apply to these. */
export const MUTATING_STEP_TYPES: readonly StepType[] = typesWhere((d) => d.mutates === true);
/** Step types that only look: safe to run again right before a mutating step. */
export const CHECK_STEP_TYPES: readonly StepType[] = typesWhere((d) => d.check === true);

/** Which activity carries out each activity step type. */
export const ACTIVITY_FOR_STEP = Object.fromEntries(
  entries.flatMap(([type, d]) => (d.activity ? [[type, d.activity]] : [])),
) as Readonly<Record<ActivityStepType, keyof ReboundActivities>>;

/** The definition of a step type; undefined for a name that is none (runbooks are validated first). */
export function stepDefinition(type: string): StepDefinition | undefined {
  return Object.prototype.hasOwnProperty.call(STEP_DEFINITIONS, type)
    ? STEP_DEFINITIONS[type as StepType]
    : undefined;
}

export function isStepType(type: unknown): type is StepType {
  return typeof type === 'string' && stepDefinition(type) !== undefined;
}

/** Whether a step of this type with `host:` runs on that Docker host's task queue. */
export function routesToDockerHost(type: string): boolean {
  return stepDefinition(type)?.dockerHost === true;
}

/** Activities a Docker host's worker serves (a worker started with a Docker host name runs only these). */
export const DOCKER_HOST_ACTIVITIES: ReadonlySet<string> = new Set(
  entries.flatMap(([, d]) => (d.dockerHost && d.activity ? [d.activity] : [])),
);

/** The activity behind a step's audit record, found by the activity's name. */
export function definitionOfActivity(activity: string): StepDefinition | undefined {
  return entries.find(([, d]) => d.activity === activity)?.[1];
}

export type TargetSelection =
  { ok: true; resources: string[]; containers: string[] } | { ok: false; type: string; message: string };

/** The resources a mutating step would touch; an empty or over-wide selection is refused here, before acting. */
export function mutationTargets(step: Step, params: Record<string, unknown>): TargetSelection {
  const definition = stepDefinition(step.type);
  const { resources, containers } = definition?.targets?.(params, step.host ?? 'local') ?? {
    resources: [],
    containers: [],
  };
  if (resources.length === 0 || resources.some((r) => r === '')) {
    return {
      ok: false,
      type: 'NoTarget',
      message: `${step.id} selects no target (an empty name or list); an empty selection never means "everything", so nothing was done`,
    };
  }
  const maxTargets =
    typeof params.maxTargets === 'number' && params.maxTargets >= 1
      ? params.maxTargets
      : (definition?.defaultMaxTargets ?? 1);
  const unique = [...new Set(resources)];
  if (unique.length > maxTargets) {
    const shown = unique.slice(0, 5).join(', ') + (unique.length > 5 ? ', …' : '');
    return {
      ok: false,
      type: 'TooManyTargets',
      message: `${step.id} would touch ${unique.length} targets (${shown}), more than maxTargets ${maxTargets}; nothing was done`,
    };
  }
  return { ok: true, resources: unique, containers };
}

/**
 * How a step's activity is scheduled: the step's timeout and retry policy over the runbook defaults, a
 * heartbeat timeout for steps that take long, and the Docker host's task queue for a step with `host:`.
 * `taskQueue` is the incident's own task queue (workflowInfo().taskQueue in the workflow).
 */
export function activityOptionsFor(runbook: Runbook, step: Step, taskQueue: string): ActivityOptions {
  const definition = stepDefinition(step.type);
  const retry = { ...runbook.defaults.retry, ...(step.retry ?? {}) };
  const timeoutMs = durationMs(step.timeout ?? runbook.defaults.timeout);
  const heartbeatMs = definition?.heartbeatMs;
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
    ...(step.host && definition?.dockerHost ? { taskQueue: dockerTaskQueue(taskQueue, step.host) } : {}),
  };
}

// A mutating step must report instead of act in a dry run, and say what it touches: checked once, here,
// so a new definition that forgets either fails every test at import instead of acting in a dry run.
for (const [type, d] of entries) {
  if (d.mutates && (d.dryRun !== 'reports' || !d.targets || !d.activity))
    throw new Error(`step type ${type} mutates: it needs an activity, targets and dryRun: 'reports'`);
  if (d.check && d.mutates) throw new Error(`step type ${type} cannot be both a check and mutating`);
}
