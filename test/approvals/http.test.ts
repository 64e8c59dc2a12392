// HTTP approvals against the real receiver and the real Temporal dev server: identity from the API
// token only, the validator's refusals as 403/409, duplicates recorded once, and the approver's
// identity and comment in the exported history.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { decisionUpdateId, groupsOf } from '../../src/decisions';
import { loadConfig } from '../../src/config';
import { startReceiver } from '../../src/receiver';
import { ROUTE_MODULES } from '../../src/receiver/routes';
import { lazyClient } from '../../src/temporal-connection';
import { identityForToken } from '../../src/receiver/approval-routes';
import type { RecordedDecision } from '../../src/workflows/contract';
import { state, waitForState } from '../support/incidents';
import { decidePath, post, startHarness, TOKENS, type Harness } from './harness';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

/** Update events in an exported history (admitted, accepted or completed). */
function updateEvents(historyJson: string): Array<Record<string, unknown>> {
  const history = JSON.parse(historyJson) as { events: Array<Record<string, unknown>> };
  return history.events.filter((e) =>
    Object.keys(e).some((k) => /^workflowExecutionUpdate(Accepted|Completed)EventAttributes$/.test(k)),
  );
}

function decodePayloads(value: unknown): string {
  // Payload data is base64 in the JSON export; decode every "data" field we find.
  let out = '';
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object')
      for (const [k, v] of Object.entries(node)) {
        if (k === 'data' && typeof v === 'string') out += Buffer.from(v, 'base64').toString('utf8') + '\n';
        else walk(v);
      }
  };
  walk(value);
  return out;
}

describe('approvals over HTTP', () => {
  it('approve: the token names the approver, the body cannot; the history records who and why', async () => {
    const handle = await h.open();
    const { status, json } = await post(
      h.receiver,
      decidePath(handle.workflowId, 'approve'),
      { comment: 'looks safe, go', identity: 'mallory', requestId: 'req-1' },
      TOKENS.alice,
    );
    assert.equal(status, 200, JSON.stringify(json));
    const recorded = json.recorded as RecordedDecision;
    assert.equal(recorded.identity, 'alice', 'identity comes from the token, never the body');
    assert.equal(recorded.channel, 'http');
    assert.equal(recorded.comment, 'looks safe, go');
    assert.equal(json.duplicate, false);
    const s = await waitForState(
      handle,
      (x) => x.steps.find((st) => st.id === 'act')?.status === 'succeeded',
    );
    assert.deepEqual(
      s.decisions.map((d) => [d.identity, d.decision, d.stepId]),
      [['alice', 'approve', 'approve']],
    );
    assert.ok(
      h.activities.callsOf('httpCall').some((c) => c.stepId === 'act'),
      'the approved action ran',
    );

    const exported = historyToJSON(await handle.fetchHistory());
    const events = updateEvents(exported);
    assert.equal(events.length, 2, 'one accepted and one completed update event');
    const text = decodePayloads(events);
    assert.match(text, /"identity":"alice"/);
    assert.match(text, /looks safe, go/);
    assert.doesNotMatch(text, /mallory/);
    const metrics = await (await fetch(`${h.receiver.url}/metrics`)).text();
    assert.match(metrics, /rebound_approval_decisions_total\{channel="http",outcome="accepted"\} [1-9]/);
  });

  it('reject: the step fails and the incident escalates, recorded with the rejecter', async () => {
    const handle = await h.open();
    const { status, json } = await post(
      h.receiver,
      decidePath(handle.workflowId, 'reject'),
      { step: 'approve', comment: 'not during the sale' },
      TOKENS.bob,
    );
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal((json.recorded as RecordedDecision).decision, 'reject');
    const s = await waitForState(handle, (x) => x.status === 'escalated');
    assert.match(s.escalationReason ?? '', /rejected by bob: not during the sale/);
    assert.equal(s.steps.find((x) => x.id === 'act')?.status, 'pending', 'the action never ran');
  });

  it('two-person approval: the first approval leaves it pending, the second completes it', async () => {
    const handle = await h.open({ minApprovers: 2 });
    const first = await post(h.receiver, decidePath(handle.workflowId, 'approve'), {}, TOKENS.alice);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    const pending = first.json.pending as { approvedBy: string[]; minApprovers: number } | undefined;
    assert.deepEqual(pending?.approvedBy, ['alice']);
    const mid = await state(handle);
    assert.equal(mid.pendingApproval?.stepId, 'approve', 'still waiting for a second approver');
    assert.equal(mid.steps.find((x) => x.id === 'act')?.status, 'pending');
    // A member of group sre (carol) is the second approver.
    const second = await post(h.receiver, decidePath(handle.workflowId, 'approve'), {}, TOKENS.carol);
    assert.equal(second.status, 200, JSON.stringify(second.json));
    const done = await waitForState(
      handle,
      (x) => x.steps.find((st) => st.id === 'act')?.status === 'succeeded',
    );
    const approve = done.steps.find((x) => x.id === 'approve');
    assert.deepEqual((approve?.output as { approvedBy: string[] }).approvedBy, ['alice', 'carol']);
  });

  it('refusals: self-approval 403, not an approver 403, step not pending 409; none enters the history', async () => {
    const handle = await h.open({ triggeredBy: 'alice' });
    const self = await post(h.receiver, decidePath(handle.workflowId, 'approve'), {}, TOKENS.alice);
    assert.equal(self.status, 403);
    assert.match(String(self.json.error), /alice triggered this incident and may not approve it/);
    const outsider = await post(h.receiver, decidePath(handle.workflowId, 'approve'), {}, TOKENS.mallory);
    assert.equal(outsider.status, 403);
    assert.match(String(outsider.json.error), /mallory may not decide step "approve"/);
    const wrongStep = await post(
      h.receiver,
      decidePath(handle.workflowId, 'approve'),
      { step: 'act' },
      TOKENS.bob,
    );
    assert.equal(wrongStep.status, 409);
    assert.match(String(wrongStep.json.error), /step "act" is not waiting for approval/);
    assert.equal((await state(handle)).decisions.length, 0);
    assert.equal(updateEvents(historyToJSON(await handle.fetchHistory())).length, 0);
    const metrics = await (await fetch(`${h.receiver.url}/metrics`)).text();
    assert.match(metrics, /rebound_approval_decisions_total\{channel="http",outcome="refused"\} [3-9]/);
  });

  it('the same decision sent twice is recorded once (one update in the history)', async () => {
    const handle = await h.open({ minApprovers: 2 });
    const path = decidePath(handle.workflowId, 'approve');
    const [a, b] = await Promise.all([
      post(h.receiver, path, { requestId: 'click-7', comment: 'ok' }, TOKENS.bob),
      post(h.receiver, path, { requestId: 'click-7', comment: 'ok' }, TOKENS.bob),
    ]);
    const c = await post(h.receiver, path, { requestId: 'click-7', comment: 'ok' }, TOKENS.bob);
    for (const r of [a, b, c]) assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(c.json.duplicate, true);
    const s = await state(handle);
    assert.equal(s.decisions.length, 1);
    assert.deepEqual(s.pendingApproval?.approvedBy, ['bob']);
    const events = updateEvents(historyToJSON(await handle.fetchHistory()));
    assert.equal(events.length, 2, 'one update: accepted + completed');
  });

  it('authentication: missing and unknown tokens are 401; bad bodies 400; unknown incidents 404', async () => {
    const handle = await h.open();
    const path = decidePath(handle.workflowId, 'approve');
    const none = await post(h.receiver, path, {});
    assert.equal(none.status, 401);
    const unknown = await post(h.receiver, path, {}, 'tok-alice-0123456788');
    assert.equal(unknown.status, 401);
    assert.match(String(unknown.json.error), /unknown API token/);
    const bad = await post(h.receiver, path, '{not json', TOKENS.alice);
    assert.equal(bad.status, 400);
    const badType = await post(h.receiver, path, { step: 42 }, TOKENS.alice);
    assert.equal(badType.status, 400);
    const missing = await post(h.receiver, decidePath('incident/nope/nothing', 'approve'), {}, TOKENS.alice);
    assert.equal(missing.status, 404);
    assert.match(String(missing.json.error), /no open incident incident\/nope\/nothing/);
    assert.equal((await state(handle)).decisions.length, 0);
  });

  it('an incident that is already closed is 404 "no open incident"', async () => {
    const handle = await h.open();
    await handle.terminate('test: closed');
    const r = await post(h.receiver, decidePath(handle.workflowId, 'approve'), {}, TOKENS.alice);
    assert.equal(r.status, 404);
    assert.match(String(r.json.error), /no open incident/);
  });

  it('Temporal unreachable is 503', async () => {
    const config = loadConfig({
      env: { TEMPORAL_ADDRESS: '127.0.0.1:1', REBOUND_API_TOKENS: `${TOKENS.alice}=alice` },
    });
    const client = lazyClient(config);
    const receiver = await startReceiver(config, client, ROUTE_MODULES, { port: 0 });
    try {
      const started = Date.now();
      const r = await post(receiver, decidePath('incident/x/y', 'approve'), {}, TOKENS.alice);
      assert.equal(r.status, 503, JSON.stringify(r.json));
      assert.match(String(r.json.error), /Temporal is unreachable/);
      assert.ok(Date.now() - started < 15_000, 'answered within the deadline');
    } finally {
      await receiver.close();
    }
  });
});

describe('approval helpers', () => {
  it('token lookup matches exactly and only', () => {
    const tokens = { 'tok-a': 'alice', 'tok-b': 'bob' };
    assert.equal(identityForToken(tokens, 'tok-a'), 'alice');
    assert.equal(identityForToken(tokens, 'tok-b'), 'bob');
    assert.equal(identityForToken(tokens, 'tok-'), undefined);
    assert.equal(identityForToken(tokens, 'tok-ab'), undefined);
    assert.equal(identityForToken(tokens, undefined), undefined);
    assert.equal(identityForToken({}, 'tok-a'), undefined);
  });

  it('update ids are deterministic and differ with every part', () => {
    const base = { incidentId: 'i', stepId: 's', visit: 'v', identity: 'alice', decision: 'approve' };
    assert.equal(decisionUpdateId(base), decisionUpdateId({ ...base }));
    const ids = new Set([
      decisionUpdateId(base),
      decisionUpdateId({ ...base, incidentId: 'j' }),
      decisionUpdateId({ ...base, stepId: 't' }),
      decisionUpdateId({ ...base, visit: 'w' }),
      decisionUpdateId({ ...base, identity: 'bob' }),
      decisionUpdateId({ ...base, decision: 'reject' }),
      decisionUpdateId({ ...base, requestId: 'r' }),
    ]);
    assert.equal(ids.size, 7);
    assert.deepEqual(groupsOf(h.config, 'carol'), ['sre']);
    assert.deepEqual(groupsOf(h.config, 'alice'), []);
  });
});
