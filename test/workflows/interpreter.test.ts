// The runbook interpreter against the real Temporal dev server: the sample runbooks to completion,
// retries with backoff, timeouts, conditions that skip, failures that escalate, approvals, dry runs,
// and an alert that resolves before any action.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { decideUpdate, closeUpdate } from '../../src/workflows/contract';
import type { incident } from '../../src/workflows/incident';
import {
  alert,
  openIncident,
  recordHistory,
  runbookFromText,
  sampleRunbook,
  sendAlert,
  state,
  waitForState,
} from '../support/incidents';
import { fatal, retryable, TestActivities } from '../support/test-activities';
import { testClient, uniqueTaskQueue, withWorker } from '../support/temporal';

const containerAlert = alert(
  { alertname: 'ContainerUnhealthy', severity: 'critical', instance: 'host-1', container: 'api-1' },
  'firing',
);
const resolvedContainerAlert = { ...containerAlert, status: 'resolved' as const };

let client: Client;
before(async () => {
  client = await testClient();
});
after(async () => {
  await client.connection.close();
});

async function run<T>(activities: TestActivities, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = uniqueTaskQueue('interpreter');
  return withWorker({ taskQueue, activities: activities.activities() }, () => fn(taskQueue));
}

describe('incident interpreter', () => {
  it('restart-container: restarts a broken container, validates it, and resolves when the alert does', async () => {
    const acts = new TestActivities().on('containerInspect', () => ({
      exists: true,
      running: false,
      restartCount: 2,
    }));
    await run(acts, async (taskQueue) => {
      const handle = await openIncident(
        client,
        taskQueue,
        sampleRunbook('restart-container'),
        containerAlert,
      );
      const holding = await waitForState(handle, (s) => s.timeline.some((t) => t.kind === 'hold'));
      assert.deepEqual(
        holding.steps.map((s) => [s.id, s.status]),
        [
          ['inspect', 'succeeded'],
          ['restart', 'succeeded'],
          ['wait-healthy', 'succeeded'],
          ['probe', 'skipped'],
          ['done', 'succeeded'],
          ['tell-humans', 'pending'],
          ['mail-oncall', 'pending'],
        ],
      );
      assert.deepEqual(acts.callsOf('containerRestart')[0]?.params, { container: 'api-1', stopTimeout: 10 });
      await sendAlert(handle, containerAlert); // a repeat joins the open incident
      await sendAlert(handle, resolvedContainerAlert);
      const final = await handle.result();
      assert.equal(final.status, 'resolved');
      assert.equal(final.resolution, 'remediated');
      assert.equal(final.notifications, 3);
      assert.equal(acts.callsOf('containerRestart').length, 1, 'the repeat did not restart again');
      assert.ok(
        acts.callsOf('slackIncidentMessage').length >= 2,
        'the Slack incident message is created and updated',
      );
      await recordHistory(handle, 'restart-container-remediated');
    });
  });

  it('a `when` that is false skips the step; the incident resolves without action', async () => {
    const acts = new TestActivities(); // inspect says running and healthy
    await run(acts, async (taskQueue) => {
      const handle = await openIncident(
        client,
        taskQueue,
        sampleRunbook('restart-container'),
        containerAlert,
      );
      await waitForState(handle, (s) => s.timeline.some((t) => t.kind === 'hold'));
      await sendAlert(handle, resolvedContainerAlert);
      const final = await handle.result();
      const restart = final.steps.find((s) => s.id === 'restart');
      assert.equal(restart?.status, 'skipped');
      assert.match(restart?.note ?? '', /condition .* is false/);
      assert.equal(acts.callsOf('containerRestart').length, 0);
      assert.equal(final.resolution, 'resolved without action');
    });
  });

  it('retries a failing step with backoff, then succeeds', async () => {
    const snapshot = runbookFromText(`
name: retry-backoff
description: retries
matchers: ['alertname = "X"']
steps:
  - id: call
    phase: remediate
    type: http.call
    with: { url: "http://127.0.0.1:1/restart" }
    retry: { maximumAttempts: 4, initialInterval: 500ms, backoffCoefficient: 2, maximumInterval: 5s }
`);
    const acts = new TestActivities().on('httpCall', (_input, attempt) => {
      if (attempt < 3) throw retryable(`backend busy (attempt ${attempt})`);
      return { status: 200, body: 'ok' };
    });
    await run(acts, async (taskQueue) => {
      const handle = await openIncident(client, taskQueue, snapshot, alert({ alertname: 'X' }));
      await waitForState(handle, (s) => s.timeline.some((t) => t.kind === 'hold'));
      const calls = acts.callsOf('httpCall');
      assert.deepEqual(
        calls.map((c) => c.attempt),
        [1, 2, 3],
      );
      const [a, b, c] = calls.map((call) => call.at) as [number, number, number];
      assert.ok(b - a >= 450, `first backoff ${b - a} ms should be about 500 ms`);
      assert.ok(c - b >= 950, `second backoff ${c - b} ms should be about 1000 ms (coefficient 2)`);
      await sendAlert(handle, { ...alert({ alertname: 'X' }), status: 'resolved' });
      const final = await handle.result();
      assert.equal(final.resolution, 'remediated');
      await recordHistory(handle, 'retry-backoff');
    });
  });

  it('a step that times out fails and its onFailure escalates; escalate steps run and the incident holds until resolved', async () => {
    const snapshot = runbookFromText(`
name: timeout-escalates
description: timeout
matchers: ['alertname = "X"']
holdOpen: 1m
steps:
  - id: slow-probe
    phase: detect
    type: probe.http
    with: { url: "http://127.0.0.1:1/health" }
    timeout: 1s
    retry: { maximumAttempts: 1 }
    onFailure: escalate
  - id: never
    phase: remediate
    type: container.restart
    with: { container: c }
  - id: page
    phase: escalate
    type: notify
    with: { channel: slack, text: "{{ incident.target }} needs a human: {{ steps['slow-probe'].error.message }}" }
`);
    const acts = new TestActivities().on(
      'probeHttp',
      () => new Promise((resolve) => setTimeout(resolve, 3000)),
    );
    await run(acts, async (taskQueue) => {
      const handle = await openIncident(client, taskQueue, snapshot, alert({ alertname: 'X' }));
      const escalated = await waitForState(
        handle,
        (s) => s.status === 'escalated' && s.steps[2]?.status === 'succeeded',
      );
      assert.equal(escalated.steps[0]?.error?.type, 'Timeout');
      assert.equal(escalated.steps[1]?.status, 'pending', 'the remediation after the failed step never ran');
      assert.equal(acts.callsOf('containerRestart').length, 0);
      assert.match(
        String((acts.callsOf('notify')[0]?.params as { text: string }).text),
        /test-target needs a human: timed out/,
      );
      await sendAlert(handle, { ...alert({ alertname: 'X' }), status: 'resolved' });
      const final = await handle.result();
      assert.equal(final.status, 'escalated');
      assert.match(final.resolution ?? '', /slow-probe failed: timed out .*; alert resolved/);
      await recordHistory(handle, 'timeout-escalates');
    });
  });

  it('a failed validation escalates through goto; the escalation notifies Slack and email', async () => {
    const acts = new TestActivities()
      .on('containerInspect', () => ({ exists: true, running: true, health: 'unhealthy' }))
      .on('containerWaitHealthy', () => {
        throw fatal('api-1 still unhealthy after 2m', 'ContainerNotHealthy');
      });
    await run(acts, async (taskQueue) => {
      const handle = await openIncident(
        client,
        taskQueue,
        sampleRunbook('restart-container'),
        containerAlert,
      );
      const escalated = await waitForState(
        handle,
        (s) => s.steps.find((x) => x.id === 'mail-oncall')?.status === 'succeeded',
      );
      assert.equal(escalated.status, 'escalated');
      assert.equal(escalated.steps.find((x) => x.id === 'wait-healthy')?.error?.type, 'ContainerNotHealthy');
      const channels = acts.callsOf('notify').map((c) => (c.params as { channel: string }).channel);
      assert.deepEqual(
        channels.sort(),
        ['email', 'email', 'slack'],
        'escalation mail + tell-humans (slack) + mail-oncall (email)',
      );
      // An escalated incident stays open: a repeat joins it rather than restarting again.
      await sendAlert(handle, containerAlert);
      await sendAlert(handle, resolvedContainerAlert);
      const final = await handle.result();
      assert.equal(final.status, 'escalated');
      assert.equal(acts.callsOf('containerRestart').length, 1);
      await recordHistory(handle, 'restart-container-escalated');
    });
  });

  it('an alert resolved before any action ends the incident as resolved before action', async () => {
    let releaseInspect: () => void = () => {};
    const inspected = new Promise<void>((resolve) => (releaseInspect = resolve));
    const acts = new TestActivities().on('containerInspect', async () => {
      await inspected;
      return { exists: true, running: false };
    });
    await run(acts, async (taskQueue) => {
      const handle = await openIncident(
        client,
        taskQueue,
        sampleRunbook('restart-container'),
        containerAlert,
      );
      await waitForState(handle, (s) => s.steps[0]?.status === 'running');
      await sendAlert(handle, resolvedContainerAlert);
      await waitForState(handle, (s) => !s.alertFiring);
      releaseInspect();
      const final = await handle.result();
      assert.equal(final.status, 'resolved');
      assert.equal(final.resolution, 'resolved before action');
      assert.equal(acts.callsOf('containerRestart').length, 0);
      await recordHistory(handle, 'resolved-before-action');
    });
  });

  it('failover: waits for an approval, records who approved, then fails over', async () => {
    const acts = new TestActivities().on('containerInspect', (input) =>
      input.params.container === 'shop-primary'
        ? { exists: true, running: false }
        : { exists: true, running: true },
    );
    await run(acts, async (taskQueue) => {
      const handle = await openIncident(
        client,
        taskQueue,
        sampleRunbook('failover'),
        alert({ alertname: 'ServicePrimaryDown', service: 'shop' }),
        { triggeredBy: 'alertmanager:ops' },
      );
      const waiting = await waitForState(handle, (s) => s.pendingApproval !== undefined);
      assert.equal(waiting.pendingApproval?.stepId, 'approve');
      assert.match(waiting.pendingApproval?.prompt ?? '', /Fail shop-primary over to shop-standby\?/);
      assert.equal(acts.callsOf('containerFailover').length, 0, 'nothing happens before approval');
      await assert.rejects(
        handle.executeUpdate(decideUpdate, {
          args: [{ decision: 'approve', identity: 'mallory', channel: 'test' }],
        }),
        (error: Error) => {
          assert.match(
            String((error.cause as Error | undefined)?.message),
            /mallory may not decide step "approve"; allowed: alice, bob, group sre/,
          );
          return true;
        },
      );
      const recorded = await handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', identity: 'alice', channel: 'cli', comment: 'primary is gone, go' }],
      });
      assert.equal(recorded.identity, 'alice');
      await waitForState(
        handle,
        (s) => s.steps.find((x) => x.id === 'standby-healthy')?.status === 'succeeded',
      );
      assert.deepEqual(acts.callsOf('containerFailover')[0]?.params, {
        primary: 'shop-primary',
        standby: 'shop-standby',
        stopTimeout: 20,
      });
      await sendAlert(handle, alert({ alertname: 'ServicePrimaryDown', service: 'shop' }, 'resolved'));
      const final = await handle.result();
      assert.equal(final.resolution, 'remediated');
      assert.deepEqual(
        final.decisions.map((d) => [d.identity, d.decision, d.channel, d.comment]),
        [['alice', 'approve', 'cli', 'primary is gone, go']],
      );
      await recordHistory(handle, 'failover-approved');
    });
  });

  it('escalate-only: notifies, hands over, waits for an acknowledgement, and can be closed by a human', async () => {
    const acts = new TestActivities();
    await run(acts, async (taskQueue) => {
      const handle = await openIncident(
        client,
        taskQueue,
        sampleRunbook('escalate-only'),
        alert({ alertname: 'DiskFull', severity: 'page', instance: 'db-1' }),
      );
      await waitForState(handle, (s) => s.pendingApproval?.stepId === 'acknowledge');
      await handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', identity: 'carol', groups: ['oncall'], channel: 'slack' }],
      });
      const holding = await waitForState(
        handle,
        (s) => s.steps.find((x) => x.id === 'acknowledge')?.status === 'succeeded',
      );
      assert.equal(holding.status, 'escalated');
      assert.equal(holding.escalationReason, 'No automatic remediation for DiskFull');
      await handle.executeUpdate(closeUpdate, {
        args: [{ identity: 'carol', channel: 'cli', comment: 'disk cleaned' }],
      });
      const final = await handle.result();
      assert.equal(final.status, 'escalated');
      assert.match(final.resolution ?? '', /closed by carol/);
      assert.equal(final.closedBy?.comment, 'disk cleaned');
      await recordHistory(handle, 'escalate-only-acknowledged');
    });
  });

  it('a dry run reports what each mutating step would do and changes nothing', async () => {
    const acts = new TestActivities().on('containerInspect', () => ({ exists: true, running: false }));
    await run(acts, async (taskQueue) => {
      const handle = await openIncident(
        client,
        taskQueue,
        sampleRunbook('restart-container'),
        containerAlert,
        { dryRun: true },
      );
      const final = await handle.result();
      assert.equal(final.dryRun, true);
      assert.equal(final.resolution, 'dry run complete: nothing was changed');
      const restart = final.steps.find((s) => s.id === 'restart');
      assert.match(restart?.note ?? '', /^dry run: containerRestart/);
      assert.ok(acts.callsOf('containerRestart').every((c) => c.dryRun));
    });
  });

  it('a runbook error that slipped past validation fails the incident without retrying', async () => {
    const snapshot = runbookFromText(`
name: bad-at-runtime
description: a template that only fails on real data
matchers: ['alertname = "X"']
steps:
  - id: call
    phase: remediate
    type: http.call
    with: { url: "{{ labels.missing.deeper }}" }
`);
    const acts = new TestActivities();
    await run(acts, async (taskQueue) => {
      const handle = await openIncident(client, taskQueue, snapshot, alert({ alertname: 'X' }));
      await assert.rejects(handle.result(), (error: unknown) => {
        assert.ok(error instanceof WorkflowFailedError);
        assert.match(String(error.cause?.message), /runbook error in step call: parameters:/);
        return true;
      });
      const final = await state(handle);
      assert.equal(final.status, 'failed');
      assert.equal(acts.callsOf('httpCall').length, 0);
      await recordHistory(handle, 'runbook-error');
    });
  });
});

describe('long incidents', () => {
  it('continue as new before the history grows too long, keeping their state and joining repeats', async () => {
    const acts = new TestActivities();
    await run(acts, async (taskQueue) => {
      const snapshot = sampleRunbook('escalate-only');
      const firing = alert({ alertname: 'DiskFull', severity: 'page', instance: 'db-2' });
      const handle = await client.workflow.signalWithStart('incident', {
        taskQueue,
        workflowId: `test/can/${Date.now()}`,
        args: [
          {
            incidentId: 'can',
            targetKey: 'db-2',
            snapshot,
            dryRun: false,
            continueAsNewAt: 60,
            safetyScope: taskQueue,
          },
        ],
        signal: 'alert',
        signalArgs: [{ alert: firing, source: 'test', receivedAt: new Date().toISOString() }],
      });
      await waitForState(handle, (s) => s.pendingApproval?.stepId === 'acknowledge');
      await handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', identity: 'carol', groups: ['oncall'], channel: 'cli' }],
      });
      const firstRun = (await handle.describe()).runId;
      for (let i = 0; i < 40; i += 1) await sendAlert(handle, firing);
      const later = await waitForState(handle, (s) => s.timeline.some((t) => t.kind === 'continue-as-new'));
      assert.equal(later.status, 'escalated');
      await sendAlert(handle, { ...firing, status: 'resolved' });
      const final = await client.workflow.getHandle<typeof incident>(handle.workflowId).result();
      assert.notEqual((await client.workflow.getHandle(handle.workflowId).describe()).runId, firstRun);
      assert.equal(final.status, 'escalated');
      assert.ok(
        final.notifications >= 42,
        `every notification across runs is counted (${final.notifications})`,
      );
      assert.equal(final.decisions.length, 1, 'the acknowledgement survives continue-as-new');
    });
  });
});
