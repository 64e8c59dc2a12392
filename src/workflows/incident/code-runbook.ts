// Running a code runbook's procedure inside the incident workflow. The procedure gets an `rb` object
// (the API in src/runbook-api) whose every step is a Step handed to runStep(): the interpreter's own
// path, with the guards before a mutating step, dry run, the step record, timeline, Slack and history
// a YAML step gets. So audit, console, `incidents show` and replay read a code incident as a YAML one.
//
// The procedures themselves are compiled into the worker's workflow bundle: a generated entry
// (src/runbooks/code-bundle.ts) imports each .ts runbook and registers it here when the bundle loads.
// An incident's input names its runbook (and the file's hash); the registered procedure runs it.
import { condition, deprecatePatch, patched } from '@temporalio/workflow';
import { durationMs } from '../../runbook-lang/duration';
import { isStepType, type StepType } from '../../steps/registry';
import type { Phase, Step } from '../../runbook-lang/types';
import type { CodeRunbook, RunbookApi, StepOptions, StepResult } from '../../runbook-api';
import type { AlertSnapshot } from '../contract';
import { StopIncident, errorMessage, type StepOutcome } from './failures';
import { runStep } from './run-step';
import type { RunningIncident } from './state';

/** A code runbook compiled into this bundle. */
export interface RegisteredCodeRunbook {
  /** File name in the runbooks directory. */
  source: string;
  /** sha256 of the file when the bundle was built. */
  hash: string;
  runbook: CodeRunbook;
}

const registered = new Map<string, RegisteredCodeRunbook>();

/** Called by the generated bundle entry, once, as the bundle loads. */
export function registerCodeRunbooks(list: RegisteredCodeRunbook[]): void {
  for (const entry of list) registered.set(entry.runbook.name, entry);
}

/** The code runbook of this name in the bundle, if any. */
export function registeredCodeRunbook(name: string): RegisteredCodeRunbook | undefined {
  return registered.get(name);
}

/** Unwinds the procedure: the incident escalates, aborts or stops (the procedure may not swallow it). */
class ProcedureEnd extends Error {
  override name = 'ProcedureEnd';
  constructor(readonly outcome: StepOutcome | StopIncident) {
    super(outcome instanceof StopIncident ? outcome.message : outcome.kind);
  }
}

/** The `rb` object: each call that acts becomes a Step run by runStep(). */
class ProcedureApi implements RunbookApi {
  private currentPhase: Phase;
  private readonly counts = new Map<string, number>();
  /** Set once the procedure must end; every later call ends it again, even if the code caught it. */
  ended: ProcedureEnd | undefined;

  constructor(
    private readonly run: RunningIncident,
    phase: Phase,
  ) {
    this.currentPhase = phase;
  }

  private stepId(type: string, options: StepOptions | undefined): string {
    if (options?.id) return options.id;
    const n = (this.counts.get(type) ?? 0) + 1;
    this.counts.set(type, n);
    return n === 1 ? type : `${type}-${n}`;
  }

  private async runOne<O>(type: StepType, params: unknown, options?: StepOptions): Promise<StepResult<O>> {
    if (this.ended) throw this.ended;
    if (!isStepType(type))
      return this.end({ kind: 'abort', reason: `runbook error: no step type "${String(type)}"` });
    const run = this.run;
    const { state, runbook } = run;
    // As the YAML loop does before each step: a resolved alert before any action stops the incident.
    if (!state.alertFiring && !run.mutated && runbook.onResolvedBeforeAction === 'stop' && !run.escalated)
      return this.end(new StopIncident('resolved', 'resolved before action'));
    const step: Step = {
      id: this.stepId(type, options),
      phase: this.currentPhase,
      type,
      with: { ...(params as Record<string, unknown>) },
      literal: true,
      ...(options?.retry ? { retry: options.retry } : {}),
      ...(options?.timeout !== undefined ? { timeout: options.timeout } : {}),
      ...(options?.onFailure ? { onFailure: options.onFailure } : {}),
      ...(options?.host ? { host: options.host } : {}),
      ...(options?.description ? { description: options.description } : {}),
      ...(options?.when !== undefined ? { when: options.when } : {}),
    };
    // The guards' re-check finds the checks a `when` reads by id (RunningIncident.stepDefinition).
    run.codeSteps.set(step.id, step);
    if (!state.steps.some((r) => r.id === step.id))
      state.steps.push({ id: step.id, type, phase: step.phase, status: 'pending', attempts: 0 });
    let outcome: StepOutcome;
    try {
      outcome = await runStep(run, step);
    } catch (error) {
      if (error instanceof StopIncident) return this.end(error);
      throw error;
    }
    if (outcome.kind !== 'next') return this.end(outcome);
    const rec = run.record(step.id);
    if (rec.status === 'succeeded') return { status: 'succeeded', output: rec.output as O };
    if (rec.status === 'failed')
      return { status: 'failed', error: rec.error ?? { type: 'Error', message: 'failed' } };
    return { status: 'skipped', note: rec.note ?? 'skipped' };
  }

  private end(outcome: StepOutcome | StopIncident): never {
    this.ended = new ProcedureEnd(outcome);
    throw this.ended;
  }

  step: RunbookApi['step'] = (type, params, options) => this.runOne(type, params, options);
  approval: RunbookApi['approval'] = (params, options) => this.runOne('approval', params, options);
  notify: RunbookApi['notify'] = (params, options) => this.runOne('notify', params, options);

  async escalate(reason: string, options?: Pick<StepOptions, 'id'>): Promise<never> {
    await this.runOne('escalate', { reason }, options);
    // An escalate step always ends the procedure (runOne threw); in the escalate phase it carries on.
    return this.end({ kind: 'escalate', reason });
  }

  async sleep(duration: string | number, options?: Pick<StepOptions, 'id'>): Promise<void> {
    await this.runOne('sleep', { duration }, options);
  }

  phase(phase: Phase): void {
    if (this.ended) throw this.ended;
    this.currentPhase = phase;
    this.run.enterPhase(phase);
  }

  get alert(): Readonly<AlertSnapshot> {
    return this.run.state.alert;
  }
  get labels(): Readonly<Record<string, string>> {
    return this.run.state.alert.labels;
  }
  get alertFiring(): boolean {
    return this.run.state.alertFiring;
  }
  get notifications(): number {
    return this.run.state.notifications;
  }
  async waitForAlert(
    predicate: (alert: Readonly<AlertSnapshot>) => boolean,
    timeout: string | number,
  ): Promise<boolean> {
    if (this.ended) throw this.ended;
    return condition(() => predicate(this.run.state.alert), durationMs(timeout));
  }
  get incident(): RunbookApi['incident'] {
    const { state, input } = this.run;
    return {
      id: state.incidentId,
      target: state.targetKey,
      runbook: state.runbook,
      dryRun: input.dryRun,
      escalated: this.run.escalated,
    };
  }
  note(message: string): void {
    this.run.note('runbook', message);
  }
  patched(patchId: string): boolean {
    return patched(patchId);
  }
  deprecatePatch(patchId: string): void {
    deprecatePatch(patchId);
  }
}

/**
 * Runs the code runbook's procedure (or, when the incident escalated, its escalation) and says what
 * the interpreter does next: go on to the hold (next), escalate, or fail the incident (abort).
 * A StopIncident (resolved before action) propagates as from a YAML step.
 */
export async function runCodeProcedure(
  run: RunningIncident,
  code: RegisteredCodeRunbook,
  part: 'procedure' | 'escalation',
): Promise<StepOutcome> {
  const declaration = code.runbook;
  if (part === 'escalation' && !declaration.escalation) return { kind: 'next' };
  // The incident was routed with the file as it was then; the worker runs the procedure of its bundle.
  // Said in the timeline (state only: no command), so the record shows which code ran.
  if (part === 'procedure' && code.hash !== run.input.snapshot.hash)
    run.note(
      'runbook',
      `running ${code.source} sha256 ${code.hash.slice(0, 12)} from this worker's bundle; the incident was routed with sha256 ${run.input.snapshot.hash.slice(0, 12)}`,
    );
  const rb = new ProcedureApi(run, part === 'procedure' ? 'detect' : 'escalate');
  let thrown: unknown;
  try {
    if (part === 'procedure') await declaration.procedure(rb);
    else await declaration.escalation?.(rb);
  } catch (error) {
    thrown = error;
  }
  // The procedure may have caught the end and carried on: the end it was given stands.
  const end = rb.ended ?? (thrown instanceof ProcedureEnd ? thrown : undefined);
  if (end) {
    if (end.outcome instanceof StopIncident) throw end.outcome;
    if (part === 'escalation' && end.outcome.kind === 'escalate') return { kind: 'next' };
    if (end.outcome.kind === 'goto')
      return { kind: 'abort', reason: 'runbook error: goto in a code runbook' };
    return end.outcome;
  }
  if (thrown !== undefined) {
    const reason = `runbook error: the ${part} of ${code.runbook.name} threw: ${errorMessage(thrown)}`;
    run.note('runbook', reason);
    return { kind: 'abort', reason };
  }
  run.state.currentStep = undefined;
  return { kind: 'next' };
}
