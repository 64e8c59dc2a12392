// The Temporal dev server is stopped and started again (same SQLite file, same port) while an
// incident is between steps: the worker and the client reconnect by themselves, and the incident
// finishes with each step done once.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { alert, openIncident, runbookFromText, sendAlert } from '../support/incidents';
import { TestActivities } from '../support/test-activities';
import { dedicatedDevServer, uniqueTaskQueue, workflowBundle } from '../support/temporal';
import { completedActivities, historyEvents, until } from './helpers';

const RUNBOOK = `name: server-restart
description: Inspect, wait, restart; the Temporal server restarts during the wait.
matchers: ['alertname = "ServerRestart"']
target: '{{ labels.container }}'
defaults:
  timeout: 5s
  retry: { maximumAttempts: 20, initialInterval: 200ms, maximumInterval: 1s }
holdOpen: 10m
steps:
  - id: inspect
    phase: detect
    type: container.inspect
    with: { container: '{{ labels.container }}' }
  - id: pause
    phase: assess
    type: sleep
    with: { duration: 4s }
  - id: restart
    phase: remediate
    type: container.restart
    with: { container: '{{ labels.container }}' }
`;

describe('Temporal dev server restarted mid-incident', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('finishes the incident after the server comes back on the same database', async () => {
    const server = await dedicatedDevServer('rebound-server-restart-');
    cleanup.push(() => server.stop());
    const connection = await Connection.connect({ address: server.address });
    cleanup.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const workerConnection = await NativeConnection.connect({ address: server.address });
    cleanup.push(() => workerConnection.close());
    const taskQueue = uniqueTaskQueue('fault-server');
    // The real safety activities reach the safety workflows of this server, not the suite's one
    // (each test file runs in its own process).
    process.env.REBOUND_TEST_TEMPORAL_ADDRESS = server.address;
    const acts = new TestActivities();
    const worker = await Worker.create({
      connection: workerConnection,
      namespace: 'default',
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: acts.activities(),
    });
    const running = worker.run();
    cleanup.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });

    const labels = { alertname: 'ServerRestart', container: 'api' };
    const handle = await openIncident(client, taskQueue, runbookFromText(RUNBOOK), alert(labels), {
      workflowId: `incident/server-restart/api-${Date.now()}`,
    });
    await until(
      'inspect to complete',
      async () =>
        completedActivities(await historyEvents(client, handle.workflowId)).includes('containerInspect'),
      30_000,
    );
    // The incident now sleeps on a durable timer; the server goes away under it.
    await server.stop();
    await new Promise((r) => setTimeout(r, 3000));
    await server.start();

    await until(
      'restart to complete after the server came back',
      async () => {
        try {
          return completedActivities(await historyEvents(client, handle.workflowId)).includes(
            'containerRestart',
          );
        } catch {
          return false;
        }
      },
      90_000,
      250,
    );
    await sendAlert(handle, alert(labels, 'resolved'));
    const final = await handle.result();
    assert.equal(final.status, 'resolved');
    assert.equal(final.resolution, 'remediated');
    assert.equal(acts.callsOf('containerRestart').length, 1, 'the restart ran once');
    assert.equal(
      acts.callsOf('containerInspect').length,
      1,
      'the inspect before the outage was not repeated',
    );
  });
});
