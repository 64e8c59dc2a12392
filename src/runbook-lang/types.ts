// The runbook format as the interpreter sees it after loading and validation.
// Shared by the loader (Node) and the incident workflow (deterministic sandbox): types only here.

export const PHASES = ['detect', 'assess', 'remediate', 'validate', 'escalate'] as const;
export type Phase = (typeof PHASES)[number];

// The step types and their lists are derived from the step definitions (src/steps/); re-exported here
// for the modules that read them with the rest of the runbook format.
export {
  ACTIVITY_STEP_TYPES,
  CONTROL_STEP_TYPES,
  MUTATING_STEP_TYPES,
  STEP_TYPES,
  type ActivityStepType,
  type ControlStepType,
  type StepType,
} from '../steps/registry';
import type { StepType } from '../steps/registry';

/** Durations are Temporal/ms-style strings ("500ms", "30s", "5m", "1h") or milliseconds. */
export type Duration = string | number;

export interface RetrySpec {
  maximumAttempts?: number;
  initialInterval?: Duration;
  backoffCoefficient?: number;
  maximumInterval?: Duration;
  nonRetryableErrorTypes?: string[];
}

export type OnFailure = 'abort' | 'continue' | 'escalate' | { goto: string };

/** An Alertmanager-style label matcher: name op "value" with op one of = != =~ !~. */
export interface Matcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Step {
  id: string;
  phase: Phase;
  type: StepType;
  /** Parameters; string leaves may hold `{{ expression }}` templates. */
  with: Record<string, unknown>;
  /** CEL expression; the step is skipped when it evaluates to false. */
  when?: string;
  retry?: RetrySpec;
  timeout?: Duration;
  onFailure?: OnFailure;
  /** Docker host name for container steps; routes the activity to that host's task queue. */
  host?: string;
  /** Free text for humans (shown by plan and audit). */
  description?: string;
  /** `with` holds values, not templates: a code runbook's step (its strings are never rendered). */
  literal?: boolean;
}

export interface Runbook {
  name: string;
  description: string;
  matchers: Matcher[];
  /** Template naming what one incident is about; empty means the alert fingerprint. */
  target?: string;
  variables: Record<string, unknown>;
  defaults: { timeout: Duration; retry: RetrySpec };
  /** What a resolved notification before any mutating step does: stop (default) or carry on. */
  onResolvedBeforeAction: 'stop' | 'continue';
  /** How long a remediated incident stays open waiting for the alert to resolve (repeats join it). */
  holdOpen: Duration;
  /** Where the incident message and step results go, when set. */
  notifications?: { slack?: { channel: string }; email?: { to: string[] } };
  steps: Step[];
}

/** A runbook as handed to a workflow: the plan is frozen with its source and content hash. */
export interface RunbookSnapshot {
  runbook: Runbook;
  /** sha256 of the file's bytes, hex. */
  hash: string;
  /** Path relative to the runbooks directory. */
  source: string;
  /** A code runbook (a .ts file): `runbook` holds its metadata and no steps; the worker's bundle holds its procedure. */
  kind?: 'code';
}

/** What a failing step does when its runbook does not say: escalation steps carry on, others escalate to a human. */
export function defaultOnFailure(phase: Phase): OnFailure {
  return phase === 'escalate' ? 'continue' : 'escalate';
}
