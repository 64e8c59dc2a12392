// What one step type is, declared in one place: its parameters, the activity that carries it out, whether
// it changes the world and what it touches, how its activity is scheduled and what it does in a dry run.
// The files next to this one declare the step families; registry.ts derives everything else from them.
// Deterministic and types-only towards the activities: the incident workflow imports these files.
import type { ReboundActivities } from '../activities/types';

/** The form of a parameter's value; params.ts gives each kind its JSON Schema (and validation). */
export type ParamKind =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'duration'
  | 'string-list'
  | 'string-or-list'
  | 'status'
  | 'headers'
  | 'any'
  | 'reminders';

export interface ParamSpec {
  kind: ParamKind;
  required?: boolean;
  allowed?: readonly string[];
  minimum?: number;
  maximum?: number;
  /** Extra rules for literal values: Docker container names; PromQL, whose label values must be quoted with promql(). */
  check?: 'container' | 'promql';
  description: string;
}

/** The resources a mutating step would touch (`docker:host/name`, `http:origin`), '' for an empty name. */
export interface Targets {
  resources: string[];
  /** Containers the step acts on one at a time (one activity each); empty when it acts on them together. */
  containers: string[];
}

/**
 * What a step does in a dry run (and while automation is paused):
 * - `runs`: it runs as usual — it only looks, waits or tells people;
 * - `reports`: it changes nothing and reports what it would have done (the activity's dry-run twin, or
 *   the interpreter's for approvals).
 */
export type DryRunBehaviour = 'runs' | 'reports';

export interface StepDefinition {
  /** One line for the schema, `rebound runbooks plan` and the README. */
  description: string;
  /** The `with` parameters: the JSON Schema and the runbook validator both derive from these. */
  params: Readonly<Record<string, ParamSpec>>;
  /** The activity that carries the step out; absent for the interpreter's own steps (approval, sleep, escalate). */
  activity?: keyof ReboundActivities;
  /** Changes the world: dry run, pause and the guards (targets, lock, budget) apply. */
  mutates?: boolean;
  /** For mutating steps: what the step touches, from its rendered parameters and Docker host name. */
  targets?: (params: Readonly<Record<string, unknown>>, host: string) => Targets;
  /** Most targets the step may touch when the runbook does not say (`maxTargets`); default 1. */
  defaultMaxTargets?: number;
  /** Only looks: re-run just before a mutating step whose `when` reads it, so that step acts on fresh facts. */
  check?: boolean;
  /**
   * Heartbeat timeout in ms (capped at the step timeout) for activities that take long or wait: a worker
   * that dies mid-step is noticed this soon instead of at the step timeout, and cancellation reaches it.
   */
  heartbeatMs?: number;
  /** A step with `host:` runs on that Docker host's task queue (the worker there serves these activities). */
  dockerHost?: boolean;
  dryRun: DryRunBehaviour;
  /**
   * How `rebound audit` shows the step's output, when one line of JSON would not read well (log lines).
   * Undefined for an output it does not recognise: the audit then shows the JSON.
   */
  auditLines?: (output: unknown) => string[] | undefined;
  /**
   * What a finished step found, in a few words (`rebound demo` says it as the incident goes); undefined
   * when there is nothing worth adding. `output` is the activity's result, `{}` when it is not an object.
   */
  summary?: (output: Readonly<Record<string, unknown>>) => string | undefined;
}

/** Declares a family of step types; keeps the literal type names (the StepType union is made of them). */
export function defineSteps<const T extends Record<string, StepDefinition>>(family: T): T {
  return family;
}
