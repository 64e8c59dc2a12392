// A code runbook's mutating step passes the same guards as a YAML step, against the real guard
// workflows on the test server: refused while paused (it only records what it would do), held back by
// another incident's lock, stopped by the budget; and a dry run changes nothing.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { loadRunbooks } from '../../src/runbooks/catalog';
import type { RunbookSnapshot } from '../../src/runbook-lang/types';
import { codeRunbookBundle } from '../support/code-runbooks';
import { alert, openIncident, sendAlert, waitForState } from '../support/incidents';
import { runRebound } from '../support/processes';
import { TestActivities } from '../support/test-activities';
import { temporalAddress, testClient, uniqueTaskQueue, withWorker } from '../support/temporal';

const DIR = path.resolve(__dirname, '../fixtures/code-runbooks');
const down = (container: string): ReturnType<typeof alert> => alert({ alertname: 'CodeDown', container });

let client: Client;
let snapshot: RunbookSnapshot;
let workflowBundle: { code: string };
before(async () => {
  client = await testClient();
  const found = loadRunbooks(DIR).runbooks.find((r) => r.runbook.name === 'code-restart');
  assert.ok(found, 'the fixture code runbook loads');
  snapshot = found;
  workflowBundle = await codeRunbookBundle(DIR);
});
after(async () => {
  await client.connection.close();
});

const isDown = (): TestActivities =>
  new TestActivities({ backoff: 100 }).on('containerInspect', () => ({ exists: true, running: false }));
const holding = (s: { timeline: Array<{ kind: string }> }): boolean =>
  s.timeline.some((t) => t.kind === 'hold');

describe("a code runbook's mutating step and the guards", () => {
  it('while paused it only records what it would do', async () => {
    const acts = isDown();
    const taskQueue = uniqueTaskQueue('code-pause');
    const env = { TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_TASK_QUEUE: taskQueue };
    await withWorker({ taskQueue, activities: acts.activities(), workflowBundle }, async () => {
      const paused = await runRebound(['pause', '--as', 'alice', '--reason', 'maintenance'], env);
      assert.equal(paused.code, 0, paused.stderr);
      const handle = await openIncident(client, taskQueue, snapshot, down('db-1'));
      const s = await waitForState(handle, holding);
      const restart = s.steps.find((x) => x.id === 'restart');
      assert.equal(restart?.status, 'succeeded');
      assert.match(
        restart?.note ?? '',
        /^paused \(automation paused by alice .*\); would have done: containerRestart/,
      );
      assert.ok(acts.callsOf('containerRestart').length > 0);
      assert.ok(
        acts.callsOf('containerRestart').every((c) => c.dryRun),
        'only dry runs while paused',
      );
      assert.ok(
        s.timeline.some((t) => t.kind === 'safety' && /only records what it would do/.test(t.message)),
      );
      await handle.terminate('test done');
      const resumed = await runRebound(['resume', '--as', 'alice'], env);
      assert.equal(resumed.code, 0, resumed.stderr);
    });
  });

  it("waits for another incident's lock on the target and acts once that incident is gone", async () => {
    let release: () => void = () => {};
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const acts = isDown().on('containerRestart', async (input) => {
      if (input.ctx.incidentId.endsWith('/first')) await blocked;
      return { container: input.params.container, restarted: true };
    });
    const taskQueue = uniqueTaskQueue('code-lock');
    await withWorker({ taskQueue, activities: acts.activities(), workflowBundle }, async () => {
      const first = await openIncident(client, taskQueue, snapshot, down('shared'), {
        workflowId: `incident/code-restart/${taskQueue}/first`,
      });
      await waitForState(first, (s) => s.steps.find((x) => x.id === 'restart')?.status === 'running');
      const second = await openIncident(client, taskQueue, snapshot, down('shared'), {
        workflowId: `incident/code-restart/${taskQueue}/second`,
      });
      await waitForState(second, (s) =>
        s.timeline.some((t) => t.kind === 'lock' && /waiting for docker:local\/shared/.test(t.message)),
      );
      assert.equal(
        acts.callsOf('containerRestart').length,
        1,
        'the second does not act while the first holds the lock',
      );
      await first.terminate('simulated crash');
      const done = await waitForState(
        second,
        (s) => s.steps.find((x) => x.id === 'restart')?.status === 'succeeded',
      );
      assert.ok(
        done.timeline.some((t) => t.kind === 'lock' && /acquired docker:local\/shared/.test(t.message)),
      );
      release();
      await second.terminate('test done');
    });
  });

  it('is stopped by the budget: the incident escalates, says why, and runs its escalation', async () => {
    const acts = new TestActivities({ budgetMax: 1, backoff: 100 }).on('containerInspect', () => ({
      exists: true,
      running: false,
    }));
    const taskQueue = uniqueTaskQueue('code-budget');
    await withWorker({ taskQueue, activities: acts.activities(), workflowBundle }, async () => {
      const workflowId = `incident/code-restart/flappy/${taskQueue}`;
      const one = await openIncident(client, taskQueue, snapshot, down('flappy'), { workflowId });
      const first = await waitForState(one, holding);
      assert.equal(first.steps.find((x) => x.id === 'restart')?.status, 'succeeded');
      await sendAlert(one, { ...down('flappy'), status: 'resolved' });
      assert.equal((await one.result()).resolution, 'remediated');

      const two = await openIncident(client, taskQueue, snapshot, down('flappy'), { workflowId });
      const second = await waitForState(two, (s) => s.status === 'escalated' && holding(s));
      assert.equal(second.steps.find((x) => x.id === 'restart')?.status, 'skipped');
      assert.match(
        second.escalationReason ?? '',
        /remediation budget for docker:local\/flappy is used up \(1 of 1/,
      );
      assert.equal(acts.callsOf('containerRestart').length, 1);
      assert.equal(
        second.steps.find((x) => x.id === 'tell')?.status,
        'succeeded',
        'the escalation procedure ran',
      );
      assert.ok(
        acts
          .callsOf('notify')
          .some((c) => /flappy needs a human/.test(String((c.params as { text: string }).text))),
      );
      await two.terminate('test done');
    });
  });

  it('a dry run changes nothing and says what it would have done', async () => {
    const acts = isDown();
    const taskQueue = uniqueTaskQueue('code-dry');
    await withWorker({ taskQueue, activities: acts.activities(), workflowBundle }, async () => {
      const handle = await openIncident(client, taskQueue, snapshot, down('web-1'), { dryRun: true });
      const final = await handle.result();
      assert.equal(final.status, 'resolved');
      assert.equal(final.resolution, 'dry run complete: nothing was changed');
      const restart = final.steps.find((x) => x.id === 'restart');
      assert.equal(restart?.status, 'succeeded');
      assert.match(restart?.note ?? '', /^dry run: /);
      assert.ok(acts.callsOf('containerRestart').every((c) => c.dryRun));
      assert.equal(acts.callsOf('safetyAdmit').length, 0, 'no guards in a dry run');
    });
  });

  it('re-checks what a `when` reads just before acting: a target up again is left alone', async () => {
    const found = loadRunbooks(DIR).runbooks.find((r) => r.runbook.name === 'code-restart-after-wait');
    assert.ok(found, 'the fixture code runbook loads');
    for (const upAgain of [true, false]) {
      let inspections = 0;
      const acts = new TestActivities({ backoff: 100 }).on('containerInspect', () => {
        inspections += 1;
        return { exists: true, running: upAgain && inspections > 1 };
      });
      const taskQueue = uniqueTaskQueue('code-recheck');
      await withWorker({ taskQueue, activities: acts.activities(), workflowBundle }, async () => {
        const handle = await openIncident(client, taskQueue, found, down('api-1'));
        const s = await waitForState(handle, holding);
        assert.equal(acts.callsOf('containerInspect').length, 2, 'the aged check ran again before acting');
        assert.ok(s.timeline.some((t) => /re-checked inspect before restart/.test(t.message)));
        const restart = s.steps.find((x) => x.id === 'restart');
        if (upAgain) {
          assert.equal(restart?.status, 'skipped');
          assert.match(restart?.note ?? '', /no longer needs it/);
          assert.equal(acts.callsOf('containerRestart').length, 0);
        } else {
          assert.equal(restart?.status, 'succeeded');
          assert.equal(acts.callsOf('containerRestart').length, 1);
        }
        await handle.terminate('test done');
      });
    }
  });
});
