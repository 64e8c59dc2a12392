// The worker of the scale benchmark, in its own process so its memory is measured alone:
// `rebound worker` (createWorkers, configuration from the environment) with a prebuilt bundle,
// reporting process.memoryUsage() to the parent over IPC, and the workflow cache size in effect
// (the SDK's maxCachedWorkflows: REBOUND_BENCH_MAX_CACHED_WORKFLOWS when set, else the SDK's default,
// which it derives from the V8 heap limit).
import { loadConfig } from '../src/config';
import { connectWorkerConnection } from '../src/temporal-connection';
import { createWorkers, installRuntime } from '../src/worker';

async function main(): Promise<void> {
  const codePath = process.env.REBOUND_BENCH_WORKFLOW_BUNDLE;
  if (!codePath) throw new Error('REBOUND_BENCH_WORKFLOW_BUNDLE is not set');
  const config = loadConfig({ env: process.env });
  installRuntime('warn');
  const connection = await connectWorkerConnection(config);
  const cacheText = process.env.REBOUND_BENCH_MAX_CACHED_WORKFLOWS;
  const workers = await createWorkers(config, connection, {
    workflowBundle: { codePath },
    ...(cacheText ? { maxCachedWorkflows: Number(cacheText) } : {}),
  });
  const options = workers.workers[0]?.options;
  const report = (): void => {
    const m = process.memoryUsage();
    process.send?.({
      type: 'memory',
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
    });
  };
  const timer = setInterval(report, 200);
  process.on('message', (message: unknown) => {
    if (message === 'stop') {
      clearInterval(timer);
      void workers.shutdown().then(() => process.exit(0));
    }
  });
  process.send?.({
    type: 'ready',
    maxCachedWorkflows: options?.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: options?.maxConcurrentWorkflowTaskExecutions,
  });
  report();
  await workers.run();
  await connection.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
