// What a pending approval does when nobody decides in time: each onTimeout outcome, on the real
// Temporal server with short timeouts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { state, waitForState } from '../support/incidents';
import { decidePath, post, startHarness, TOKENS, type Harness } from './harness';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

describe('approval timeouts', () => {
  it('onTimeout escalate: the incident escalates and a late approval is refused', async () => {
    const handle = await h.open({ timeout: '1s', onTimeout: 'escalate' });
    const s = await waitForState(handle, (x) => x.status === 'escalated', 15_000);
    assert.equal(s.escalationReason, 'approval for approve timed out');
    assert.equal(s.steps.find((x) => x.id === 'act')?.status, 'pending', 'the action never ran');
    const late = await post(h.receiver, decidePath(handle.workflowId, 'approve'), {}, TOKENS.alice);
    assert.equal(late.status, 409);
    assert.match(String(late.json.error), /no approval is pending/);
  });

  it('onTimeout reject: treated as a rejection, so the step’s onFailure (abort) ends the incident', async () => {
    const handle = await h.open({ timeout: '1s', onTimeout: 'reject', onFailure: 'abort' });
    await assert.rejects(handle.result(), (error: unknown) => {
      assert.ok(error instanceof WorkflowFailedError);
      assert.match(
        String(error.cause?.message),
        /approval for approve timed out after 1s \(on timeout: reject\)/,
      );
      return true;
    });
    const s = await state(handle);
    assert.equal(s.status, 'failed');
    assert.equal(s.steps.find((x) => x.id === 'approve')?.status, 'failed');
    assert.equal(s.steps.find((x) => x.id === 'act')?.status, 'pending');
  });

  it('onTimeout proceed: the runbook goes on without a decision and says so', async () => {
    const handle = await h.open({ timeout: '1s', onTimeout: 'proceed' });
    const s = await waitForState(
      handle,
      (x) => x.steps.find((st) => st.id === 'act')?.status === 'succeeded',
      15_000,
    );
    assert.deepEqual(s.steps.find((x) => x.id === 'approve')?.output, {
      approved: false,
      timedOut: true,
      proceeded: true,
    });
    assert.equal(s.decisions.length, 0);
    assert.ok(s.timeline.some((t) => /no decision on approve within 1s: proceeding/.test(t.message)));
  });
});
