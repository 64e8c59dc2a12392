// End to end, every part real but Slack (a local server speaking its Web API): a real Alertmanager
// notifies the real receiver about a real container that died on a real Docker engine; the incident
// restarts it, finds it healthy, tells Slack and mails the on-call, and resolves when Alertmanager
// says the alert resolved.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { SMTPServer } from 'smtp-server';
import { createActivities } from '../../src/activities';
import { loadConfig } from '../../src/config';
import { startReceiver, type Receiver } from '../../src/receiver';
import { ROUTE_MODULES } from '../../src/receiver/routes';
import type { incident } from '../../src/workflows/incident';
import { stateQuery } from '../../src/workflows/contract';
import {
  buildBusyboxImage,
  freePort,
  runHealthContainer,
  startDockerEngine,
  type DockerEngine,
} from '../support/docker-engine';
import { FakeSlack, TOKEN as SLACK_TOKEN } from '../support/fake-slack';
import { waitForState } from '../support/incidents';
import { temporalAddress, testClient, uniqueTaskQueue, withWorker } from '../support/temporal';
import { startAlertmanager, type Alertmanager } from '../intake/helpers';

const WEBHOOK_TOKEN = 'e2e-webhook-token';
const labels = {
  alertname: 'ContainerUnhealthy',
  severity: 'critical',
  instance: 'host-1',
  container: 'shop-api',
};

const RUNBOOK = `
name: e2e-restart
description: Restart a dead container, check it is healthy, tell Slack and the on-call.
matchers: ['alertname = "ContainerUnhealthy"']
target: "{{ labels.instance }}/{{ labels.container }}"
holdOpen: 5m
notifications:
  slack: { channel: "#incidents" }
  email: { to: [oncall@example.com] }
steps:
  - id: inspect
    phase: detect
    type: container.inspect
    with: { container: "{{ labels.container }}" }
  - id: restart
    phase: remediate
    type: container.restart
    when: '!steps.inspect.output.running || steps.inspect.output.health == "unhealthy"'
    with: { container: "{{ labels.container }}", stopTimeout: 1 }
  - id: healthy
    phase: validate
    type: container.wait-healthy
    with: { container: "{{ labels.container }}", intervalMs: 300 }
    timeout: 30s
    retry: { maximumAttempts: 1 }
  - id: tell-slack
    phase: validate
    type: notify
    with: { channel: slack, text: "Restarted {{ labels.container }} on {{ labels.instance }}: healthy again." }
  - id: tell-oncall
    phase: validate
    type: notify
    with: { channel: email, subject: "[rebound] {{ labels.container }} recovered", text: "Rebound restarted {{ labels.container }}." }
`;

describe('alert to recovery', () => {
  let engine: DockerEngine;
  let image: string;
  let client: Client;
  const slack = new FakeSlack();
  const mails: string[] = [];
  const smtp = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, _session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      stream.on('end', () => {
        mails.push(raw);
        callback();
      });
    },
  });
  let smtpPort = 0;

  before(async () => {
    engine = await startDockerEngine();
    image = await buildBusyboxImage(engine);
    client = await testClient();
    await slack.start();
    smtpPort = await freePort();
    await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));
  });
  after(async () => {
    await slack.stop();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    await client?.connection.close();
    await engine?.stop();
  });

  it('a real Alertmanager webhook about a dead container ends in a restart, a healthy container and a resolved incident', async () => {
    const port = await freePort();
    await runHealthContainer(engine, { name: labels.container, image, port, healthcheck: true });
    await engine.docker.getContainer(labels.container).kill();

    const runbooks = mkdtempSync(path.join(os.tmpdir(), 'rebound-e2e-'));
    writeFileSync(path.join(runbooks, 'restart.yaml'), RUNBOOK);
    const taskQueue = uniqueTaskQueue('e2e');
    const config = loadConfig({
      env: {
        TEMPORAL_ADDRESS: temporalAddress(),
        TEMPORAL_TASK_QUEUE: taskQueue,
        REBOUND_RUNBOOKS: runbooks,
        REBOUND_PORT: '0',
        REBOUND_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
        DOCKER_HOST: engine.host,
        SLACK_BOT_TOKEN: SLACK_TOKEN,
        SLACK_API_URL: slack.url,
        REBOUND_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        REBOUND_MAIL_FROM: 'rebound@example.com',
        REBOUND_LOG_LEVEL: 'warn',
      },
    });

    let receiver: Receiver | undefined;
    let alertmanager: Alertmanager | undefined;
    try {
      await withWorker({ taskQueue, activities: createActivities(config, client) }, async () => {
        receiver = await startReceiver(config, client, ROUTE_MODULES);
        alertmanager = await startAlertmanager({
          webhookUrl: `${receiver.url}/v1/alerts/alertmanager`,
          token: WEBHOOK_TOKEN,
          repeatInterval: '1h',
        });
        await alertmanager.post([{ labels }]);

        const handle = client.workflow.getHandle<typeof incident>(
          `incident/e2e-restart/host-1/${labels.container}`,
        );
        await waitForIncident(handle);
        const recovered = await waitForState(
          handle,
          (s) => s.steps.find((x) => x.id === 'tell-oncall')?.status === 'succeeded',
          90_000,
        );
        assert.deepEqual(
          recovered.steps.map((s) => [s.id, s.status]),
          [
            ['inspect', 'succeeded'],
            ['restart', 'succeeded'],
            ['healthy', 'succeeded'],
            ['tell-slack', 'succeeded'],
            ['tell-oncall', 'succeeded'],
          ],
        );
        const container = (await engine.docker.getContainer(labels.container).inspect()).State;
        assert.equal(container.Running, true);
        assert.equal(container.Health?.Status, 'healthy');
        assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);

        // Slack: the incident message (updated in place, with step results in its thread) and the notify step.
        const top = slack.messages.filter((m) => !m.thread_ts);
        assert.equal(
          top.filter((m) => /e2e-restart/.test(JSON.stringify(m.blocks ?? m.text))).length,
          1,
          'one incident message',
        );
        assert.ok(slack.calls.includes('chat.update'), 'the incident message is updated in place');
        assert.ok(
          slack.messages.some((m) => m.text.includes('Restarted shop-api on host-1: healthy again.')),
        );
        // Email: the on-call got the recovery mail.
        assert.equal(mails.filter((m) => /\[rebound\] shop-api recovered/.test(m)).length, 1);

        // Prometheus stops firing: Alertmanager sends the resolution and the incident closes.
        await alertmanager.post([{ labels, endsAt: new Date(Date.now() - 1000).toISOString() }]);
        const final = await handle.result();
        assert.equal(final.status, 'resolved');
        assert.equal(final.resolution, 'remediated');
        assert.ok(
          final.notifications >= 2,
          'the firing and the resolved notification both reached the incident',
        );
      });
    } finally {
      await alertmanager?.stop();
      await receiver?.close();
    }
  });

  async function waitForIncident(handle: ReturnType<Client['workflow']['getHandle']>): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await handle.query(stateQuery);
        return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`Alertmanager's notification never opened the incident: ${String(error)}`, {
            cause: error,
          });
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
});
