// The runbook language runs inside the workflow sandbox: bundle a workflow that uses it and run it on
// a real worker. Uses the suite's server under `npm test`, else starts a dev server of its own.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { freePort, startDevServer, type DevServer } from '../../src/dev-server';
import { locateTemporalCli } from '../../src/temporal-cli';

const quiet = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
let ownServer: DevServer | undefined;

async function serverAddress(): Promise<string> {
  const shared = process.env.REBOUND_TEST_TEMPORAL_ADDRESS;
  if (shared) return shared;
  const cli = await locateTemporalCli({ cacheDir: path.resolve(__dirname, '../../.rebound') });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-sandbox-'));
  ownServer = await startDevServer({
    cli,
    dbFile: path.join(dir, 'temporal.db'),
    port: await freePort(),
    uiPort: 0,
    retentionMs: 86_400_000,
    logFile: path.join(dir, 'temporal.log'),
  });
  return ownServer.address;
}

void describe('runbook language in the workflow sandbox', () => {
  after(async () => {
    await ownServer?.stop();
  });

  void it(
    'bundles and evaluates expressions, templates and matchers in a workflow',
    { timeout: 300_000 },
    async () => {
      const bundle = await bundleWorkflowCode({
        workflowsPath: require.resolve('./fixtures/expression-workflow'),
        logger: quiet,
      });
      assert.match(bundle.code, /expressionProbe/);
      const address = await serverAddress();
      const connection = await NativeConnection.connect({ address });
      const taskQueue = `runbook-lang-sandbox-${Date.now()}`;
      try {
        const worker = await Worker.create({
          connection,
          namespace: 'default',
          taskQueue,
          workflowBundle: bundle,
        });
        const result = await worker.runUntil(async () => {
          const client = new Client({
            connection: await Connection.connect({ address }),
            namespace: 'default',
          });
          try {
            return await client.workflow.execute<(labels: Record<string, string>) => Promise<unknown>>(
              'expressionProbe',
              {
                taskQueue,
                workflowId: `sandbox-${taskQueue}`,
                args: [{ severity: 'critical', instance: 'edge-1' }],
              },
            );
          } finally {
            await client.connection.close();
          }
        });
        assert.deepEqual(result, {
          matched: true,
          re2: [false, false, true],
          critical: true,
          rendered: { half: 1.5, size: 2, text: 'on edge-1' },
        });
      } finally {
        await connection.close();
      }
    },
  );
});
