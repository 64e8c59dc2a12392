// The safety workflows' contract: per-target locks, per-target remediation budgets, and the
// control workflow that holds the kill switch and the global breaker. Shared by the workflows,
// the activities that talk to them, and the CLI.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export const CONTROL_WORKFLOW_TYPE = 'control';
export const BUDGET_WORKFLOW_TYPE = 'targetBudget';
export const LOCK_WORKFLOW_TYPE = 'targetLock';

// Safety state is kept per task queue, that is per Rebound deployment sharing one namespace.
// Locks and budgets are keyed by the resource a mutating step acts on (a container on a host, a URL origin).

export function controlWorkflowId(taskQueue: string): string {
  return `rebound-control/${taskQueue}`;
}
export function lockWorkflowId(taskQueue: string, resource: string): string {
  return `lock/${taskQueue}/${resource}`;
}
/** The resource a lock's workflow id names (lockWorkflowId backwards); another id comes back whole. */
export function lockResource(workflowId: string, taskQueue?: string): string {
  const prefix = taskQueue === undefined ? undefined : `lock/${taskQueue}/`;
  if (prefix !== undefined && workflowId.startsWith(prefix)) return workflowId.slice(prefix.length);
  const parts = workflowId.split('/');
  return parts.length > 2 && parts[0] === 'lock' ? parts.slice(2).join('/') : workflowId;
}
export function budgetWorkflowId(taskQueue: string, resource: string): string {
  return `budget/${taskQueue}/${resource}`;
}

// --- lock ---

export interface LockInput {
  resource: string;
  holder: string;
}
export const releaseLockSignal = defineSignal('release');

// --- budget ---

export interface BudgetPolicy {
  /** At most this many mutating actions per window... */
  max: number;
  windowMs: number;
  /** ...with growing waits between them: backoff × coefficient^(n-1), capped. */
  backoffMs: number;
  backoffCoefficient: number;
  maxBackoffMs: number;
}

export interface BudgetRequest {
  /** Idempotency key: one per incident, step and visit, so a retried activity consumes once. */
  key: string;
  incidentId: string;
  stepId: string;
  action: string;
  policy: BudgetPolicy;
  /** The caller's wall-clock time when it asked (ms since the epoch). */
  requestedAtMs?: number;
  /** When the key is already counted, its action's time becomes the later of now and requestedAtMs. */
  restamp?: boolean;
}

export type BudgetAnswer =
  | { allowed: true; remaining: number; used: number }
  | { allowed: false; reason: 'backoff'; retryAt: string; used: number; remaining: number }
  | { allowed: false; reason: 'exhausted'; nextAt: string; used: number; max: number; windowMs: number };

export interface BudgetAction {
  key: string;
  at: string;
  incidentId: string;
  stepId: string;
  action: string;
}

export interface BudgetStatus {
  resource: string;
  policy?: BudgetPolicy;
  actions: BudgetAction[];
  remaining: number;
  nextAllowedAt?: string;
}

export const consumeBudgetUpdate = defineUpdate<BudgetAnswer, [BudgetRequest]>('consume');
export const resetBudgetUpdate = defineUpdate<BudgetStatus, [{ identity: string }]>('reset');
/**
 * Takes back an action counted for a step that then did not act (its admission said paused or
 * breaker after the budget was asked alongside it). Only the key's own action is removed.
 */
export const refundBudgetUpdate = defineUpdate<{ refunded: boolean }, [{ key: string }]>('refund');
export const budgetStatusQuery = defineQuery<BudgetStatus>('status');

// --- control: kill switch and breaker ---

export interface BreakerPolicy {
  /** Trip when more than this many targets are being remediated at once. */
  maxActive: number;
  /** ...or more than this share of the targets seen in the last hour (0 turns it off). */
  maxShare: number;
  /** The share applies only once this many targets have been seen. */
  minTargetsForShare: number;
  /** Close by itself after this long without a refused remediation. */
  quietMs: number;
  /** A registration not renewed or left within this long is dropped (a dead incident). */
  leaseMs: number;
}

export interface SummaryChannels {
  slackChannel?: string;
  email?: string[];
}

export interface AdmitRequest {
  incidentId: string;
  runbook: string;
  target: string;
  resources: string[];
  policy: BreakerPolicy;
  summary: SummaryChannels;
}

export type AdmitAnswer =
  { decision: 'act' } | { decision: 'paused'; reason: string } | { decision: 'breaker'; reason: string };

export interface PauseRequest {
  identity: string;
  /** A runbook name, or absent for everything. */
  runbook?: string;
  reason?: string;
}

export interface ResumeRequest {
  identity: string;
  runbook?: string;
  /** Also close the breaker. */
  closeBreaker?: boolean;
  /** Why (the console requires one); kept with the update in the control workflow's history. */
  reason?: string;
}

export interface ControlStatus {
  pausedAll?: { by: string; at: string; reason?: string };
  pausedRunbooks: Record<string, { by: string; at: string; reason?: string }>;
  breaker: {
    open: boolean;
    openedAt?: string;
    reason?: string;
    refused: Array<{ incidentId: string; target: string; at: string }>;
    lastRefusedAt?: string;
    closesAt?: string;
  };
  active: Array<{ incidentId: string; target: string; runbook: string; since: string }>;
  recentTargets: number;
  log: Array<{ at: string; message: string }>;
}

export const admitUpdate = defineUpdate<AdmitAnswer, [AdmitRequest]>('admit');
export const leaveUpdate = defineUpdate<void, [{ incidentId: string }]>('leave');
export const pauseUpdate = defineUpdate<ControlStatus, [PauseRequest]>('pause');
export const resumeUpdate = defineUpdate<ControlStatus, [ResumeRequest]>('resume');
export const controlStatusQuery = defineQuery<ControlStatus>('status');
