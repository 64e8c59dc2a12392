// The worker entry point: polls the task queue, runs incident workflows and their activities.
// A worker given a Docker host name serves only that host's queue, with only the Docker activities.
import os from 'node:os';
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

const MiB = 2 ** 20;
/** What one cached incident adds to the worker's rss, measured by `npm run bench -- scale` (0.65-0.85 MiB). */
const BYTES_PER_CACHED_INCIDENT = 0.7 * MiB;
/** The most memory the default gives the workflow cache, however large the machine. */
const MAX_DEFAULT_CACHE_BYTES = 512 * MiB;

/** The memory this process may use: the machine's, or its cgroup's limit when lower (a container). */
function availableMemory(): number {
  const total = os.totalmem();
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  return constrained && constrained > 0 && constrained < total ? constrained : total;
}

/**
 * The workflow cache size when worker.cachedIncidents is not set: an eighth of the memory the
 * process may use, at most 512 MiB, in incidents. The SDK's own default grows with the V8 heap
 * limit (2,310 on a 23 GiB machine) although a cached incident's memory lies mostly outside that
 * heap; past the cache an incident's next event replays its history (tens of milliseconds).
 */
export function defaultCachedIncidents(memory: number = availableMemory()): number {
  const budget = Math.min(memory / 8, MAX_DEFAULT_CACHE_BYTES);
  return Math.max(10, Math.floor(budget / BYTES_PER_CACHED_INCIDENT));
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
    const maxCachedWorkflows = config.worker.cachedIncidents ?? defaultCachedIncidents();
    // The bundle an earlier start built from the same sources, when there is one (webpack takes seconds).
    let bundleSource = 'given';
    if (!overrides.workflowBundle) {
      const bundle = await workflowBundle({ dir: resolveCacheDir(config.cache.dir) });
      bundleSource = bundle.source === 'hit' ? 'cache' : 'built';
      common.workflowBundle ??= { code: bundle.code };
    }
    workers.push(
      await Worker.create({
        maxCachedWorkflows,
        ...common,
        taskQueue: config.temporal.taskQueue,
        activities,
      }),
    );
    log.info('worker polling', {
      taskQueue: config.temporal.taskQueue,
      namespace: config.temporal.namespace,
      cachedIncidents: workers[0]?.options.maxCachedWorkflows ?? maxCachedWorkflows,
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
