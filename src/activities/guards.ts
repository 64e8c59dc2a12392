// The incident's way to the safety workflows (control: pause and breaker; budgets per target).
// Workflows cannot send updates to other workflows, so these activities do it with a client,
// starting the safety workflow when it is not running yet (update-with-start).
import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { Config } from '../config';
import { budgetPolicy } from '../guard-policy';
import {
  BUDGET_WORKFLOW_TYPE,
  CONTROL_WORKFLOW_TYPE,
  admitUpdate,
  budgetWorkflowId,
  consumeBudgetUpdate,
  controlWorkflowId,
  leaveUpdate,
  refundBudgetUpdate,
  type BreakerPolicy,
} from '../workflows/guard-contract';
import type { GuardActivities } from './types';

export function breakerPolicy(config: Config): BreakerPolicy {
  const s = config.safety;
  return {
    maxActive: s.breakerMaxActive,
    maxShare: s.breakerMaxPercent / 100,
    minTargetsForShare: s.breakerMinTargets,
    quietMs: s.breakerQuiet,
    leaseMs: s.lease,
  };
}

/**
 * Runs a call to a safety workflow bounded in time and cancelled with the activity. The safety
 * workflows may be served by this very worker: while it drains it stops taking workflow tasks, so an
 * unbounded wait here would hold the shutdown forever. A timed-out call is retried by Temporal.
 */
async function bounded<T>(client: Client, fn: () => Promise<T>): Promise<T> {
  const signal = Context.current().cancellationSignal;
  return client.connection.withAbortSignal(signal, () =>
    client.connection.withDeadline(Date.now() + SAFETY_CALL_TIMEOUT_MS, fn),
  );
}

const SAFETY_CALL_TIMEOUT_MS = 20_000;

function updateId(parts: string[]): string {
  return parts.join('|').slice(0, 900);
}

export function createGuardActivities(config: Config, client: () => Client): GuardActivities {
  const summary = {
    ...(config.safety.summarySlackChannel ? { slackChannel: config.safety.summarySlackChannel } : {}),
    ...(config.safety.summaryEmail
      ? {
          email: config.safety.summaryEmail
            .split(',')
            .map((a) => a.trim())
            .filter(Boolean),
        }
      : {}),
  };
  return {
    async safetyAdmit(input) {
      const answer = await bounded(client(), () =>
        client().workflow.executeUpdateWithStart(admitUpdate, {
          args: [
            {
              incidentId: input.incidentId,
              runbook: input.runbook,
              target: input.target,
              resources: input.resources,
              policy: breakerPolicy(config),
              summary,
            },
          ],
          // One admission per activity attempt series: a retried activity gets the same answer.
          updateId: updateId([
            'admit',
            input.incidentId,
            Context.current().info.workflowExecution?.runId ?? '',
            Context.current().info.activityId,
          ]),
          startWorkflowOperation: new WithStartWorkflowOperation(CONTROL_WORKFLOW_TYPE, {
            workflowId: controlWorkflowId(input.scope),
            // The safety workflows run where this activity runs: the incident's own task queue.
            taskQueue: Context.current().info.taskQueue,
            workflowIdConflictPolicy: 'USE_EXISTING',
            args: [{}],
          }),
        }),
      );
      return { ...answer, lockWaitMs: config.safety.lockWait };
    },

    async safetyLeave(input) {
      try {
        await bounded(client(), () =>
          client()
            .workflow.getHandle(controlWorkflowId(input.scope))
            .executeUpdate(leaveUpdate, {
              args: [{ incidentId: input.incidentId }],
            }),
        );
      } catch (error) {
        // No control workflow means nothing to leave; anything else is worth a retry.
        if ((error as Error).name === 'WorkflowNotFoundError') return;
        throw error;
      }
    },

    async budgetConsume(input) {
      return bounded(client(), () =>
        client().workflow.executeUpdateWithStart(consumeBudgetUpdate, {
          args: [
            {
              key: input.key,
              incidentId: input.incidentId,
              stepId: input.stepId,
              action: input.action,
              policy: budgetPolicy(config),
              requestedAtMs: Date.now(),
              ...(input.restamp ? { restamp: true } : {}),
            },
          ],
          // The run id too: an incident reset to before this step asks anew rather than getting the
          // answer its earlier run got (which a refund may have taken back).
          updateId: updateId([
            'consume',
            String(input.round ?? 0),
            input.key,
            Context.current().info.workflowExecution?.runId ?? '',
          ]),
          startWorkflowOperation: new WithStartWorkflowOperation(BUDGET_WORKFLOW_TYPE, {
            workflowId: budgetWorkflowId(input.scope, input.resource),
            taskQueue: Context.current().info.taskQueue,
            workflowIdConflictPolicy: 'USE_EXISTING',
            args: [{ resource: input.resource }],
          }),
        }),
      );
    },

    async budgetRefund(input) {
      try {
        return await bounded(client(), () =>
          client()
            .workflow.getHandle(budgetWorkflowId(input.scope, input.resource))
            .executeUpdate(refundBudgetUpdate, {
              args: [{ key: input.key }],
              updateId: updateId([
                'refund',
                input.key,
                Context.current().info.workflowExecution?.runId ?? '',
              ]),
            }),
        );
      } catch (error) {
        // No budget workflow: its window emptied and it ended, so nothing is counted to take back.
        if ((error as Error).name === 'WorkflowNotFoundError') return { refunded: false };
        throw error;
      }
    },
  };
}
