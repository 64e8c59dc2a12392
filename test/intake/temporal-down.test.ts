// Temporal goes away while Alertmanager notifies: the receiver answers 503, Alertmanager retries,
// and once Temporal is back (same port, same database) the incident exists — no alert is lost.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { lazyClient } from '../../src/temporal-connection';
import { incidentWorkflowId, type AlertNotification } from '../../src/workflows/contract';
import { dedicatedDevServer } from '../support/temporal';
import {
  RUNBOOK,
  intakeConfig,
  metricValue,
  runbookDir,
  signalsOf,
  startAlertmanager,
  startIntake,
  waitUntil,
  webhookBody,
  type Alertmanager,
} from './helpers';

describe('alert intake while Temporal is down', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('answers 503 so Alertmanager retries, and the incident appears once Temporal is back', async () => {
    const server = await dedicatedDevServer('rebound-intake-down-');
    cleanup.push(() => server.stop());
    const token = randomUUID();
    const config = intakeConfig({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: 'intake-down',
      REBOUND_WEBHOOK_TOKEN: token,
      REBOUND_RUNBOOKS: runbookDir(),
    });
    // As `rebound serve` does: a client that connects on first use and reconnects by itself.
    const client = lazyClient(config);
    cleanup.push(() => client.connection.close());
    // A short per-call deadline keeps each refused attempt quick; the default is 10 s.
    const receiver = await startIntake(config, client, 2000);
    cleanup.push(() => receiver.close());
    // repeat_interval is long: every notification after the first one comes from a retry.
    const am: Alertmanager = await startAlertmanager({
      webhookUrl: `${receiver.url}/v1/alerts/alertmanager`,
      token,
      groupInterval: '1s',
      repeatInterval: '1h',
    });
    cleanup.push(() => am.stop());
    const metrics = async (): Promise<string> => (await fetch(`${receiver.url}/metrics`)).text();

    // The pipeline works while Temporal is up.
    await am.post([{ labels: { alertname: 'IntakeTest', instance: 'before' } }]);
    const before = client.workflow.getHandle(incidentWorkflowId(RUNBOOK, 'before'));
    await waitUntil('the first incident', async () => (await before.describe()).status.name === 'RUNNING');

    await server.stop();
    await am.post([{ labels: { alertname: 'IntakeTest', instance: 'during-outage' } }]);
    await waitUntil(
      'Alertmanager to be answered 503',
      async () =>
        metricValue(await metrics(), 'rebound_temporal_errors_total') >= 1 &&
        /status code 503/.test(am.output()),
      30_000,
    );
    // A direct request sees the answer Alertmanager got: 503 with Retry-After and a reason.
    const refused = await fetch(`${receiver.url}/v1/alerts/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: webhookBody('probe', { receiver: 'direct', fingerprint: 'f1' }),
    });
    assert.equal(refused.status, 503);
    assert.ok(refused.headers.get('retry-after'), 'Retry-After tells the sender when to come back');
    const refusedBody = (await refused.json()) as { error: string };
    assert.match(refusedBody.error, /Temporal is unavailable/);

    // Temporal comes back on the same port and database; Alertmanager's next retry lands.
    await server.start();
    const during = client.workflow.getHandle(incidentWorkflowId(RUNBOOK, 'during-outage'));
    await waitUntil(
      'the incident of the alert sent during the outage',
      async () => (await during.describe()).status.name === 'RUNNING',
      60_000,
    );
    const signals = (await signalsOf(during)) as AlertNotification[];
    assert.equal(signals[0]?.alert.labels.instance, 'during-outage');
    assert.equal(
      (await before.describe()).status.name,
      'RUNNING',
      'the incident from before the outage survived',
    );
    assert.match(am.output(), /Notify success|notify success/i);
  });
});
