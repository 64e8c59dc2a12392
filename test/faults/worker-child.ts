// `rebound worker` for the fault tests, as a child process the test can SIGKILL: the same
// configuration from the environment and the same createWorkers, but with the workflow bundle the
// test built once (REBOUND_TEST_WORKFLOW_BUNDLE), so each replacement worker is up in about a second
// instead of re-bundling for ~9 s.
import { loadConfig } from '../../src/config';
import { connectWorkerConnection } from '../../src/temporal-connection';
import { createWorkers, installRuntime } from '../../src/worker';

async function main(): Promise<void> {
  const codePath = process.env.REBOUND_TEST_WORKFLOW_BUNDLE;
  if (!codePath) throw new Error('REBOUND_TEST_WORKFLOW_BUNDLE is not set');
  const config = loadConfig({ env: process.env });
  installRuntime(config.log.level);
  const connection = await connectWorkerConnection(config);
  const workers = await createWorkers(config, connection, { workflowBundle: { codePath } });
  await workers.run();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
