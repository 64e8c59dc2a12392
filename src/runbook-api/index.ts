// The API a code runbook is written against: `import { codeRunbook } from 'rebound/runbook'`.
// The bundler (the worker's, `rebound replay`'s) and the loader (routing, lint, plan) resolve that
// specifier to this file. It holds the types of the procedure's `rb` object, derived from the step
// registry, and `codeRunbook()`, which only marks the declaration. The `rb` object itself is made by
// the incident workflow (src/workflows/incident/code-runbook.ts), so every step a code runbook runs
// goes through the interpreter's own path: guards, dry run, the same history and audit.
// Workflow-safe: no Node built-ins, no I/O; the activities are imported as types only.
import type { DryRunReport, ReboundActivities, StepInput } from '../activities/types';
import type { AlertSnapshot } from '../workflows/contract';
import type { ActivityStepType, StepDefinitions } from '../steps/registry';

/** The phase a step belongs to: where the console, audit and Slack show it. */
export type Phase = 'detect' | 'assess' | 'remediate' | 'validate' | 'escalate';
/** A duration: "500ms", "30s", "5m", "1h30m", or milliseconds. */
export type Duration = string | number;

type ActivityOf<T extends ActivityStepType> = StepDefinitions[T] extends { activity: infer A }
  ? A extends keyof ReboundActivities
    ? A
    : never
  : never;
type ActivityFn<T extends ActivityStepType> = ReboundActivities[ActivityOf<T>];
type MutatingStepType = {
  [K in ActivityStepType]: StepDefinitions[K] extends { mutates: true } ? K : never;
}[ActivityStepType];

/** The parameters of a step type, as its activity takes them (mutating steps may also set maxTargets). */
export type StepParams<T extends ActivityStepType> =
  ActivityFn<T> extends (input: StepInput<infer P>) => unknown
    ? T extends MutatingStepType
      ? Omit<P, 'container'> &
          (P extends { container: string } ? { container: string | string[] } : unknown) & {
            maxTargets?: number;
          }
      : P
    : never;

/** What a step of this type returns (a mutating step in a dry run or while paused: what it would do). */
export type StepOutput<T extends ActivityStepType> = Awaited<ReturnType<ActivityFn<T>>>;

/** The retry policy of a step's activity; unset fields come from the runbook's defaults. */
export interface RetryOptions {
  maximumAttempts?: number;
  initialInterval?: Duration;
  backoffCoefficient?: number;
  maximumInterval?: Duration;
  nonRetryableErrorTypes?: string[];
}

/** After a step fails: escalate (the default outside the escalate phase), abort the incident, or continue. */
export type OnFailure = 'escalate' | 'abort' | 'continue';

export interface StepOptions {
  /** The step's id in the incident's record, audit and Slack (default: the type, numbered from the second). */
  id?: string;
  retry?: RetryOptions;
  timeout?: Duration;
  /** Default: 'escalate' ('continue' in the escalate phase). With 'continue' the failure is returned. */
  onFailure?: OnFailure;
  /** Docker host name for container.* steps (that host's worker carries it out). */
  host?: string;
  /** Free text for people, as a YAML step's description. */
  description?: string;
  /**
   * A condition, as a YAML step's `when` (CEL over `steps.<id>.output`, `labels`, `alert`…): the step
   * is skipped when it is false, and before a mutating step the guards run the checks it reads again
   * (unless they began under 2 s before) and skip the step if the target no longer needs it. An `if`
   * in the procedure decides on what a check saw; `when` also re-decides just before acting.
   */
  when?: string;
}

/** How a step ended, as its record says: its output when it succeeded. */
export type StepResult<O> =
  | { status: 'succeeded'; output: O }
  | { status: 'failed'; error: { type: string; message: string } }
  | { status: 'skipped'; note: string };

export interface ApprovalParams {
  approvers?: string[];
  groups?: string[];
  minApprovers?: number;
  allowSelfApproval?: boolean;
  prompt?: string;
  timeout?: Duration;
  onTimeout?: 'escalate' | 'reject' | 'proceed';
  reminders?: Array<{ after: Duration; channel: 'slack' | 'email'; to?: string | string[] }>;
}

export type ApprovalOutput =
  | { approved: true; approvedBy: string[] }
  | { approved: false; timedOut: true; proceeded: true }
  | DryRunReport;

export interface NotifyParams {
  channel: 'slack' | 'email';
  to?: string | string[];
  subject?: string;
  text: string;
}

/** What the procedure can read about its incident. */
export interface IncidentInfo {
  id: string;
  target: string;
  runbook: string;
  dryRun: boolean;
  escalated: boolean;
}

/** The object a code runbook's procedure receives. Every method that acts is a recorded step. */
export interface RunbookApi {
  /** Runs a step of any registered type through the guards (when it mutates), dry run and the record. */
  step<T extends ActivityStepType>(
    type: T,
    params: StepParams<T>,
    options?: StepOptions,
  ): Promise<StepResult<StepOutput<T>>>;
  /** Waits for people to approve (the CLI, HTTP, Slack or the console); a rejection fails the step. */
  approval(params: ApprovalParams, options?: StepOptions): Promise<StepResult<ApprovalOutput>>;
  /** A Slack message or an email (without `to`: where the runbook's notifications go). */
  notify(params: NotifyParams, options?: StepOptions): Promise<StepResult<StepOutput<'notify'>>>;
  /** Escalates the incident: the procedure ends here and the `escalation` procedure runs. */
  escalate(reason: string, options?: Pick<StepOptions, 'id'>): Promise<never>;
  /** A durable timer. */
  sleep(duration: Duration, options?: Pick<StepOptions, 'id'>): Promise<void>;
  /** Sets the phase the next steps belong to. */
  phase(phase: Phase): void;
  /** The alert as its latest notification describes it (updated as notifications arrive). */
  readonly alert: Readonly<AlertSnapshot>;
  /** The alert's labels (the latest notification's). */
  readonly labels: Readonly<Record<string, string>>;
  /** Whether the alert still fires. */
  readonly alertFiring: boolean;
  /** How many notifications about the alert arrived (repeats, resolution). */
  readonly notifications: number;
  /** Waits until the predicate holds over the alert's notifications, or the timeout; true when it held. */
  waitForAlert(predicate: (alert: Readonly<AlertSnapshot>) => boolean, timeout: Duration): Promise<boolean>;
  readonly incident: Readonly<IncidentInfo>;
  /** Adds a line to the incident's timeline. */
  note(message: string): void;
  /** Temporal's patched(): true on new incidents, false when replaying one recorded before the change. */
  patched(patchId: string): boolean;
  /** Temporal's deprecatePatch(), once no incident recorded before the change is open. */
  deprecatePatch(patchId: string): void;
}

/** A code runbook as its file declares it. */
export interface CodeRunbookDeclaration {
  /** Unique runbook name: lowercase letters, digits and dashes. */
  name: string;
  description: string;
  /** Alertmanager matchers, as in YAML: `alertname = "PrimaryDown"`, `service =~ "db.*"`. */
  matchers: string[];
  /** A template naming what one incident is about, as in YAML (`{{ labels.service }}`). */
  target?: string;
  defaults?: { timeout?: Duration; retry?: RetryOptions };
  onResolvedBeforeAction?: 'stop' | 'continue';
  holdOpen?: Duration;
  notifications?: { slack?: { channel: string }; email?: { to: string[] } };
  /** The procedure: detect, assess, remediate, validate. */
  procedure(rb: RunbookApi): Promise<void>;
  /** Runs when the incident escalates (the YAML runbook's escalate phase). */
  escalation?(rb: RunbookApi): Promise<void>;
}

/** Marks a code runbook's procedure as one; what the loader and the worker's bundle look for. */
export const CODE_RUNBOOK_MARK = 'rebound.code-runbook/v1';

export type CodeRunbook = CodeRunbookDeclaration & { readonly kind: typeof CODE_RUNBOOK_MARK };

/** Declares a code runbook: `export default codeRunbook({ name, description, matchers, procedure })`. */
export function codeRunbook(declaration: CodeRunbookDeclaration): CodeRunbook {
  return { ...declaration, kind: CODE_RUNBOOK_MARK };
}

export function isCodeRunbook(value: unknown): value is CodeRunbook {
  return (
    typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === CODE_RUNBOOK_MARK
  );
}
