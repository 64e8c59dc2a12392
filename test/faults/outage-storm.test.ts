// An alert storm from a real Alertmanager while Temporal is unreachable for 30 seconds: the receiver
// answers 503, Alertmanager keeps re-sending, and once Temporal is back every alert is an incident
// (or a signal to one), with exactly one incident per target.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { lazyClient } from '../../src/temporal-connection';
import { incidentWorkflowId, type AlertNotification } from '../../src/workflows/contract';
import {
  RUNBOOK,
  executionCount,
  intakeConfig,
  metricValue,
  runbookDir,
  signalsOf,
  startAlertmanager,
  startIntake,
  waitUntil,
} from '../intake/helpers';
import { dedicatedDevServer } from '../support/temporal';

const OUTAGE_MS = 30_000;
// The test Alertmanager groups by alertname and sends at most max_alerts (50) per notification,
// dropping the rest of the group from the webhook (truncatedAlerts): the storm stays within one payload.
const PER_GROUP = 24;

describe('alert storm while Temporal is unreachable for 30 s', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('accounts for every alert once Temporal is back, one incident per target', async () => {
    const server = await dedicatedDevServer('rebound-storm-');
    cleanup.push(() => server.stop());
    const token = randomUUID();
    const config = intakeConfig({
      TEMPORAL_ADDRESS: server.address,
      // Nobody polls this queue: the incidents only have to exist, not run.
      TEMPORAL_TASK_QUEUE: `storm-${randomUUID()}`,
      REBOUND_WEBHOOK_TOKEN: token,
      REBOUND_RUNBOOKS: runbookDir(),
    });
    const client = lazyClient(config);
    cleanup.push(() => client.connection.close());
    const receiver = await startIntake(config, client, 2000);
    cleanup.push(() => receiver.close());
    const am = await startAlertmanager({
      webhookUrl: `${receiver.url}/v1/alerts/alertmanager`,
      token,
      groupInterval: '1s',
      repeatInterval: '1h',
    });
    cleanup.push(() => am.stop());

    const suffix = randomUUID().slice(0, 6);
    const targets: string[] = [];
    const fire = async (group: string, from: number, to: number): Promise<void> => {
      const alerts = [];
      for (let i = from; i < to; i++) {
        const instance = `${group}-${i}-${suffix}`;
        if (!targets.includes(instance)) targets.push(instance);
        alerts.push({ labels: { alertname: 'IntakeTest', storm: group, instance } });
      }
      await am.post(alerts);
    };

    // Some alerts land while Temporal is up.
    await fire('a', 0, 5);
    await waitUntil('the first incidents', async () => {
      for (const t of targets)
        if ((await executionCount(client, incidentWorkflowId(RUNBOOK, t))) !== 1) return false;
      return true;
    });

    await server.stop();
    const outageEnds = Date.now() + OUTAGE_MS;
    // The storm: new alerts in waves, the same alerts again, while Temporal is unreachable.
    for (let wave = 0; wave < 4; wave++) {
      await fire('a', 0, 6 * (wave + 1));
      await fire('b', 0, 6 * (wave + 1));
      await new Promise((r) => setTimeout(r, 3000));
    }
    await waitUntil(
      'the receiver to refuse with 503',
      async () =>
        metricValue(await (await fetch(`${receiver.url}/metrics`)).text(), 'rebound_temporal_errors_total') >
        0,
    );
    await new Promise((r) => setTimeout(r, Math.max(0, outageEnds - Date.now())));
    await server.start();
    // More of the storm after the return, including repeats.
    await fire('a', 0, PER_GROUP);
    await fire('b', 0, PER_GROUP);

    assert.equal(targets.length, 2 * PER_GROUP);
    await waitUntil(
      'an incident for every target',
      async () => {
        for (const t of targets) {
          try {
            await client.workflow.getHandle(incidentWorkflowId(RUNBOOK, t)).describe();
          } catch {
            return false;
          }
        }
        return true;
      },
      120_000,
    );
    // Visibility lags the start a little; wait until it lists them all, then count.
    await waitUntil(
      'visibility to list every incident',
      async () => {
        let n = 0;
        for await (const _ of client.workflow.list({
          query: `WorkflowId STARTS_WITH "incident/${RUNBOOK}/" AND ExecutionStatus = "Running"`,
        }))
          n++;
        return n >= targets.length;
      },
      60_000,
    );
    for (const t of targets) {
      const id = incidentWorkflowId(RUNBOOK, t);
      assert.equal(await executionCount(client, id), 1, `one incident for ${t}`);
      const signals = (await signalsOf(client.workflow.getHandle(id))) as AlertNotification[];
      assert.ok(signals.length >= 1, `${t} got its alert`);
      assert.ok(
        signals.every((s) => s.alert.labels.instance === t),
        `${t} only got its own alert`,
      );
    }
    let total = 0;
    for await (const _ of client.workflow.list({ query: `WorkflowId STARTS_WITH "incident/${RUNBOOK}/"` }))
      total++;
    assert.equal(total, targets.length, 'no incident doubled, none extra');
    const metrics = await (await fetch(`${receiver.url}/metrics`)).text();
    // A start whose answer was lost in the outage is re-sent and then counts as joined, never twice.
    assert.ok(
      metricValue(metrics, 'rebound_alerts_received_total', { status: 'firing', outcome: 'started' }) <=
        targets.length,
      'no target started twice',
    );
    assert.equal(
      metricValue(metrics, 'rebound_webhook_rejected_total'),
      0,
      'nothing was refused as bad input',
    );
  });
});
