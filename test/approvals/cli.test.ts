// `rebound approve / reject / close / incidents pending` run as a user runs them: a real process
// against the run's Temporal server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { PendingRow } from '../../src/decisions';
import { state, waitForState } from '../support/incidents';
import { runRebound } from '../support/processes';
import { startHarness, testEnv, type Harness } from './harness';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

// Nothing from the developer's environment may leak into the child's configuration.
const rebound = (args: string[]): ReturnType<typeof runRebound> =>
  runRebound(args, { ...testEnv(), REBOUND_CONFIG: '', REBOUND_LOG_LEVEL: 'error' });

function updateEventCount(historyJson: string): number {
  const history = JSON.parse(historyJson) as { events: Array<Record<string, unknown>> };
  return history.events.filter((e) => 'workflowExecutionUpdateAcceptedEventAttributes' in e).length;
}

describe('approvals from the CLI', () => {
  it('incidents pending lists what waits for whom; approve records once even when run twice', async () => {
    const handle = await h.open({ minApprovers: 2 });
    const listed = await rebound(['incidents', 'pending', '--json', '--timeout', '2']);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as PendingRow[];
    const mine = rows.find((r) => r.incidentId === handle.workflowId);
    assert.ok(mine, `incident listed in ${listed.stdout}`);
    assert.equal(mine.stepId, 'approve');
    assert.equal(mine.prompt, 'Restart <b>api</b> & co?');
    assert.deepEqual(mine.approvers, ['alice', 'bob', 'group:sre']);
    assert.deepEqual(mine.approvedBy, []);
    assert.ok(Date.parse(mine.deadline) > Date.parse(mine.since));

    const args = ['approve', handle.workflowId, '--as', 'alice', '--comment', 'cli says go'];
    const first = await rebound(args);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /alice approved step approve of incident .* via cli .*: cli says go/);
    assert.match(first.stdout, /still waiting: 1 of 2 approvals/);
    const second = await rebound(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /already recorded earlier/);
    const s = await state(handle);
    assert.equal(s.decisions.length, 1);
    assert.equal(updateEventCount(historyToJSON(await handle.fetchHistory())), 1);

    const text = await rebound(['incidents', 'pending', '--timeout', '2']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`${handle.workflowId.replace(/[/.]/g, '\\$&')}  step approve`));
    assert.match(text.stdout, /approved: {2}alice \(1\/2\)/);
  });

  it('refusals exit non-zero with the reason; a missing incident says so', async () => {
    const handle = await h.open({ triggeredBy: 'bob' });
    const self = await rebound(['approve', handle.workflowId, '--as', 'bob']);
    assert.equal(self.code, 1);
    assert.match(self.stderr, /refused: bob triggered this incident and may not approve it/);
    const wrong = await rebound(['approve', handle.workflowId, '--step', 'act', '--as', 'alice']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /step "act" is not waiting for approval/);
    const missing = await rebound(['approve', 'incident/none/here', '--as', 'alice']);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /no open incident incident\/none\/here/);
    const noIdentity = await rebound(['approve', handle.workflowId]);
    assert.notEqual(noIdentity.code, 0);
    assert.match(noIdentity.stderr, /--as <name> is required/);
    assert.equal((await state(handle)).decisions.length, 0);
  });

  it('reject, then close the escalated incident by hand', async () => {
    const handle = await h.open();
    const rejected = await rebound(['reject', handle.workflowId, '--as', 'carol', '--comment', 'no']);
    assert.equal(rejected.code, 0, rejected.stderr);
    assert.match(rejected.stdout, /carol rejected step approve/);
    await waitForState(handle, (x) => x.status === 'escalated' && x.timeline.some((t) => t.kind === 'hold'));
    const closed = await rebound(['close', handle.workflowId, '--as', 'carol', '--comment', 'fixed by hand']);
    assert.equal(closed.code, 0, closed.stderr);
    assert.match(closed.stdout, /carol closed incident/);
    const final = await handle.result();
    assert.equal(final.closedBy?.identity, 'carol');
    assert.equal(final.closedBy?.comment, 'fixed by hand');
    // Run again by the same person: answered as the first time. By someone else: no open incident.
    const again = await rebound(['close', handle.workflowId, '--as', 'carol']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already closed earlier/);
    const other = await rebound(['close', handle.workflowId, '--as', 'dave']);
    assert.equal(other.code, 3);
    assert.match(other.stderr, /no open incident/);
  });
});
