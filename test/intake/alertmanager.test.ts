// Alert intake behind a real Alertmanager: repeats, group changes and HA duplicates (two
// unclustered Alertmanagers both notifying) all reach one incident per target, and resolved alerts
// reach it too.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../src/activities';
import type { Receiver } from '../../src/receiver';
import { incidentWorkflowId, stateQuery, type IncidentState } from '../../src/workflows/contract';
import { temporalAddress, testClient, uniqueTaskQueue, withWorker } from '../support/temporal';
import {
  RUNBOOK,
  executionCount,
  intakeConfig,
  metricValue,
  runbookDir,
  startAlertmanager,
  startIntake,
  waitUntil,
  type Alertmanager,
} from './helpers';

describe('alert intake behind a real Alertmanager', () => {
  const token = randomUUID();
  const taskQueue = uniqueTaskQueue('intake-am');
  const config = intakeConfig({
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: taskQueue,
    REBOUND_WEBHOOK_TOKEN: token,
    REBOUND_RUNBOOKS: runbookDir(),
  });
  let client: Client;
  let receiver: Receiver;
  const managers: Alertmanager[] = [];

  before(async () => {
    client = await testClient();
    receiver = await startIntake(config, client);
  });
  after(async () => {
    for (const am of managers) await am.stop();
    await receiver?.close();
    await client?.connection.close();
  });

  it('keeps one incident per target across repeats, group changes and HA duplicates, and delivers resolution', async () => {
    const webhookUrl = `${receiver.url}/v1/alerts/alertmanager`;
    // Two Alertmanagers without clustering: each notifies on its own, as HA pairs do when gossip lags.
    managers.push(
      await startAlertmanager({ webhookUrl, token }),
      await startAlertmanager({ webhookUrl, token }),
    );
    const suffix = randomUUID().slice(0, 8);
    const a = { alertname: 'IntakeTest', instance: `a-${suffix}`, severity: 'critical' };
    const b = { alertname: 'IntakeTest', instance: `b-${suffix}`, severity: 'critical' };
    const idA = incidentWorkflowId(RUNBOOK, a.instance);
    const idB = incidentWorkflowId(RUNBOOK, b.instance);
    const postAll = async (alerts: Parameters<Alertmanager['post']>[0]): Promise<void> => {
      for (const am of managers) await am.post(alerts);
    };

    await withWorker({ taskQueue, activities: createActivities(config) }, async () => {
      await postAll([{ labels: a, annotations: { summary: 'a is down' } }]);
      const state = (id: string): Promise<IncidentState> => client.workflow.getHandle(id).query(stateQuery);
      // Both Alertmanagers notify, and each repeats after repeat_interval: at least four notifications.
      await waitUntil(
        'repeated notifications for a',
        async () => (await state(idA)).notifications >= 4,
        40_000,
      );

      // A second alert of the same group changes the group: Alertmanager re-sends a with b.
      const beforeChange = (await state(idA)).notifications;
      await postAll([{ labels: b }]);
      await waitUntil('the incident for b', async () => (await state(idB)).notifications >= 2, 30_000);
      await waitUntil(
        'a re-sent with the changed group',
        async () => (await state(idA)).notifications > beforeChange,
      );

      assert.equal(await executionCount(client, idA), 1, 'one incident for a');
      assert.equal(await executionCount(client, idB), 1, 'one incident for b');
      const metrics = await (await fetch(`${receiver.url}/metrics`)).text();
      assert.equal(
        metricValue(metrics, 'rebound_alerts_received_total', { status: 'firing', outcome: 'started' }),
        2,
      );
      assert.ok(
        metricValue(metrics, 'rebound_alerts_received_total', { status: 'firing', outcome: 'joined' }) >= 6,
      );

      // Resolution: Alertmanager sends a as resolved; it reaches the running incident, which closes.
      await postAll([{ labels: a, endsAt: new Date(Date.now() - 1000).toISOString() }]);
      const resultA = (await client.workflow.getHandle(idA).result()) as IncidentState;
      assert.equal(resultA.status, 'resolved');
      const described = await client.workflow.getHandle(idB).describe();
      assert.equal(described.status.name, 'RUNNING', 'b still firing, its incident still open');
      await postAll([{ labels: b, endsAt: new Date(Date.now() - 1000).toISOString() }]);
      const resultB = (await client.workflow.getHandle(idB).result()) as IncidentState;
      assert.equal(resultB.status, 'resolved');
      assert.equal(await executionCount(client, idA), 1, 'a resolution never starts an incident');
      assert.equal(await executionCount(client, idB), 1);
      const after = await (await fetch(`${receiver.url}/metrics`)).text();
      assert.ok(
        metricValue(after, 'rebound_alerts_received_total', { status: 'resolved', outcome: 'resolved' }) >= 2,
      );
      assert.equal(metricValue(after, 'rebound_webhook_rejected_total'), 0, 'Alertmanager was never refused');
    });
  });
});
