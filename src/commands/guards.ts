// The guards from the command line: `rebound pause` and `rebound resume` (the kill switch and the
// breaker), and `rebound status` (also `rebound guards`): what is paused, the breaker, and what each
// target has left of its remediation budget. The guard workflows' names (`control`, `targetBudget`)
// are recorded in histories and keep their words.
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { budgetPolicy } from '../guard-policy';
import type { Config } from '../config';
import { formatDuration } from '../runbook-lang/duration';
import { escapedStrings, jsonForTerminal, printOut } from '../terminal-text';
import {
  BUDGET_WORKFLOW_TYPE,
  CONTROL_WORKFLOW_TYPE,
  budgetStatusQuery,
  controlStatusQuery,
  controlWorkflowId,
  pauseUpdate,
  resumeUpdate,
  type BudgetStatus,
  type ControlStatus,
} from '../workflows/guard-contract';
import { action, configFromOptions, section, withSettings, withTemporal } from './common';

export interface GuardStatus {
  taskQueue: string;
  control: ControlStatus | undefined;
  budgets: BudgetStatus[];
  policy: ReturnType<typeof budgetPolicy>;
}

export function controlStart(config: Config): WithStartWorkflowOperation<never> {
  return new WithStartWorkflowOperation<never>(CONTROL_WORKFLOW_TYPE, {
    workflowId: controlWorkflowId(config.temporal.taskQueue),
    taskQueue: config.temporal.taskQueue,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [{}] as never,
  });
}

export async function readGuardStatus(client: Client, config: Config): Promise<GuardStatus> {
  const taskQueue = config.temporal.taskQueue;
  let control: ControlStatus | undefined;
  try {
    control = await client.workflow.getHandle(controlWorkflowId(taskQueue)).query(controlStatusQuery);
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
  const budgets: BudgetStatus[] = [];
  const prefix = `budget/${taskQueue}/`;
  for await (const execution of client.workflow.list({
    query: `WorkflowType = '${BUDGET_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`,
  })) {
    if (!execution.workflowId.startsWith(prefix)) continue;
    try {
      budgets.push(await client.workflow.getHandle(execution.workflowId).query(budgetStatusQuery));
    } catch {
      // Closed between listing and asking: nothing left to show for it.
    }
  }
  budgets.sort((a, b) => a.resource.localeCompare(b.resource));
  return { taskQueue, control, budgets, policy: budgetPolicy(config) };
}

export function formatGuardStatus(status: GuardStatus): string {
  const lines: string[] = [];
  const c = status.control;
  const p = status.policy;
  lines.push(`Guards for task queue ${status.taskQueue}`);
  if (c?.pausedAll)
    lines.push(
      `PAUSED: all automation, by ${c.pausedAll.by} at ${c.pausedAll.at}${c.pausedAll.reason ? ` (${c.pausedAll.reason})` : ''}`,
    );
  const pausedRunbooks = Object.entries(c?.pausedRunbooks ?? {});
  for (const [runbook, entry] of pausedRunbooks)
    lines.push(`PAUSED: runbook ${runbook}, by ${entry.by} at ${entry.at}`);
  if (!c?.pausedAll && pausedRunbooks.length === 0) lines.push('Automation: running (nothing paused)');
  if (c?.breaker.open) {
    lines.push(`Breaker: OPEN since ${c.breaker.openedAt}: ${c.breaker.reason}`);
    lines.push(
      `  held back: ${c.breaker.refused.length} remediation(s); closes by itself at ${c.breaker.closesAt ?? '?'} if quiet, or: rebound resume --breaker --as <you>`,
    );
  } else lines.push('Breaker: closed');
  lines.push(
    `Active remediations: ${c?.active.length ?? 0}${c?.active.length ? ` (${c.active.map((a) => a.target).join(', ')})` : ''}; targets seen in the last hour: ${c?.recentTargets ?? 0}`,
  );
  lines.push(
    `Budget per target: ${p.max} action(s) per ${formatDuration(p.windowMs)}, backoff from ${formatDuration(p.backoffMs)} ×${p.backoffCoefficient} up to ${formatDuration(p.maxBackoffMs)}`,
  );
  if (status.budgets.length === 0) lines.push('  no target has used its budget in the current window');
  for (const b of status.budgets) {
    lines.push(
      `  ${b.resource}: ${b.remaining} of ${b.policy?.max ?? p.max} left${b.nextAllowedAt ? `; next allowed at ${b.nextAllowedAt}` : ''}${b.actions.length ? ` (last action ${b.actions[b.actions.length - 1]?.at} by ${b.actions[b.actions.length - 1]?.incidentId})` : ''}`,
    );
  }
  return lines.join('\n');
}

export function registerGuardCommands(program: Command): void {
  withSettings(
    program
      .command('pause')
      .description(
        'Guards: stop automation from changing anything (all runbooks, or one): incidents still open and record what they would do',
      )
      .requiredOption('--as <name>', 'who is pausing (recorded)')
      .option('--runbook <name>', 'pause only this runbook')
      .option('--reason <text>', 'why (recorded)'),
    section('temporal'),
  ).action(
    action(async (options: Record<string, unknown>) => {
      const { as, runbook, reason, ...rest } = options as { as: string; runbook?: string; reason?: string };
      const config = configFromOptions(rest);
      await withTemporal(config, (client) =>
        client.workflow.executeUpdateWithStart(pauseUpdate, {
          args: [{ identity: as, ...(runbook ? { runbook } : {}), ...(reason ? { reason } : {}) }],
          startWorkflowOperation: controlStart(config),
        }),
      );
      printOut(
        `Paused ${runbook ? `runbook ${runbook}` : 'all automation'}. Resume with: rebound resume${runbook ? ` --runbook ${runbook}` : ''} --as <you>`,
      );
    }),
  );

  withSettings(
    program
      .command('resume')
      .description(
        'Guards: let automation act again (all, or one runbook); --breaker also closes an open breaker',
      )
      .requiredOption('--as <name>', 'who is resuming (recorded)')
      .option('--runbook <name>', 'resume only this runbook')
      .option('--breaker', 'close the breaker')
      .option('--reason <text>', 'why (recorded)'),
    section('temporal'),
  ).action(
    action(async (options: Record<string, unknown>) => {
      const { as, runbook, breaker, reason, ...rest } = options as {
        as: string;
        runbook?: string;
        breaker?: boolean;
        reason?: string;
      };
      const config = configFromOptions(rest);
      await withTemporal(config, (client) =>
        client.workflow.executeUpdateWithStart(resumeUpdate, {
          args: [
            {
              identity: as,
              ...(runbook ? { runbook } : {}),
              ...(breaker ? { closeBreaker: true } : {}),
              ...(reason ? { reason } : {}),
            },
          ],
          startWorkflowOperation: controlStart(config),
        }),
      );
      printOut(
        `Resumed ${runbook ? `runbook ${runbook}` : 'automation'}${breaker ? ' and closed the breaker' : ''}.`,
      );
    }),
  );

  withSettings(
    program
      .command('status')
      .alias('guards')
      .description(
        'Show the guards: pauses, the breaker, active remediations and each target’s remaining budget (also: rebound guards)',
      )
      .option('--json', 'print JSON'),
    [...section('temporal'), ...section('safety')],
  ).action(
    action(async (options: Record<string, unknown>) => {
      const { json, ...rest } = options as { json?: boolean };
      const config = configFromOptions(rest);
      const status = await withTemporal(config, (client) => readGuardStatus(client, config));
      printOut(json ? jsonForTerminal(status) : formatGuardStatus(escapedStrings(status)));
    }),
  );
}
