// Gauges of Rebound's own health, read from Temporal when Prometheus scrapes /metrics: whether
// Temporal answers, whether the breaker is open, and how many workers poll each task queue
// (the main queue and every Docker host a runbook names). deploy/prometheus/rebound-health.yml
// alerts on them. Each read is bounded, so a slow Temporal never holds a scrape.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../config';
import type { RunbookCatalog } from '../runbooks/catalog';
import { controlStatusQuery, controlWorkflowId } from '../workflows/guard-contract';
import { dockerTaskQueue } from '../task-queues';

const READ_TIMEOUT_MS = 2000;
// Temporal's TaskQueueType enum (@temporalio/proto is not a direct dependency).
const TASK_QUEUE_TYPE_WORKFLOW = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;

/** The task queues workers must poll: the main one, and one per Docker host named in a runbook. */
export function expectedTaskQueues(
  baseTaskQueue: string,
  catalog: RunbookCatalog,
): Array<{ name: string; kind: 'main' | 'docker-host'; host?: string }> {
  const hosts = new Set<string>();
  for (const { runbook } of catalog.runbooks)
    for (const step of runbook.steps) if (step.host) hosts.add(step.host);
  return [
    { name: baseTaskQueue, kind: 'main' },
    ...[...hosts].sort().map((host) => ({
      name: dockerTaskQueue(baseTaskQueue, host),
      kind: 'docker-host' as const,
      host,
    })),
  ];
}

function withDeadline<T>(client: Client, fn: () => Promise<T>): Promise<T> {
  return client.connection.withDeadline(Date.now() + READ_TIMEOUT_MS, fn);
}

/** Registers the gauges; their values are read from Temporal at each scrape. */
export function registerHealthMetrics(
  registry: Registry,
  config: Config,
  client: Client,
  catalog: RunbookCatalog,
): void {
  const namespace = config.temporal.namespace;
  const queues = expectedTaskQueues(config.temporal.taskQueue, catalog);

  new Gauge({
    name: 'rebound_temporal_up',
    help: 'Whether Temporal answered this receiver within 2 s at the last scrape (1) or not (0).',
    registers: [registry],
    async collect() {
      try {
        await withDeadline(client, () => client.workflowService.getSystemInfo({}));
        this.set(1);
      } catch {
        this.set(0);
      }
    },
  });

  new Gauge({
    name: 'rebound_breaker_open',
    help: 'Whether the breaker holds remediations back (1) or not (0); absent when Temporal cannot be asked.',
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const status = await withDeadline(client, () =>
          client.workflow.getHandle(controlWorkflowId(config.temporal.taskQueue)).query(controlStatusQuery),
        );
        this.set(status.breaker.open ? 1 : 0);
      } catch (error) {
        // No control workflow yet: nothing has ever been admitted, so the breaker is closed.
        if (error instanceof WorkflowNotFoundError) this.set(0);
      }
    },
  });

  new Gauge({
    name: 'rebound_task_queue_pollers',
    help: 'Workers polling a task queue Rebound needs (the main queue, and each Docker host a runbook names), by queue and kind of task.',
    labelNames: ['task_queue', 'kind', 'host', 'task_type'],
    registers: [registry],
    async collect() {
      this.reset();
      const reads = queues.flatMap((queue) =>
        (queue.kind === 'main'
          ? ([
              ['workflow', TASK_QUEUE_TYPE_WORKFLOW],
              ['activity', TASK_QUEUE_TYPE_ACTIVITY],
            ] as const)
          : ([['activity', TASK_QUEUE_TYPE_ACTIVITY]] as const)
        ).map(async ([taskType, type]) => {
          const described = await withDeadline(client, () =>
            client.workflowService.describeTaskQueue({
              namespace,
              taskQueue: { name: queue.name },
              taskQueueType: type,
            }),
          );
          this.set(
            { task_queue: queue.name, kind: queue.kind, host: queue.host ?? '', task_type: taskType },
            described.pollers?.length ?? 0,
          );
        }),
      );
      // A queue that cannot be described is left out; rebound_temporal_up says why.
      await Promise.allSettled(reads);
    },
  });
}
