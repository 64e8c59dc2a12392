// The run's shared Temporal dev server (started by scripts/run-tests.ts), and workers bound to it.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';
import { freePort, startDevServer, type DevServer } from '../../src/dev-server';
import { refuseInUnitRun } from './unit-run';
import { WORKFLOW_SANDBOX_OPTIONS } from '../../src/workflow-sandbox';

export function temporalAddress(): string {
  refuseInUnitRun('a Temporal server');
  const address = process.env.REBOUND_TEST_TEMPORAL_ADDRESS;
  if (!address) {
    throw new Error(
      'No Temporal server for this test: run the suite with `npm test` (it starts one), or set REBOUND_TEST_TEMPORAL_ADDRESS to a dev server.',
    );
  }
  return address;
}

export function temporalCliPath(): string {
  const cli = process.env.REBOUND_TEST_TEMPORAL_CLI;
  if (!cli) throw new Error('REBOUND_TEST_TEMPORAL_CLI is not set: run the suite with `npm test`.');
  return cli;
}

export async function testClient(): Promise<Client> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return new Client({ connection, namespace: 'default' });
}

/** A task queue no other test uses. */
export function uniqueTaskQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

let bundle: Promise<{ code: string }> | undefined;

/** The real workflow bundle, built once per test process. */
export function workflowBundle(): Promise<{ code: string }> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '../../src/workflows/index.ts'),
    logger: {
      log: () => {},
      trace: () => {},
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: () => {},
    },
  });
  return bundle;
}

/** Runs fn while a worker with the real workflows and the given activities polls taskQueue. */
export async function withWorker<T>(
  options: Pick<WorkerOptions, 'activities'> & Partial<WorkerOptions> & { taskQueue: string },
  fn: (worker: Worker) => Promise<T>,
): Promise<T> {
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  try {
    const worker = await Worker.create({
      connection,
      namespace: 'default',
      workflowBundle: await workflowBundle(),
      ...WORKFLOW_SANDBOX_OPTIONS,
      ...options,
    });
    return await worker.runUntil(() => fn(worker));
  } finally {
    await connection.close();
  }
}

/** A dev server of a test's own, on a SQLite file, that can be stopped and started again on the same port. */
export interface RestartableServer {
  readonly address: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function dedicatedDevServer(prefix: string): Promise<RestartableServer> {
  refuseInUnitRun('a Temporal dev server of its own');
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const options = {
    cli: temporalCliPath(),
    dbFile: path.join(dir, 'temporal.db'),
    port: await freePort(),
    uiPort: 0,
    logFile: path.join(dir, 'temporal.log'),
  };
  let server: DevServer = await startDevServer(options);
  return {
    address: server.address,
    stop: () => server.stop(),
    start: async () => {
      server = await startDevServer(options);
    },
  };
}
