// The re-check before a mutating step, against the real Temporal dev server: a check result that has
// aged (here behind a sleep) is run again and the step is skipped when the target recovered; a check
// that began moments before (FRESH_CHECK_MS) is not run again, and the step acts on it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { FRESH_CHECK_MS } from '../../src/workflows/incident/guards';
import { alert, openIncident, runbookFromText, waitForState } from '../support/incidents';
import { TestActivities } from '../support/test-activities';
import { testClient, uniqueTaskQueue, withWorker } from '../support/temporal';

let client: Client;
before(async () => {
  client = await testClient();
});
after(async () => {
  await client.connection.close();
});

/** inspect, an optional pause, then a restart only while the container is down. */
const runbook = (name: string, pause?: string): string => `
name: ${name}
description: restart a container that is down
matchers: ['alertname = "Down"']
holdOpen: 1m
steps:
  - id: inspect
    phase: detect
    type: container.inspect
    with: { container: "{{ labels.container }}" }
${
  pause
    ? `  - id: pause
    phase: assess
    type: sleep
    with: { duration: ${pause} }
`
    : ''
}  - id: restart
    phase: remediate
    type: container.restart
    when: "!steps.inspect.output.running"
    with: { container: "{{ labels.container }}", stopTimeout: 1 }
`;

const down = (container: string): ReturnType<typeof alert> => alert({ alertname: 'Down', container });

describe('the re-check before acting', () => {
  it('runs the check again when its result has aged, and skips the step when the target recovered', async () => {
    let inspections = 0;
    // Down when the detect step looks, up again by the time of the re-check.
    const acts = new TestActivities().on('containerInspect', () => {
      inspections += 1;
      return { exists: true, running: inspections > 1 };
    });
    const taskQueue = uniqueTaskQueue('recheck-aged');
    // Longer than FRESH_CHECK_MS, so the result is no longer fresh when the restart comes.
    const pause = `${Math.ceil((FRESH_CHECK_MS * 1.5) / 1000)}s`;
    await withWorker({ taskQueue, activities: acts.activities() }, async () => {
      const handle = await openIncident(
        client,
        taskQueue,
        runbookFromText(runbook('recheck-aged', pause)),
        down('flaky'),
      );
      const settled = await waitForState(handle, (s) => s.timeline.some((t) => t.kind === 'hold'), 60_000);
      assert.equal(acts.callsOf('containerInspect').length, 2, 'inspected again before acting');
      assert.equal(acts.callsOf('containerRestart').length, 0, 'no restart of a recovered container');
      const restart = settled.steps.find((s) => s.id === 'restart');
      assert.equal(restart?.status, 'skipped');
      assert.match(restart?.note ?? '', /re-checked just before acting/);
      assert.ok(settled.timeline.some((t) => /re-checked inspect before restart/.test(t.message)));
      await handle.terminate('test done');
    });
  });

  it('acts on a check that began moments before, without running it again', async () => {
    const acts = new TestActivities().on('containerInspect', () => ({ exists: true, running: false }));
    const taskQueue = uniqueTaskQueue('recheck-fresh');
    await withWorker({ taskQueue, activities: acts.activities() }, async () => {
      const handle = await openIncident(
        client,
        taskQueue,
        runbookFromText(runbook('recheck-fresh')),
        down('stopped'),
      );
      const settled = await waitForState(handle, (s) => s.timeline.some((t) => t.kind === 'hold'), 60_000);
      assert.equal(settled.steps.find((s) => s.id === 'restart')?.status, 'succeeded');
      assert.equal(acts.callsOf('containerRestart').length, 1);
      const inspect = settled.steps.find((s) => s.id === 'inspect');
      const restart = settled.steps.find((s) => s.id === 'restart');
      const gap = Date.parse(restart?.startedAt ?? '') - Date.parse(inspect?.startedAt ?? '');
      // On a machine too loaded to reach the restart within FRESH_CHECK_MS the re-check runs, as it must.
      const fresh = gap <= FRESH_CHECK_MS;
      assert.equal(
        acts.callsOf('containerInspect').length,
        fresh ? 1 : 2,
        `inspect began ${gap} ms before the restart: ${fresh ? 'not run again' : 're-checked'}`,
      );
      assert.ok(
        settled.timeline.some((t) =>
          fresh
            ? /not re-checked before restart: inspect began .* ago \(fresh within 2s\)/.test(t.message)
            : /re-checked inspect before restart/.test(t.message),
        ),
        JSON.stringify(settled.timeline),
      );
      await handle.terminate('test done');
    });
  });
});
