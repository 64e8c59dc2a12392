// The incident as it runs, in one object: the queryable IncidentState, where the procedure is,
// variables, visits, the Slack message and the locks held; the timeline, expression scope, phase,
// search attributes and the resume point for continue-as-new. Nothing else is shared between modules.
import { upsertSearchAttributes, workflowInfo, type ChildWorkflowHandle } from '@temporalio/workflow';
import type { ExpressionScope } from '../../runbook-lang/scope';
import type { Phase, Runbook, Step } from '../../runbook-lang/types';
import { nowIso } from '../clock';
import {
  NO_ALERT,
  type AlertNotification,
  type IncidentInput,
  type IncidentState,
  type ResumePoint,
  type StepRecord,
} from '../contract';
import type { targetLock } from '../guard-workflows';
import { identityAttributes, progressAttributes } from '../search-attributes';
import { describeAlert } from '../values';
import type { ApprovalSpec } from './approval-rules';
import type { StopIncident } from './failures';

/** Histories end at 51,200 events; continue well before, at a step boundary. */
const CONTINUE_AS_NEW_AT_EVENTS = 10_000;
const TIMELINE_LIMIT = 500;

export class RunningIncident {
  readonly runbook: Runbook;
  readonly steps: Step[];
  /** The steps a code runbook has run, by id (latest parameters): it has no `steps` to walk. */
  readonly codeSteps = new Map<string, Step>();
  /** Index of the first `escalate` step, or -1 when the runbook has none. */
  readonly escalateFrom: number;
  /** Where the main procedure (detect → validate) ends. */
  readonly mainEnd: number;
  /** Whether this run continues an earlier one (continue-as-new). */
  readonly resumed: boolean;
  /** What queries, the audit and Slack see. */
  readonly state: IncidentState;

  cursor: number;
  stage: ResumePoint['stage'];
  escalated: boolean;
  /** A mutating step has run for real (not dry). */
  mutated: boolean;
  readonly visits: Record<string, number>;
  vars: Record<string, unknown>;
  slackTs: string | undefined;
  slackChannel: string | undefined;

  /** The approval step now waiting, with its rules; the decide validator checks against them. */
  approvalInProgress: ApprovalSpec | undefined;
  closeRequested = false;
  /** The breaker took this incident over: its own messages give way to the breaker's one summary. */
  suppressMessages = false;

  /** Whose locks, budgets and kill switch apply (guards.ts). From the input: workflowInfo().taskQueue
   * differs when a history is replayed. */
  readonly guardScope: string;
  /** Locks this incident holds, by resource: child workflows Temporal ends with the incident. */
  readonly heldLocks = new Map<string, ChildWorkflowHandle<typeof targetLock>>();
  /** Registered with the kill-switch workflow as an active remediation. */
  registeredActive = false;

  constructor(readonly input: IncidentInput) {
    const runbook = input.snapshot.runbook;
    const steps = runbook.steps;
    this.runbook = runbook;
    this.steps = steps;
    this.escalateFrom = steps.findIndex((s) => s.phase === 'escalate');
    this.mainEnd = this.escalateFrom === -1 ? steps.length : this.escalateFrom;
    const resume = input.resume;
    this.resumed = resume !== undefined;
    this.state = resume?.state ?? {
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
    this.cursor = resume?.cursor ?? 0;
    this.stage = resume?.stage ?? 'steps';
    this.escalated = resume?.escalated ?? false;
    this.mutated = resume?.mutated ?? false;
    this.visits = resume?.visits ?? {};
    this.vars = resume?.vars ?? {};
    this.slackTs = resume?.slackTs;
    this.slackChannel = resume?.slackChannel;
    this.guardScope = input.safetyScope ?? 'default';
  }

  /** Adds to the timeline, keeping its most recent entries. */
  note(kind: string, message: string): void {
    const timeline = this.state.timeline;
    timeline.push({ at: nowIso(), kind, message });
    if (timeline.length > TIMELINE_LIMIT) timeline.splice(0, timeline.length - TIMELINE_LIMIT);
  }

  /** A step's definition: the runbook's, or one a code runbook has run. */
  stepDefinition(id: string): Step | undefined {
    return this.steps.find((s) => s.id === id) ?? this.codeSteps.get(id);
  }

  /** The record of a step of this runbook (every step has one from the start). */
  record(id: string): StepRecord {
    return this.state.steps.find((r) => r.id === id) as StepRecord;
  }

  /** Counts one more visit of a step and returns how many there have been. */
  visit(stepId: string): number {
    const visits = (this.visits[stepId] ?? 0) + 1;
    this.visits[stepId] = visits;
    return visits;
  }

  /** A notification about the alert arrived (the alert signal). */
  receiveAlert(notification: AlertNotification): void {
    const state = this.state;
    state.notifications += 1;
    const wasFiring = state.alertFiring;
    const first = state.notifications === 1 && !this.resumed;
    state.alert = notification.alert;
    state.alertFiring = notification.alert.status === 'firing';
    if (first) this.note('alert', `opened by ${notification.source}: ${describeAlert(notification)}`);
    else if (wasFiring && !state.alertFiring)
      this.note('alert', `alert resolved (reported by ${notification.source})`);
    else if (!wasFiring && state.alertFiring)
      this.note('alert', `alert firing again (reported by ${notification.source})`);
    else
      this.note(
        'alert',
        `repeat notification #${state.notifications} from ${notification.source} (${notification.alert.status})`,
      );
  }

  /** What a runbook's expressions (`when`, `with`, variables) can read. */
  scope(): ExpressionScope {
    const state = this.state;
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
      vars: this.vars,
      steps: Object.fromEntries(
        state.steps.map((r) => [
          r.id,
          { status: r.status, output: r.output ?? null, ...(r.error ? { error: r.error } : {}) },
        ]),
      ),
      incident: {
        id: state.incidentId,
        target: state.targetKey,
        runbook: this.runbook.name,
        escalated: this.escalated,
        dryRun: this.input.dryRun,
        alertFiring: state.alertFiring,
      },
    };
  }

  /** Phase and status always; the attributes that never change only with `initial`. */
  publishSearchAttributes(initial = false): void {
    const state = this.state;
    upsertSearchAttributes([
      ...(initial
        ? identityAttributes({
            runbook: this.runbook.name,
            targetKey: state.targetKey,
            labels: state.alert.labels,
            dryRun: this.input.dryRun,
          })
        : []),
      ...progressAttributes(state.phase, state.status),
    ]);
  }

  enterPhase(phase: Phase | 'done'): void {
    if (this.state.phase === phase) return;
    this.state.phase = phase;
    this.note('phase', `phase ${phase}`);
    this.publishSearchAttributes();
  }

  /** Marks the incident escalated and moves the cursor to the escalation steps. */
  startEscalation(reason: string): void {
    this.escalated = true;
    this.state.status = 'escalated';
    this.state.escalationReason = reason;
    this.note('escalate', `escalated: ${reason}`);
    this.stage = 'escalation';
    this.cursor = this.escalateFrom === -1 ? this.steps.length : this.escalateFrom;
    this.enterPhase('escalate');
    this.publishSearchAttributes();
  }

  /** Records the incident's end in its state and search attributes. */
  finish(stop: StopIncident): IncidentState {
    const state = this.state;
    state.status = stop.status;
    state.resolution = stop.resolution;
    state.closedAt = nowIso();
    state.currentStep = undefined;
    state.pendingApproval = undefined;
    state.phase = 'done';
    this.note('outcome', `${stop.status}: ${stop.resolution}`);
    this.publishSearchAttributes();
    return state;
  }

  historyTooLong(): boolean {
    const info = workflowInfo();
    return (
      info.continueAsNewSuggested ||
      info.historyLength >= (this.input.continueAsNewAt ?? CONTINUE_AS_NEW_AT_EVENTS)
    );
  }

  /** What the next run starts from (continue-as-new). */
  resumePoint(): ResumePoint {
    return {
      state: this.state,
      cursor: this.cursor,
      stage: this.stage,
      escalated: this.escalated,
      mutated: this.mutated,
      visits: this.visits,
      vars: this.vars,
      ...(this.slackTs ? { slackTs: this.slackTs } : {}),
      ...(this.slackChannel ? { slackChannel: this.slackChannel } : {}),
    };
  }
}
