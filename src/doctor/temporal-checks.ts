// The doctor's Temporal checks: the frontend answers (and its version), the namespace exists and keeps
// closed incidents long enough, Rebound's search attributes are registered with the right types, and
// workers poll the task queue (and each Docker host's queue the runbooks send steps to).
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { Config } from '../config';
import { dockerTaskQueue } from '../task-queues';
import { clientConnectionOptions } from '../temporal-connection';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { withTimeout } from '../with-timeout';
import { CHECK_TIMEOUT_MS, ok, problem, warning, why, type CheckResult } from './check-result';
import type { RunbookNeeds } from './runbook-checks';

function formatDays(ms: number): string {
  const days = ms / 86_400_000;
  return days >= 1 ? `${Number.isInteger(days) ? days : days.toFixed(1)}d` : `${Math.round(ms / 3_600_000)}h`;
}

function fixTemporal(config: Config): string {
  return config.temporal.address.startsWith('127.0.0.1') || config.temporal.address.startsWith('localhost')
    ? 'start it with `rebound dev` (or `npm start`), or set TEMPORAL_ADDRESS to your cluster'
    : `check that ${config.temporal.address} is Temporal's frontend and reachable from here (TEMPORAL_ADDRESS, TLS and API key settings)`;
}

async function pollers(
  client: Client,
  namespace: string,
  name: string,
  type: temporal.api.enums.v1.TaskQueueType,
): Promise<number> {
  const response = await client.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
    client.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: type,
    }),
  );
  return response.pollers?.length ?? 0;
}

/** Temporal reachable and its version; the namespace, its retention, the search attributes; workers polling. */
export async function checkTemporal(config: Config, needs: RunbookNeeds): Promise<CheckResult[]> {
  const { address, namespace, taskQueue } = config.temporal;
  let connection: Connection;
  try {
    connection = await withTimeout(
      Connection.connect({ ...clientConnectionOptions(config), connectTimeout: '3s' }),
      CHECK_TIMEOUT_MS,
      address,
    );
  } catch (error) {
    return [problem('temporal', `cannot reach Temporal at ${address}: ${why(error)}`, fixTemporal(config))];
  }
  const client = new Client({ connection, namespace });
  const deadline = (): number => Date.now() + CHECK_TIMEOUT_MS;
  const results: CheckResult[] = [];
  try {
    try {
      const info = await connection.withDeadline(deadline(), () =>
        connection.workflowService.getSystemInfo({}),
      );
      results.push(
        ok('temporal', `reachable at ${address}, server ${info.serverVersion || 'version unknown'}`),
      );
    } catch (error) {
      return [
        problem('temporal', `Temporal at ${address} does not answer: ${why(error)}`, fixTemporal(config)),
      ];
    }

    try {
      const ns = await connection.withDeadline(deadline(), () =>
        connection.workflowService.describeNamespace({ namespace }),
      );
      results.push(
        ok(
          'namespace',
          `${namespace} exists (${ns.namespaceInfo?.state === temporal.api.enums.v1.NamespaceState.NAMESPACE_STATE_REGISTERED ? 'registered' : 'state ' + String(ns.namespaceInfo?.state)})`,
        ),
      );
      const retentionMs = tsToMs(ns.config?.workflowExecutionRetentionTtl ?? undefined) ?? 0;
      if (retentionMs > 0 && retentionMs < 7 * 86_400_000)
        results.push(
          warning(
            'retention',
            `closed incidents are deleted ${formatDays(retentionMs)} after they close (namespace ${namespace})`,
            `keep them longer: REBOUND_RETENTION=30d rebound dev, or temporal operator namespace update --retention 30d ${namespace}; archive with rebound history export --all`,
          ),
        );
      else
        results.push(
          ok(
            'retention',
            retentionMs > 0 ? `closed incidents are kept ${formatDays(retentionMs)}` : 'unlimited',
          ),
        );
    } catch (error) {
      return [
        ...results,
        problem(
          'namespace',
          `namespace ${namespace} cannot be read: ${why(error)}`,
          `create it (temporal operator namespace create --retention 30d ${namespace}, or deploy/temporal/setup.sh), or set TEMPORAL_NAMESPACE`,
        ),
      ];
    }

    try {
      const listed = await connection.withDeadline(deadline(), () =>
        connection.operatorService.listSearchAttributes({ namespace }),
      );
      const custom = listed.customAttributes ?? {};
      const typeName = (value: number | null | undefined): string =>
        (temporal.api.enums.v1.IndexedValueType[value ?? 0] ?? '').replace('INDEXED_VALUE_TYPE_', '');
      const missing = SEARCH_ATTRIBUTES.filter(([name]) => custom[name] === undefined);
      const wrong = SEARCH_ATTRIBUTES.filter(
        ([name, type]) => custom[name] !== undefined && typeName(custom[name]) !== type.toUpperCase(),
      );
      if (missing.length === 0 && wrong.length === 0)
        results.push(ok('search attributes', `all ${SEARCH_ATTRIBUTES.length} of Rebound's are registered`));
      else {
        const commands = missing
          .map(
            ([name, type]) =>
              `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}`,
          )
          .join('; ');
        results.push(
          problem(
            'search attributes',
            [
              missing.length > 0 ? `missing: ${missing.map(([n]) => n).join(', ')}` : '',
              wrong.length > 0 ? `wrong type: ${wrong.map(([n, t]) => `${n} (want ${t})`).join(', ')}` : '',
            ]
              .filter(Boolean)
              .join('; ') + ' — incidents cannot start without them',
            missing.length > 0
              ? `register them (deploy/temporal/setup.sh does it): ${commands}`
              : 'remove and re-create them with the right type (temporal operator search-attribute)',
          ),
        );
      }
    } catch (error) {
      results.push(
        warning(
          'search attributes',
          `cannot list them: ${why(error)}`,
          'check that this identity may call the operator API, or compare with `temporal operator search-attribute list`',
        ),
      );
    }

    try {
      const workflowPollers = await pollers(
        client,
        namespace,
        taskQueue,
        temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      );
      results.push(
        workflowPollers > 0
          ? ok(
              'worker',
              `${workflowPollers} worker${workflowPollers === 1 ? '' : 's'} polling task queue ${taskQueue}`,
            )
          : problem(
              'worker',
              `no worker polls task queue ${taskQueue} (namespace ${namespace}): incidents would wait forever`,
              'start one: `rebound worker` with the same TEMPORAL_* settings (or `rebound dev`), and check TEMPORAL_TASK_QUEUE matches',
            ),
      );
      for (const host of needs.dockerHosts) {
        const queue = dockerTaskQueue(taskQueue, host);
        const count = await pollers(
          client,
          namespace,
          queue,
          temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        );
        results.push(
          count > 0
            ? ok(`docker host ${host}`, `${count} worker${count === 1 ? '' : 's'} serving ${queue}`)
            : problem(
                `docker host ${host}`,
                `runbooks send container steps to host ${host}, and no worker serves its queue ${queue}`,
                `on that host run: REBOUND_DOCKER_HOST_NAME=${host} rebound worker`,
              ),
        );
      }
    } catch (error) {
      results.push(
        warning('worker', `cannot describe task queue ${taskQueue}: ${why(error)}`, fixTemporal(config)),
      );
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
  return results;
}
