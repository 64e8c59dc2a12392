// Stopping the receiver while a webhook is still calling an unreachable Temporal. The gRPC client
// retries UNAVAILABLE calls from a timer; if the connection is closed under such a call, that timer
// throws "Channel has been shut down" as an uncaught exception (the flake of temporal-down.test.ts,
// and a crash of `rebound serve` on shutdown). The receiver's close must wait for the call.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { after, describe, it } from 'node:test';
import { lazyClient } from '../../src/temporal-connection';
import { dedicatedDevServer } from '../support/temporal';
import { intakeConfig, runbookDir, startIntake, webhookBody } from './helpers';

/** Sends the webhook and hangs up before the answer, as an Alertmanager that is stopped does. */
function postAndHangUp(url: string, token: string, body: string, afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(`${url}/v1/alerts/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    req.on('error', () => resolve());
    req.end(body);
    setTimeout(() => {
      req.destroy();
      resolve();
    }, afterMs);
  });
}

describe('receiver shutdown', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('waits for a hand-off still retrying against an unreachable Temporal before the client closes', async () => {
    const server = await dedicatedDevServer('rebound-shutdown-');
    cleanup.push(() => server.stop());
    await server.stop(); // Temporal is unreachable from here on: every call is refused and retried.
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    cleanup.push(() => {
      process.off('uncaughtException', onUncaught);
      return Promise.resolve();
    });

    const token = randomUUID();
    const config = intakeConfig({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: 'shutdown',
      REBOUND_WEBHOOK_TOKEN: token,
      REBOUND_RUNBOOKS: runbookDir(),
    });
    const client = lazyClient(config);
    const receiver = await startIntake(config, client, 3000);
    await postAndHangUp(receiver.url, token, webhookBody('hung-up', { receiver: 'shutdown-test' }), 500);

    // As `rebound serve` stops: the receiver, then the client's connection.
    const closing = Date.now();
    await receiver.close();
    const waited = Date.now() - closing;
    await client.connection.close();
    // The retry backoff is at most 5 s: anything left behind would have fired by then.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    assert.deepEqual(
      uncaught.map((e) => String(e)),
      [],
      'nothing ran on the closed connection after the receiver closed',
    );
    assert.ok(waited < 15_000, `close waited ${waited} ms, bounded by the call's deadline`);
  });
});
