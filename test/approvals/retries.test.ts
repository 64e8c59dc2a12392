// A retried decision is answered as the original was, in every form it can take (HTTP with or without
// step and request id, the CLI, a Slack click), also when the original moved the incident on to its
// next step or closed it: never a 409 "no approval is pending", never a second decision, and never a
// decision on the step that became pending after the original.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RecordedDecision } from '../../src/workflows/contract';
import { alert, openIncident, runbookFromText, state, waitForState } from '../support/incidents';
import { runRebound } from '../support/processes';
import { SIGNING_SECRET, decidePath, post, startHarness, testEnv, TOKENS, type Harness } from './harness';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const rebound = (args: string[]): ReturnType<typeof runRebound> =>
  runRebound(args, { ...testEnv(), REBOUND_CONFIG: '', REBOUND_LOG_LEVEL: 'error' });

/** Two approval steps in a row, both for alice: the case where "the pending step" moves on. */
const TWO_STEPS = runbookFromText(`
name: two-approvals
description: two approvals in a row
matchers: ['alertname = "NeedsHuman"']
holdOpen: 1m
steps:
  - id: first
    phase: remediate
    type: approval
    with: { approvers: [alice, bob], prompt: 'first?', timeout: 10m }
  - id: second
    phase: remediate
    type: approval
    with: { approvers: [alice, bob], prompt: 'second?', timeout: 10m }
`);

async function twoSteps(): ReturnType<typeof openIncident> {
  const handle = await openIncident(
    h.client,
    h.taskQueue,
    TWO_STEPS,
    alert({ alertname: 'NeedsHuman', service: 'api' }),
    { workflowId: `incident/two-approvals/${Math.random().toString(36).slice(2)}` },
  );
  await waitForState(handle, (s) => s.pendingApproval?.stepId === 'first');
  return handle;
}

function slackClick(
  user: string,
  incidentId: string,
  stepId: string,
  action: 'approve' | 'reject',
): Promise<Response> {
  const body = new URLSearchParams({
    payload: JSON.stringify({
      type: 'block_actions',
      user: { id: user },
      actions: [
        {
          block_id: 'rebound_approval',
          action_id: `rebound_${action}`,
          value: JSON.stringify({ incidentId, stepId }),
        },
      ],
    }),
  }).toString();
  const timestamp = Math.floor(Date.now() / 1000);
  return fetch(`${h.receiver.url}/v1/slack/interactions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature':
        'v0=' + createHmac('sha256', SIGNING_SECRET).update(`v0:${timestamp}:${body}`).digest('hex'),
    },
    body,
  });
}

describe('retried decisions', () => {
  it('HTTP without step: the retry after the incident moved on is 200 duplicate, not 409', async () => {
    const handle = await h.open();
    const path = decidePath(handle.workflowId, 'approve');
    const first = await post(h.receiver, path, { comment: 'go' }, TOKENS.alice);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(first.json.duplicate, false);
    await waitForState(handle, (s) => s.pendingApproval === undefined);
    const retry = await post(h.receiver, path, { comment: 'go' }, TOKENS.alice);
    assert.equal(retry.status, 200, JSON.stringify(retry.json));
    assert.equal(retry.json.duplicate, true);
    assert.deepEqual(retry.json.recorded, first.json.recorded);
    assert.equal((await state(handle)).decisions.length, 1);
  });

  it('HTTP with request id, with step, and both: each retry is 200 duplicate with the original', async () => {
    for (const body of [
      { requestId: 'ticket-1' },
      { step: 'approve' },
      { step: 'approve', requestId: 'ticket-2' },
    ]) {
      const handle = await h.open();
      const path = decidePath(handle.workflowId, 'approve');
      const first = await post(h.receiver, path, body, TOKENS.bob);
      assert.equal(first.status, 200, JSON.stringify(first.json));
      await waitForState(handle, (s) => s.pendingApproval === undefined);
      const retry = await post(h.receiver, path, body, TOKENS.bob);
      assert.equal(retry.status, 200, `${JSON.stringify(body)}: ${JSON.stringify(retry.json)}`);
      assert.equal(retry.json.duplicate, true, JSON.stringify(body));
      assert.deepEqual(retry.json.recorded, first.json.recorded);
      assert.equal((await state(handle)).decisions.length, 1);
    }
  });

  it('HTTP reject, then the incident is closed: the retry is still 200 duplicate (not 404)', async () => {
    const handle = await h.open();
    const path = decidePath(handle.workflowId, 'reject');
    const first = await post(h.receiver, path, { comment: 'no' }, TOKENS.alice);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    await waitForState(handle, (s) => s.status === 'escalated' && s.timeline.some((t) => t.kind === 'hold'));
    const closed = await rebound(['close', handle.workflowId, '--as', 'carol']);
    assert.equal(closed.code, 0, closed.stderr);
    await handle.result();
    const retry = await post(h.receiver, path, { comment: 'no' }, TOKENS.alice);
    assert.equal(retry.status, 200, JSON.stringify(retry.json));
    assert.equal(retry.json.duplicate, true);
    assert.equal((retry.json.recorded as RecordedDecision).decision, 'reject');
    // A decision nobody made on the closed incident is still "no open incident".
    const other = await post(h.receiver, decidePath(handle.workflowId, 'approve'), {}, TOKENS.bob);
    assert.equal(other.status, 404, JSON.stringify(other.json));
    // The close itself, run again by the same person: answered as the first time.
    const closedAgain = await rebound(['close', handle.workflowId, '--as', 'carol']);
    assert.equal(closedAgain.code, 0, closedAgain.stderr);
    assert.match(closedAgain.stdout, /already closed earlier/);
  });

  it('without step, a retry never becomes a decision on the step that is pending now', async () => {
    const handle = await twoSteps();
    const path = decidePath(handle.workflowId, 'approve');
    const first = await post(h.receiver, path, { comment: 'first is fine' }, TOKENS.alice);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    await waitForState(handle, (s) => s.pendingApproval?.stepId === 'second');
    const retry = await post(h.receiver, path, { comment: 'first is fine' }, TOKENS.alice);
    assert.equal(retry.status, 200, JSON.stringify(retry.json));
    assert.equal(retry.json.duplicate, true);
    assert.equal((retry.json.recorded as RecordedDecision).stepId, 'first');
    const s = await state(handle);
    assert.equal(s.pendingApproval?.stepId, 'second', 'the second step still waits');
    assert.equal(s.decisions.length, 1);
    // Naming the step (or saying something new) decides the second one.
    const second = await post(h.receiver, path, { step: 'second' }, TOKENS.alice);
    assert.equal(second.status, 200, JSON.stringify(second.json));
    assert.equal(second.json.duplicate, false);
    assert.equal((second.json.recorded as RecordedDecision).stepId, 'second');
  });

  it('CLI without step, run again after the incident moved on: exit 0, already recorded', async () => {
    const handle = await h.open();
    const args = ['approve', handle.workflowId, '--as', 'alice', '--comment', 'cli go'];
    const first = await rebound(args);
    assert.equal(first.code, 0, first.stderr);
    await waitForState(handle, (s) => s.pendingApproval === undefined);
    const again = await rebound(args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /alice approved step approve .* via cli/);
    assert.match(again.stdout, /already recorded earlier/);
    const withId = await rebound([...args, '--step', 'approve']);
    assert.equal(withId.code, 0, withId.stderr);
    assert.equal((await state(handle)).decisions.length, 1);
  });

  it('Slack: the same click after the step was decided and moved on is acknowledged, recorded once', async () => {
    const handle = await h.open();
    const first = await slackClick('UALICE', handle.workflowId, 'approve', 'approve');
    assert.equal(first.status, 200);
    await waitForState(handle, (s) => s.pendingApproval === undefined);
    const again = await slackClick('UALICE', handle.workflowId, 'approve', 'approve');
    assert.equal(again.status, 200);
    const text = await again.text();
    assert.doesNotMatch(text, /ephemeral/, `no refusal shown: ${text}`);
    assert.equal((await state(handle)).decisions.length, 1);
  });
});
