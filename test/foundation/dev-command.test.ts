// `rebound dev` as a user runs it: a real process with the embedded Temporal, stopped by a signal,
// started again on the same data directory.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../../src/dev-server';
import { runRebound, startRebound, DEV_READY_TIMEOUT_MS } from '../support/processes';
import { temporalCliPath } from '../support/temporal';

function processesUsing(dataDir: string): string {
  try {
    return execFileSync('pgrep', ['-af', dataDir], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/** What still runs with the data directory in its command line once the guard had time to act. */
async function leftRunning(dataDir: string): Promise<string> {
  // The guard stops the server with TERM and waits up to 10 s before KILL.
  const deadline = Date.now() + 20_000;
  while (processesUsing(dataDir) !== '' && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  return processesUsing(dataDir);
}

describe('rebound dev', () => {
  it('starts Temporal, worker and receiver, stops cleanly, and keeps incidents across restarts', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-dev-'));
    const [temporalPort, uiPort, receiverPort] = [await freePort(), await freePort(), await freePort()];
    const env = {
      TEMPORAL_CLI_PATH: temporalCliPath(),
      REBOUND_DATA_DIR: dataDir,
      REBOUND_TEMPORAL_PORT: String(temporalPort),
      REBOUND_UI_PORT: String(uiPort),
      REBOUND_PORT: String(receiverPort),
      TEMPORAL_TASK_QUEUE: 'dev-test',
    };
    const first = startRebound(['dev'], env);
    let firstExit: number | null;
    try {
      await first.waitFor(/Press Ctrl-C to stop/, DEV_READY_TIMEOUT_MS);
      const out = first.output();
      assert.match(out, new RegExp(`receiver: +http://127\\.0\\.0\\.1:${receiverPort}`));
      assert.match(out, new RegExp(`temporal: +127\\.0\\.0\\.1:${temporalPort}`));
      assert.match(out, new RegExp(`web ui: +http://127\\.0\\.0\\.1:${uiPort}`));
      const ready = await fetch(`http://127.0.0.1:${receiverPort}/readyz`);
      assert.equal(ready.status, 200);
      const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
      assert.equal(ui.status, 200);

      const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
      const client = new Client({ connection });
      // A workflow type no worker knows keeps it open, as an incident waiting on a human would be.
      await client.workflow.start('no-such-workflow', {
        taskQueue: 'nobody-polls',
        workflowId: 'survives-restart',
      });
      const retention = await connection.workflowService.describeNamespace({ namespace: 'default' });
      assert.equal(Number(retention.config?.workflowExecutionRetentionTtl?.seconds), 30 * 86_400);
      await connection.close();
    } finally {
      firstExit = await first.stop('SIGTERM');
    }
    assert.equal(firstExit, 0, first.output());
    assert.match(first.output(), /temporal stopped/);
    assert.equal(processesUsing(dataDir), '', 'nothing is left running after SIGTERM');

    const second = startRebound(['dev'], env);
    let secondExit: number | null;
    try {
      await second.waitFor(/Press Ctrl-C to stop/, DEV_READY_TIMEOUT_MS);
      const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
      const client = new Client({ connection });
      const description = await client.workflow.getHandle('survives-restart').describe();
      assert.equal(description.status.name, 'RUNNING');
      await client.workflow.getHandle('survives-restart').terminate('test done');
      await connection.close();
    } finally {
      secondExit = await second.stop('SIGINT');
    }
    assert.equal(secondExit, 0, second.output());
    assert.equal(processesUsing(dataDir), '');
  });

  it('never leaves Temporal running, even when forced to exit by a second signal', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-dev-'));
    const env = {
      TEMPORAL_CLI_PATH: temporalCliPath(),
      REBOUND_DATA_DIR: dataDir,
      REBOUND_TEMPORAL_PORT: String(await freePort()),
      REBOUND_UI_PORT: '0',
      REBOUND_PORT: String(await freePort()),
    };
    const dev = startRebound(['dev'], env);
    await dev.waitFor(/Press Ctrl-C to stop/, DEV_READY_TIMEOUT_MS);
    await new Promise((r) => setTimeout(r, 1000));
    dev.child.kill('SIGINT');
    await dev.waitFor(/SIGINT received: shutting down/);
    const code = await dev.stop('SIGINT');
    assert.notEqual(code, 0, 'a forced exit says so in its status');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(processesUsing(dataDir), '', 'the embedded Temporal is gone too');
  });

  it('never leaves Temporal running when it dies without running exit handlers (a native crash, SIGKILL)', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-dev-'));
    const env = {
      TEMPORAL_CLI_PATH: temporalCliPath(),
      REBOUND_DATA_DIR: dataDir,
      REBOUND_TEMPORAL_PORT: String(await freePort()),
      REBOUND_UI_PORT: '0',
      REBOUND_PORT: String(await freePort()),
    };
    const dev = startRebound(['dev'], env);
    await dev.waitFor(/Press Ctrl-C to stop/, DEV_READY_TIMEOUT_MS);
    assert.notEqual(processesUsing(dataDir), '', 'the embedded Temporal runs');
    // SIGKILL stands for every death that skips exit handlers (an abort in native code included).
    await dev.stop('SIGKILL');
    assert.equal(await leftRunning(dataDir), '', 'the embedded Temporal is gone with it');
    // ...so the next `rebound dev` starts on the same port.
    const again = startRebound(['dev'], env);
    try {
      await again.waitFor(/Press Ctrl-C to stop/, DEV_READY_TIMEOUT_MS);
    } finally {
      await again.stop('SIGTERM');
    }
    assert.equal(await leftRunning(dataDir), '');
  });

  it('refuses a bad setting with a message naming it, before starting anything', async () => {
    const result = await runRebound(['dev', '--receiver-port', 'eighty']);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /receiver\.port \(from --receiver-port\): "eighty" is not valid; expected a whole number/,
    );
  });
});
