// A Slack click while Temporal is down (a dedicated dev server, stopped for real). Slack needs an
// answer within 3 s; the decision cannot be recorded. The clicker must not be told it was sent or
// "still lands": the first answer says it is not recorded yet, and once Rebound gives up it tells the
// clicker (chat.postEphemeral, through the bot token) that it was NOT recorded and to click again.
// Clicking again once Temporal is back records it, once.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { startReceiver, type Receiver } from '../../src/receiver';
import { ROUTE_MODULES } from '../../src/receiver/routes';
import { lazyClient } from '../../src/temporal-connection';
import { CHANNEL_ID, FakeSlack, TOKEN } from '../support/fake-slack';
import { alert, openIncident, waitForState } from '../support/incidents';
import { TestActivities } from '../support/test-activities';
import { dedicatedDevServer, uniqueTaskQueue, workflowBundle } from '../support/temporal';
import { SIGNING_SECRET, approvalRunbook, testEnv } from './harness';

function signedClick(incidentId: string): { body: string; headers: Record<string, string> } {
  const body = new URLSearchParams({
    payload: JSON.stringify({
      type: 'block_actions',
      user: { id: 'UALICE' },
      channel: { id: CHANNEL_ID },
      container: { type: 'message', channel_id: CHANNEL_ID, message_ts: '1700000000.000100' },
      actions: [
        {
          block_id: 'rebound_approval',
          action_id: 'rebound_approve',
          value: JSON.stringify({ incidentId, stepId: 'approve' }),
        },
      ],
    }),
  }).toString();
  const timestamp = Math.floor(Date.now() / 1000);
  const signature =
    'v0=' + createHmac('sha256', SIGNING_SECRET).update(`v0:${timestamp}:${body}`).digest('hex');
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature,
    },
  };
}

async function click(
  receiver: Receiver,
  incidentId: string,
): Promise<{ status: number; json: Record<string, unknown>; ms: number }> {
  const { body, headers } = signedClick(incidentId);
  const started = Date.now();
  const response = await fetch(`${receiver.url}/v1/slack/interactions`, { method: 'POST', headers, body });
  const text = await response.text();
  return {
    status: response.status,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    ms: Date.now() - started,
  };
}

async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined;
    try {
      value = await check();
    } catch {
      value = undefined; // Not yet (Temporal or its worker still coming back).
    }
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a Slack click while Temporal is down', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('is never reported as sent; the clicker is told it was not recorded, and a later click lands once', async () => {
    const server = await dedicatedDevServer('rebound-slack-outage-');
    cleanup.push(() => server.stop());
    const slack = new FakeSlack();
    await slack.start();
    cleanup.push(() => slack.stop());
    const taskQueue = uniqueTaskQueue('slack-outage');

    /** A worker for the dedicated server, until the returned stop is called. */
    const startWorker = async (): Promise<() => Promise<void>> => {
      const connection = await NativeConnection.connect({ address: server.address });
      const worker = await Worker.create({
        connection,
        namespace: 'default',
        taskQueue,
        workflowBundle: await workflowBundle(),
        activities: new TestActivities().activities(),
        shutdownGraceTime: '1s',
        shutdownForceTime: '5s',
      });
      const running = worker.run();
      return async () => {
        worker.shutdown();
        await running;
        await connection.close();
      };
    };

    const testConnection = await Connection.connect({ address: server.address });
    const testClient = new Client({ connection: testConnection, namespace: 'default' });
    let stopWorker = await startWorker();
    const handle = await openIncident(
      testClient,
      taskQueue,
      approvalRunbook(),
      alert({ alertname: 'NeedsHuman', service: 'api' }),
      { workflowId: `incident/approval-test/slack-outage-${Date.now()}` },
    );
    await waitForState(handle, (s) => s.pendingApproval !== undefined);
    await stopWorker();
    await testConnection.close();

    const config = loadConfig({
      env: testEnv({
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        SLACK_BOT_TOKEN: TOKEN,
        SLACK_API_URL: slack.url,
        REBOUND_LOG_LEVEL: 'error',
      }),
    });
    const client = lazyClient(config);
    const receiver = await startReceiver(config, client, ROUTE_MODULES, { port: 0 });
    // Receiver first (it waits for the decision still trying), then its client.
    cleanup.push(async () => {
      await receiver.close();
      await client.connection.close();
    });

    await server.stop();
    const first = await click(receiver, handle.workflowId);
    assert.equal(first.status, 200);
    assert.equal(first.json.response_type, 'ephemeral');
    const told = String(first.json.text);
    assert.doesNotMatch(told, /has sent|still lands|will show it once recorded/i, told);
    assert.match(told, /Not recorded yet/, told);
    assert.match(told, /will tell you here whether it was recorded/, told);

    // Rebound gives up (the decision's 30 s deadline at most) and says so to the clicker alone.
    const followUp = await until(
      'the ephemeral follow-up',
      () => slack.ephemerals.find((e) => e.user === 'UALICE'),
      60_000,
    );
    assert.equal(followUp.channel, CHANNEL_ID);
    assert.match(followUp.text, /was NOT recorded/);
    assert.match(followUp.text, /Click the button again/);
    assert.equal(slack.messages.length, 0, 'nothing was posted to the channel for everyone');

    // Temporal is back: clicking again records the decision, once.
    await server.start();
    stopWorker = await startWorker();
    cleanup.push(() => stopWorker());
    const backConnection = await Connection.connect({ address: server.address });
    cleanup.push(() => backConnection.close());
    const back = new Client({ connection: backConnection, namespace: 'default' }).workflow.getHandle(
      handle.workflowId,
    );
    await until(
      'the decision clicked again to be recorded',
      async () => {
        const r = await click(receiver, handle.workflowId);
        assert.equal(r.status, 200);
        const s = await waitForState(back, () => true);
        return s.decisions.length > 0 ? s : undefined;
      },
      90_000,
    );
    const s = await waitForState(back, (x) => x.decisions.length > 0);
    assert.deepEqual(
      s.decisions.map((d) => [d.identity, d.decision, d.channel]),
      [['alice', 'approve', 'slack']],
    );
  });
});
