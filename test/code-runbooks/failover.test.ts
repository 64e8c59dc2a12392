// The shipped code runbook end to end against a real Docker engine: the primary is killed, the first
// standby never becomes healthy, the second takes over; the one approval is given with `rebound approve`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { createDockerActivities } from '../../src/activities/docker';
import { buildAudit } from '../../src/audit/model';
import { loadRunbooks } from '../../src/runbooks/catalog';
import { incidentWorkflowId } from '../../src/workflows/contract';
import { codeRunbookBundle } from '../support/code-runbooks';
import {
  buildBusyboxImage,
  freePort,
  runHealthContainer,
  startDockerEngine,
  type DockerEngine,
} from '../support/docker-engine';
import {
  RUNBOOKS_DIR,
  alert,
  openIncident,
  recordHistory,
  sendAlert,
  waitForState,
} from '../support/incidents';
import { runRebound } from '../support/processes';
import { TestActivities } from '../support/test-activities';
import { temporalAddress, testClient, uniqueTaskQueue, withWorker } from '../support/temporal';

const NAME = 'failover-to-first-healthy-standby';

let client: Client;
let engine: DockerEngine;
let image: string;
before(async () => {
  client = await testClient();
  engine = await startDockerEngine();
  image = await buildBusyboxImage(engine);
});
after(async () => {
  await engine?.stop();
  await client?.connection.close();
});

describe('the failover code runbook', () => {
  it('routes, asks once, skips the standby that never becomes healthy and fails over to the next', async () => {
    const catalog = loadRunbooks(RUNBOOKS_DIR);
    const firing = alert({ alertname: 'PrimaryDown', service: 'svc' });
    const snapshot = catalog.route(firing.labels);
    assert.equal(snapshot?.runbook.name, NAME);
    assert.equal(snapshot.kind, 'code');
    assert.equal(catalog.targetKey(snapshot.runbook, firing), 'svc');

    await runHealthContainer(engine, {
      name: 'svc-primary',
      image,
      port: await freePort(),
      healthcheck: true,
    });
    await engine.docker.getContainer('svc-primary').kill();
    await runHealthContainer(engine, {
      name: 'svc-standby-1',
      image,
      port: await freePort(),
      failingHealthcheck: true,
      start: false,
    });
    await runHealthContainer(engine, {
      name: 'svc-standby-2',
      image,
      port: await freePort(),
      healthcheck: true,
      start: false,
    });

    const docker = createDockerActivities({ host: engine.host, tlsVerify: false, timeoutMs: 20_000 });
    const activities = {
      ...new TestActivities().activities(),
      containerInspect: docker.containerInspect,
      containerFailover: docker.containerFailover,
    };
    const taskQueue = uniqueTaskQueue('code-failover');
    await withWorker(
      { taskQueue, activities, workflowBundle: await codeRunbookBundle(RUNBOOKS_DIR) },
      async () => {
        const workflowId = incidentWorkflowId(NAME, 'svc');
        const handle = await openIncident(client, taskQueue, snapshot, firing, {
          workflowId,
          targetKey: 'svc',
          triggeredBy: 'alertmanager',
        });
        const waiting = await waitForState(handle, (s) => s.pendingApproval !== undefined, 60_000);
        assert.equal(waiting.pendingApproval?.stepId, 'approve');
        assert.match(waiting.pendingApproval?.prompt ?? '', /svc-standby-1, svc-standby-2/);
        assert.equal(waiting.steps.find((s) => s.id === 'primary')?.status, 'succeeded');

        const approved = await runRebound(['approve', workflowId, '--as', 'alice', '--comment', 'go'], {
          TEMPORAL_ADDRESS: temporalAddress(),
          TEMPORAL_NAMESPACE: 'default',
          REBOUND_CONFIG: '',
          REBOUND_LOG_LEVEL: 'error',
        });
        assert.equal(approved.code, 0, approved.stderr);
        assert.match(approved.stdout, /alice approved step approve/);

        const held = await waitForState(handle, (s) => s.timeline.some((t) => t.kind === 'hold'), 120_000);
        const byId = new Map(held.steps.map((s) => [s.id, s]));
        assert.equal(byId.get('failover-1')?.status, 'failed');
        assert.equal(byId.get('failover-1')?.error?.type, 'ContainerNotHealthy');
        assert.equal(byId.get('failover-2')?.status, 'succeeded');
        assert.equal(held.decisions.length, 1, 'one approval, before the first switch only');
        assert.ok(held.timeline.some((t) => t.message === 'svc-standby-2 took over from svc-primary'));
        // The guards ran for each switch, as for a YAML step.
        assert.ok(
          held.timeline.some(
            (t) => t.kind === 'lock' && /acquired docker:local\/svc-standby-2/.test(t.message),
          ),
        );

        const state = async (name: string): Promise<boolean> =>
          (await engine.docker.getContainer(name).inspect()).State.Running;
        assert.equal(await state('svc-standby-2'), true);
        assert.equal(await state('svc-standby-1'), false);
        assert.equal(await state('svc-primary'), false);

        await sendAlert(handle, { ...firing, status: 'resolved' });
        const final = await handle.result();
        assert.equal(final.status, 'resolved');
        assert.equal(final.resolution, 'remediated');

        // The audit reads the code incident from its history as it reads a YAML one.
        const history = await handle.fetchHistory();
        const record = buildAudit(history, workflowId);
        assert.equal(record.runbook.name, NAME);
        assert.deepEqual(
          record.activities.filter((a) => a.purpose === 'step').map((a) => `${a.stepId}:${a.activityType}`),
          ['primary:containerInspect', 'failover-1:containerFailover', 'failover-2:containerFailover'],
        );
        await recordHistory(handle, 'code-failover-to-first-healthy-standby');
      },
    );
  });
});
