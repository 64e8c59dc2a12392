// The incident workflow's public contract: its input, signals, updates and queries.
// Imported by the workflow itself and by clients (receiver, CLI); no runtime code beyond definitions.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Phase, RunbookSnapshot, StepType } from '../runbook-lang/types';

export const INCIDENT_WORKFLOW_TYPE = 'incident';

/** One alert as Rebound keeps it: what Alertmanager said about it at one moment. */
export interface AlertSnapshot {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** The alert before the first notification arrives. */
export const NO_ALERT: AlertSnapshot = {
  status: 'firing',
  labels: {},
  annotations: {},
  startsAt: '',
  endsAt: '',
  generatorURL: '',
  fingerprint: '',
};

/** A notification about the incident's alert, as delivered by the receiver. */
export interface AlertNotification {
  alert: AlertSnapshot;
  /** Where it came from: `alertmanager`, `grafana`, `cli`. */
  source: string;
  /** Receiver name and group key from the webhook, for the audit record. */
  receiver?: string;
  groupKey?: string;
  /** When the receiver accepted it (ISO time, receiver clock). */
  receivedAt: string;
}

export interface IncidentInput {
  incidentId: string;
  targetKey: string;
  snapshot: RunbookSnapshot;
  /** Replace every mutating step by a record of what it would have done. */
  dryRun: boolean;
  /** Who or what opened the incident (for "may not approve own trigger"). */
  triggeredBy?: string;
  /** Set when continuing as new: where the previous run stopped. */
  resume?: ResumePoint;
  /** Which locks, budgets and control workflow apply: the receiver's task queue (default "default"). */
  safetyScope?: string;
  /** History length at which the incident continues as new (default 10,000; tests lower it). */
  continueAsNewAt?: number;
}

/** Everything the interpreter needs to pick up where a previous run (before continue-as-new) stopped. */
export interface ResumePoint {
  state: IncidentState;
  /** Index of the next step to run in the runbook's step list. */
  cursor: number;
  /** Which part of the procedure it was in. */
  stage: 'steps' | 'escalation' | 'holding';
  escalated: boolean;
  /** A mutating step has run for real (not dry). */
  mutated: boolean;
  visits: Record<string, number>;
  vars: Record<string, unknown>;
  slackTs?: string;
  slackChannel?: string;
}

export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'waiting';
export type IncidentStatus = 'open' | 'resolved' | 'failed' | 'escalated';

export interface StepRecord {
  id: string;
  type: StepType;
  phase: Phase;
  status: StepStatus;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  /** Resolved parameters, as passed to the activity. */
  params?: Record<string, unknown>;
  output?: unknown;
  error?: { type: string; message: string };
  /** Why the step was skipped or what it would have done in a dry run. */
  note?: string;
  /** Times the interpreter reached this step (goto loops revisit steps). */
  visits?: number;
}

export interface ApprovalDecision {
  decision: 'approve' | 'reject';
  identity: string;
  channel: 'cli' | 'http' | 'slack' | 'web' | 'test';
  comment?: string;
  /** Client-chosen id so a repeated click or retry is recorded once. */
  requestId?: string;
  /** Groups the identity belongs to, resolved from configuration by the channel that authenticated it. */
  groups?: string[];
}

export interface RecordedDecision extends ApprovalDecision {
  stepId: string;
  at: string;
}

export interface PendingApproval {
  stepId: string;
  since: string;
  deadline: string;
  approvers: string[];
  minApprovers: number;
  approvedBy: string[];
  prompt: string;
}

export interface TimelineEntry {
  at: string;
  kind: string;
  message: string;
}

export interface IncidentState {
  incidentId: string;
  runbook: string;
  runbookHash: string;
  targetKey: string;
  dryRun: boolean;
  status: IncidentStatus;
  /** Detail of the outcome: remediated, resolved-before-action, escalated reason, failure reason. */
  resolution?: string;
  phase: Phase | 'done';
  currentStep?: string;
  alert: AlertSnapshot;
  alertFiring: boolean;
  notifications: number;
  steps: StepRecord[];
  pendingApproval?: PendingApproval;
  decisions: RecordedDecision[];
  timeline: TimelineEntry[];
  openedAt: string;
  closedAt?: string;
  /** Why the incident escalated, when it did. */
  escalationReason?: string;
  closedBy?: CloseRequest & { at: string };
}

/** Every later notification about the incident's alert: repeats, group changes, resolution. */
export const alertSignal = defineSignal<[AlertNotification]>('alert');
/** Approve or reject the pending approval step; validated synchronously before it is accepted. */
export const decideUpdate = defineUpdate<RecordedDecision, [ApprovalDecision & { stepId?: string }]>(
  'decide',
);
export const stateQuery = defineQuery<IncidentState>('state');

export interface CloseRequest {
  identity: string;
  channel: ApprovalDecision['channel'];
  comment?: string;
}
/** A human closes an escalated incident that is waiting for its alert to resolve. */
export const closeUpdate = defineUpdate<IncidentState, [CloseRequest]>('close');

/** The workflow id of the incident for this runbook and target. */
export function incidentWorkflowId(runbookName: string, targetKey: string): string {
  return `incident/${runbookName}/${targetKey}`;
}
