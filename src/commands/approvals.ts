// `rebound approve`, `rebound reject`, `rebound close` and `rebound incidents pending`: humans in the
// loop from a terminal. Whoever can reach Temporal can decide, so `--as` names the person; the
// incident's rules (approvers, groups, no self-approval) still apply.
import type { Command } from 'commander';
import {
  applyDecision,
  closeIncident,
  pendingApprovals,
  type DecisionResult,
  type PendingRow,
} from '../decisions';
import { escapeControls, escapedStrings, jsonForTerminal, printErr, printOut } from '../terminal-text';
import { action, configFromOptions, section, UserError, withSettings, withTemporal } from './common';

function identityOption(value: unknown): string {
  const identity = typeof value === 'string' ? value.trim() : '';
  if (!identity) throw new UserError('--as <name> is required: who is deciding');
  return identity;
}

function describeResult(incidentId: string, result: DecisionResult): string {
  const r = escapedStrings(result.recorded);
  const verb = r.decision === 'approve' ? 'approved' : 'rejected';
  const lines = [
    `${r.identity} ${verb} step ${r.stepId} of incident ${escapeControls(incidentId)} via ${r.channel} at ${r.at}${r.comment ? `: ${r.comment}` : ''}`,
  ];
  if (result.duplicate) lines.push('(already recorded earlier; recorded once)');
  const pending = result.state?.pendingApproval;
  if (pending && pending.stepId === r.stepId)
    lines.push(
      `still waiting: ${pending.approvedBy.length} of ${pending.minApprovers} approvals (approved by ${escapeControls(pending.approvedBy.join(', ')) || 'nobody'})`,
    );
  return lines.join('\n');
}

function formatPending(rows: PendingRow[]): string {
  if (rows.length === 0) return 'No incident is waiting for an approval.';
  return rows
    .map((row) => escapedStrings(row))
    .map((r) =>
      [
        `${r.incidentId}  step ${r.stepId}`,
        `  prompt:    ${r.prompt}`,
        `  approvers: ${r.approvers.join(', ') || 'nobody'} (${r.minApprovers} needed)`,
        `  approved:  ${r.approvedBy.join(', ') || 'nobody yet'} (${r.approvedBy.length}/${r.minApprovers})`,
        `  since:     ${r.since}`,
        `  deadline:  ${r.deadline}`,
      ].join('\n'),
    )
    .join('\n\n');
}

function decisionCommand(program: Command, decision: 'approve' | 'reject'): void {
  withSettings(
    program
      .command(decision)
      .description(
        decision === 'approve'
          ? 'Approve the step an incident waits on (exit 1 refused, 3 no open incident, 4 Temporal unreachable)'
          : 'Reject the step an incident waits on (exit 1 refused, 3 no open incident, 4 Temporal unreachable)',
      )
      .argument('<incident>', 'incident id (the workflow id, e.g. incident/failover/shop)')
      .option('--step <id>', 'the approval step (default: the one pending)')
      .option('--as <name>', 'who is deciding (checked against the step’s approvers)')
      .option('--comment <text>', 'why, for the audit record')
      .option('--request-id <id>', 'idempotency key; the same decision with the same key is recorded once'),
    section('temporal'),
  ).action(
    action(async (incidentId: string, options: Record<string, unknown>) => {
      const { step, as, comment, requestId, ...settings } = options;
      const identity = identityOption(as);
      const config = configFromOptions(settings);
      const result = await withTemporal(config, (client) =>
        applyDecision(client, config, {
          incidentId,
          decision,
          identity,
          channel: 'cli',
          ...(typeof step === 'string' ? { stepId: step } : {}),
          ...(typeof comment === 'string' && comment ? { comment } : {}),
          ...(typeof requestId === 'string' && requestId ? { requestId } : {}),
        }),
      );
      printOut(describeResult(incidentId, result));
    }),
  );
}

export function registerApprovalCommands(program: Command): void {
  decisionCommand(program, 'approve');
  decisionCommand(program, 'reject');

  withSettings(
    program
      .command('close')
      .description('Close an escalated incident by hand (it stops waiting for its alert to resolve)')
      .argument('<incident>', 'incident id')
      .option('--as <name>', 'who is closing it')
      .option('--comment <text>', 'why, for the audit record'),
    section('temporal'),
  ).action(
    action(async (incidentId: string, options: Record<string, unknown>) => {
      const { as, comment, ...settings } = options;
      const identity = identityOption(as);
      const config = configFromOptions(settings);
      const { state, duplicate } = await withTemporal(config, (client) =>
        closeIncident(client, {
          incidentId,
          identity,
          channel: 'cli',
          ...(typeof comment === 'string' && comment ? { comment } : {}),
        }),
      );
      printOut(
        `${identity} closed incident ${state.incidentId}${state.closedBy?.comment ? `: ${state.closedBy.comment}` : ''}${duplicate ? '\n(already closed earlier; recorded once)' : ''}`,
      );
    }),
  );

  // The `incidents` group may already exist (other incident commands register it); add to it.
  const incidents =
    program.commands.find((c) => c.name() === 'incidents') ??
    program.command('incidents').description('Find and inspect incidents');
  withSettings(
    incidents
      .command('pending')
      .description('List running incidents waiting for an approval: step, prompt, approvers, since, deadline')
      .option('--json', 'print JSON')
      .option('--timeout <seconds>', 'how long each incident may take to answer (default 5)'),
    section('temporal'),
  ).action(
    action(async (options: Record<string, unknown>) => {
      const { json, timeout, ...settings } = options;
      const config = configFromOptions(settings);
      const { rows, unanswered } = await withTemporal(config, (client) =>
        pendingApprovals(client, { queryTimeoutMs: Number(timeout) > 0 ? Number(timeout) * 1000 : 5_000 }),
      );
      printOut(json ? jsonForTerminal(rows) : formatPending(rows));
      if (unanswered.length > 0)
        printErr(
          `rebound: ${unanswered.length} running incident(s) did not answer within the timeout (is a worker running?): ${unanswered.join(', ')}`,
        );
    }),
  );
}
