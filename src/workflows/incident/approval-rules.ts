// Approval rules, as pure functions: the update validator calls them synchronously, so a refused
// decision never reaches the history.
import type { Duration } from '../../runbook-lang/types';
import type { ApprovalDecision, PendingApproval, RecordedDecision } from '../contract';

export interface ApprovalSpec {
  approvers: string[];
  groups: string[];
  minApprovers: number;
  allowSelfApproval: boolean;
  prompt: string;
  timeout: Duration;
  onTimeout: 'escalate' | 'reject' | 'proceed';
  reminders: Array<{ after: Duration; channel: 'slack' | 'email'; to?: string | string[] }>;
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return value ? [value] : [];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}

/** Reads an approval step's rendered parameters, with safe defaults. */
export function approvalSpec(params: Record<string, unknown>, stepId: string): ApprovalSpec {
  const onTimeout = params.onTimeout;
  const reminders = Array.isArray(params.reminders) ? params.reminders : [];
  return {
    approvers: strings(params.approvers),
    groups: strings(params.groups),
    minApprovers:
      typeof params.minApprovers === 'number' && params.minApprovers >= 1
        ? Math.floor(params.minApprovers)
        : 1,
    allowSelfApproval: params.allowSelfApproval === true,
    prompt: typeof params.prompt === 'string' && params.prompt ? params.prompt : `Approve step ${stepId}?`,
    timeout:
      typeof params.timeout === 'string' || typeof params.timeout === 'number' ? params.timeout : '30m',
    onTimeout: onTimeout === 'reject' || onTimeout === 'proceed' ? onTimeout : 'escalate',
    reminders: reminders
      .filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null)
      .map((r) => ({
        after: typeof r.after === 'string' || typeof r.after === 'number' ? r.after : '5m',
        channel: r.channel === 'email' ? ('email' as const) : ('slack' as const),
        to: typeof r.to === 'string' || Array.isArray(r.to) ? (r.to as string | string[]) : undefined,
      })),
  };
}

export interface ApprovalContext {
  pending: PendingApproval | undefined;
  spec: ApprovalSpec | undefined;
  decisions: RecordedDecision[];
  triggeredBy: string | undefined;
}

/** Why this decision must be refused, or undefined when it may be accepted. */
export function refusal(
  ctx: ApprovalContext,
  decision: ApprovalDecision & { stepId?: string },
): string | undefined {
  const { pending, spec } = ctx;
  if (typeof decision.identity !== 'string' || decision.identity.trim() === '')
    return 'a decision needs an identity';
  if (decision.decision !== 'approve' && decision.decision !== 'reject')
    return `decision must be "approve" or "reject", not ${JSON.stringify(decision.decision)}`;
  if (!pending || !spec) {
    return decision.stepId
      ? `step "${decision.stepId}" is not waiting for approval (no approval is pending on this incident)`
      : 'no approval is pending on this incident';
  }
  if (decision.stepId && decision.stepId !== pending.stepId)
    return `step "${decision.stepId}" is not waiting for approval; the pending approval is step "${pending.stepId}"`;
  const groups = decision.groups ?? [];
  const allowed = spec.approvers.includes(decision.identity) || spec.groups.some((g) => groups.includes(g));
  if (!allowed) {
    const who = [...spec.approvers, ...spec.groups.map((g) => `group ${g}`)].join(', ');
    return `${decision.identity} may not decide step "${pending.stepId}"; allowed: ${who || 'nobody'}`;
  }
  if (
    !spec.allowSelfApproval &&
    ctx.triggeredBy !== undefined &&
    decision.identity === ctx.triggeredBy &&
    decision.decision === 'approve'
  )
    return `${decision.identity} triggered this incident and may not approve it`;
  // Only this visit of the step counts: a runbook that loops back asks everyone again.
  const earlier = ctx.decisions.find(
    (d) => d.stepId === pending.stepId && d.identity === decision.identity && d.at >= pending.since,
  );
  if (earlier && !(decision.requestId && earlier.requestId === decision.requestId))
    return `${decision.identity} already decided step "${pending.stepId}" (${earlier.decision} at ${earlier.at})`;
  return undefined;
}
