// container.logs end to end: an incident runs the step with `host:`, the worker serving that Docker host
// (created by createWorkers, which asks the step registry which activities it serves) reads a real
// container's log on a real Docker engine, and `rebound audit` shows the lines one per line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { createWorkers } from '../../src/worker';
import { dockerTaskQueue } from '../../src/task-queues';
import { buildBusyboxImage, startDockerEngine, type DockerEngine } from '../support/docker-engine';
import { alert, openIncident, runbookFromText, sendAlert } from '../support/incidents';
import { temporalAddress, testClient, uniqueTaskQueue, withWorker } from '../support/temporal';

const root = path.resolve(__dirname, '../..');

const RUNBOOK = `
name: logs-demo
description: Read the log of the container that alerted.
matchers: ['alertname = "ContainerUnhealthy"']
variables: { container: "{{ labels.container }}" }
steps:
  - id: logs
    phase: detect
    type: container.logs
    host: edge-1
    with: { container: "{{ vars.container }}", tail: 3 }
`;

let engine: DockerEngine;

void before(async () => {
  engine = await startDockerEngine();
  const image = await buildBusyboxImage(engine);
  const container = await engine.docker.createContainer({
    name: 'shop-api',
    Image: image,
    // stdout and stderr reach Docker's log through separate pipes: lines written a moment apart keep their order.
    Cmd: [
      '/bin/sh',
      '-c',
      'echo booting; echo listening on 8080; sleep 1; echo "panic: out of memory" >&2; sleep 1; echo bye',
    ],
    HostConfig: { NetworkMode: 'host' },
  });
  await container.start();
  await container.wait();
});

void after(async () => {
  await engine?.stop();
});

void describe('container.logs in an incident', () => {
  void it(
    'runs on the Docker host worker and shows the log lines in rebound audit',
    { timeout: 180_000 },
    async () => {
      const taskQueue = uniqueTaskQueue('logs');
      const config = loadConfig({
        env: {
          TEMPORAL_ADDRESS: temporalAddress(),
          TEMPORAL_TASK_QUEUE: taskQueue,
          DOCKER_HOST: engine.host,
          REBOUND_DOCKER_HOST_NAME: 'edge-1',
        },
      });
      const connection = await NativeConnection.connect({ address: temporalAddress() });
      const dockerHost = await createWorkers(config, connection, { namespace: 'default' });
      const client = await testClient();
      try {
        const served = [...(dockerHost.workers[0]?.options.activities.keys() ?? [])];
        assert.ok(served.includes('containerLogs'), `Docker host worker serves ${served.join(', ')}`);
        assert.ok(!served.includes('httpCall'));
        const running = dockerHost.run();
        const workflowId = await withWorker({ taskQueue, activities: {} }, async () => {
          const labels = { alertname: 'ContainerUnhealthy', container: 'shop-api' };
          const handle = await openIncident(client, taskQueue, runbookFromText(RUNBOOK), alert(labels));
          // With its steps done, the incident holds open until the alert resolves.
          for (let i = 0; i < 300; i++) {
            const history = await handle.fetchHistory();
            if (history.events?.some((e) => e.activityTaskCompletedEventAttributes)) break;
            await new Promise((r) => setTimeout(r, 200));
          }
          await sendAlert(handle, alert(labels, 'resolved'));
          const final = await handle.result();
          const step = final.steps.find((s) => s.id === 'logs');
          assert.equal(step?.status, 'succeeded', JSON.stringify(step));
          assert.deepEqual(step?.output, {
            container: 'shop-api',
            lines: [
              { stream: 'stdout', text: 'listening on 8080' },
              { stream: 'stderr', text: 'panic: out of memory' },
              { stream: 'stdout', text: 'bye' },
            ],
            truncated: false,
          });
          const scheduled = (await handle.fetchHistory()).events?.find(
            (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'containerLogs',
          );
          assert.equal(
            scheduled?.activityTaskScheduledEventAttributes?.taskQueue?.name,
            dockerTaskQueue(taskQueue, 'edge-1'),
          );
          return handle.workflowId;
        });
        await dockerHost.shutdown();
        await running;

        const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: temporalAddress() };
        delete env.REBOUND_CONFIG;
        const audit = spawnSync(process.execPath, [path.join(root, 'bin/rebound.js'), 'audit', workflowId], {
          cwd: root,
          encoding: 'utf8',
          env,
        });
        assert.equal(audit.status, 0, audit.stderr);
        const lines = audit.stdout.split('\n').map((l) => l.trim());
        const at = lines.indexOf('log: 3 line(s)');
        assert.ok(at > 0, audit.stdout);
        assert.deepEqual(lines.slice(at + 1, at + 4), [
          'out| listening on 8080',
          'err| panic: out of memory',
          'out| bye',
        ]);
      } finally {
        await dockerHost.shutdown();
        await connection.close();
        await client.connection.close();
      }
    },
  );
});
