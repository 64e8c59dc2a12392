// The worker entry point: polls the task queue, runs incident workflows and their activities.
// A worker given a Docker host name serves only that host's queue, with only the Docker activities.
import {
  DefaultLogger,
  type NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions,
} from '@temporalio/worker';
import { createActivities, type ActivityOptions } from './activities';
import type { Config } from './config';
import { logger } from './log';
import { DOCKER_HOST_ACTIVITIES } from './steps/registry';
import { dockerTaskQueue } from './task-queues';
import { resolveCacheDir, workflowBundle } from './workflow-bundle';
import { workflowSource } from './runbooks/code-bundle';
import { WORKFLOW_SANDBOX_OPTIONS } from './workflow-sandbox';

const log = logger('worker');

let runtimeInstalled = false;

/** Temporal's runtime, once per process, without its own signal handlers: Rebound shuts down in order. */
export function installRuntime(level: Config['log']['level'] = 'info'): void {
  if (runtimeInstalled) return;
  const temporalLevel = level === 'debug' ? 'INFO' : 'WARN';
  Runtime.install({ logger: new DefaultLogger(temporalLevel), shutdownSignals: [] });
  runtimeInstalled = true;
}

export interface WorkerSet {
  workers: Worker[];
  /** Resolves when every worker has stopped. */
  run(): Promise<void>;
  /** Stops polling and lets activities in flight finish (up to the grace time). */
  shutdown(): Promise<void>;
}

export async function createWorkers(
  config: Config,
  connection: NativeConnection,
  overrides: Partial<WorkerOptions> = {},
  activityOptions: ActivityOptions = {},
): Promise<WorkerSet> {
  const activities = createActivities(config, undefined, activityOptions);
  const common = {
    connection,
    namespace: config.temporal.namespace,
    shutdownGraceTime: '30s',
    ...WORKFLOW_SANDBOX_OPTIONS,
    ...overrides,
  } satisfies Partial<WorkerOptions>;
  const workers: Worker[] = [];
  const hostName = config.docker.hostName;
  if (hostName) {
    const dockerActivities = Object.fromEntries(
      Object.entries(activities).filter(([name]) => DOCKER_HOST_ACTIVITIES.has(name)),
    );
    const taskQueue = dockerTaskQueue(config.temporal.taskQueue, hostName);
    workers.push(await Worker.create({ ...common, taskQueue, activities: dockerActivities }));
    log.info('serving Docker host', { host: hostName, taskQueue });
  } else {
    // Unset: the SDK's default, which it derives from the V8 heap limit (so from the machine's
    // memory). A smaller cache saved little rss and slowed the drain in the scale benchmark.
    const cachedIncidents = config.worker.cachedIncidents;
    // The bundle an earlier start built from the same sources, when there is one (webpack takes seconds).
    let bundleSource = 'given';
    if (!overrides.workflowBundle) {
      // The runbooks directory's code runbooks (*.ts) are compiled into the workflow bundle.
      const source = workflowSource(config.runbooks.dir);
      const bundle = await workflowBundle({ dir: resolveCacheDir(config.cache.dir), ...source });
      bundleSource = bundle.source === 'hit' ? 'cache' : 'built';
      common.workflowBundle ??= { code: bundle.code };
    }
    workers.push(
      await Worker.create({
        ...(cachedIncidents !== undefined ? { maxCachedWorkflows: cachedIncidents } : {}),
        ...common,
        taskQueue: config.temporal.taskQueue,
        activities,
      }),
    );
    log.info('worker polling', {
      taskQueue: config.temporal.taskQueue,
      namespace: config.temporal.namespace,
      cachedIncidents: workers[0]?.options.maxCachedWorkflows,
      workflowCode: bundleSource,
    });
  }
  let running: Promise<void> | undefined;
  return {
    workers,
    run: () => (running ??= Promise.all(workers.map((w) => w.run())).then(() => undefined)),
    shutdown: async () => {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
