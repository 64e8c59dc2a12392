// Slack activities against a local server speaking the Slack Web API methods Rebound uses (the real
// @slack/web-api client talks to it over HTTP): escaping, update in place, no double post on retry, 429.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSlackActivities, type SlackIntegration } from '../../src/activities/slack';
import type { StepContext } from '../../src/activities/types';
import type { IncidentState } from '../../src/workflows/contract';
import { CHANNEL_ID, FakeSlack, TOKEN, type StoredMessage } from '../support/fake-slack';

const slackServer = new FakeSlack();
let slack: SlackIntegration;

function env(attempt = 1): MockActivityEnvironment {
  return new MockActivityEnvironment({ attempt });
}

function run<P, R>(fn: (input: P) => Promise<R>, input: P, e: MockActivityEnvironment = env()): Promise<R> {
  return e.run(fn, input);
}

const EVIL = 'DB down <!channel> & <https://evil.example|click me> <@U123>';

function state(overrides: Partial<IncidentState> = {}): IncidentState {
  return {
    incidentId: 'incident/db/primary',
    runbook: 'db-recovery',
    runbookHash: 'abc',
    targetKey: 'primary <!here>',
    dryRun: false,
    status: 'open',
    phase: 'remediate',
    currentStep: 'restart',
    alert: {
      status: 'firing',
      labels: { alertname: 'DbDown <!everyone>', severity: 'critical' },
      annotations: { summary: EVIL },
      startsAt: '2026-01-01T00:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus/graph',
      fingerprint: 'f1',
    },
    alertFiring: true,
    notifications: 1,
    steps: [{ id: 'restart', type: 'container.restart', phase: 'remediate', status: 'running', attempts: 1 }],
    decisions: [],
    timeline: [],
    openedAt: '2026-01-01T00:00:05Z',
    ...overrides,
  };
}

function ctx(stepId: string): StepContext {
  return {
    incidentId: 'incident/db/primary',
    runbook: 'db-recovery',
    stepId,
    stepStartedAt: new Date().toISOString(),
    dryRun: false,
  };
}

function allText(message: StoredMessage): string {
  return `${message.text}\n${JSON.stringify(message.blocks ?? [])}`;
}

/** Every string Slack parses as mrkdwn: the fallback text and mrkdwn text objects in the blocks. */
function mrkdwnTexts(message: StoredMessage): string {
  const out = [message.text];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(message.blocks);
  return out.join('\n');
}

function assertEscaped(message: StoredMessage): void {
  const text = mrkdwnTexts(message);
  assert.doesNotMatch(text, /<!channel>|<!here>|<!everyone>|<@U123>|<https:\/\/evil/);
  assert.match(text, /&lt;!channel&gt;/);
  assert.match(text, /&amp;/);
}

void before(async () => {
  await slackServer.start();
  slack = createSlackActivities({
    token: TOKEN,
    apiUrl: slackServer.url,
    publicUrl: 'https://rebound.example/',
  });
});
void after(() => slackServer.stop());
void beforeEach(() => slackServer.reset());

void describe('Slack incident message', () => {
  void it('creates the message once with escaped alert text, then updates it in place with thread replies', async () => {
    const created = await run(slack.slackIncidentMessage, { channel: '#incidents', state: state() });
    assert.equal(created.channel, CHANNEL_ID);
    assert.equal(slackServer.messages.length, 1);
    const message = slackServer.messages[0]!;
    assertEscaped(message);
    assert.match(allText(message), /https:\/\/rebound\.example\/incidents\/incident%2Fdb%2Fprimary/);
    assert.equal(message.metadata?.event_type, 'rebound_message');

    await run(slack.slackIncidentMessage, {
      channel: CHANNEL_ID,
      ts: created.ts,
      state: state({ status: 'resolved', phase: 'done' }),
      threadText: 'restart: ok <!channel>',
      threadKey: 'restart',
    });
    const top = slackServer.messages.filter((m) => !m.thread_ts);
    assert.equal(top.length, 1, 'updated in place, not posted again');
    assert.match(top[0]!.text, /resolved/);
    const replies = slackServer.messages.filter((m) => m.thread_ts === created.ts);
    assert.equal(replies.length, 1);
    assert.equal(replies[0]!.text, 'restart: ok &lt;!channel&gt;');
    assert.ok(slackServer.calls.includes('chat.update'));
  });

  void it('a retried attempt finds the message and thread reply the lost attempt posted', async () => {
    slackServer.dropAnswerNext = 1;
    await assert.rejects(run(slack.slackIncidentMessage, { channel: CHANNEL_ID, state: state() }), (e) => {
      assert.ok(e instanceof ApplicationFailure);
      assert.equal(e.nonRetryable, false);
      return true;
    });
    assert.equal(slackServer.messages.length, 1);
    const retried = await run(slack.slackIncidentMessage, { channel: CHANNEL_ID, state: state() }, env(2));
    assert.equal(retried.ts, slackServer.messages[0]!.ts);
    assert.equal(slackServer.messages.length, 1, 'no second incident message');

    slackServer.dropAnswerNext = 1;
    const reply = {
      channel: CHANNEL_ID,
      ts: retried.ts,
      state: state(),
      threadText: 'probe ok',
      threadKey: 'probe',
    };
    await assert.rejects(run(slack.slackIncidentMessage, reply));
    await run(slack.slackIncidentMessage, reply, env(2));
    assert.equal(
      slackServer.messages.filter((m) => m.thread_ts === retried.ts).length,
      1,
      'one thread reply',
    );
  });

  void it('shows Approve and Reject buttons for a pending approval', async () => {
    await run(slack.slackIncidentMessage, {
      channel: CHANNEL_ID,
      state: state({
        pendingApproval: {
          stepId: 'failover',
          since: '2026-01-01T00:01:00Z',
          deadline: '2026-01-01T00:31:00Z',
          approvers: ['oncall'],
          minApprovers: 1,
          approvedBy: [],
          prompt: 'Fail over <!channel>?',
        },
      }),
    });
    const blocks = JSON.stringify(slackServer.messages[0]!.blocks);
    assert.match(blocks, /rebound_approve/);
    assert.match(blocks, /rebound_reject/);
    assert.match(blocks, /Fail over &lt;!channel&gt;\?/);
  });
});

void describe('Slack notify', () => {
  void it('posts escaped text and suppresses the duplicate on a retried attempt', async () => {
    const params = { channel: 'slack' as const, to: CHANNEL_ID, text: EVIL, subject: 'Escalation' };
    slackServer.dropAnswerNext = 1;
    await assert.rejects(run(slack.notify, { params, ctx: ctx('tell') }));
    const retried = await run(slack.notify, { params, ctx: ctx('tell') }, env(2));
    assert.equal(retried.duplicateSuppressed, true);
    assert.equal(retried.id, slackServer.messages[0]!.ts);
    assert.equal(slackServer.messages.length, 1);
    assertEscaped(slackServer.messages[0]!);

    // A different step is a different message.
    const other = await run(slack.notify, { params, ctx: ctx('tell-again') }, env(2));
    assert.equal(other.duplicateSuppressed, undefined);
    assert.equal(slackServer.messages.length, 2);
  });

  void it('surfaces 429 as a retryable failure with the Retry-After delay, without posting', async () => {
    slackServer.rateLimitNext = 1;
    await assert.rejects(
      run(slack.notify, { params: { channel: 'slack', to: CHANNEL_ID, text: 'hi' }, ctx: ctx('n') }),
      (e) => {
        assert.ok(e instanceof ApplicationFailure);
        assert.equal(e.type, 'SlackRateLimited');
        assert.equal(e.nonRetryable, false);
        assert.equal(e.nextRetryDelay, 3000);
        return true;
      },
    );
    assert.equal(slackServer.messages.length, 0);
    assert.equal(slackServer.calls.length, 1, 'the client did not retry on its own');
  });

  void it('fails permanently for an unknown channel and when Slack is not configured', async () => {
    await assert.rejects(
      run(slack.notify, { params: { channel: 'slack', to: 'C0NOPE', text: 'hi' }, ctx: ctx('n') }),
      (e) => {
        assert.ok(e instanceof ApplicationFailure);
        assert.equal(e.nonRetryable, true);
        assert.match(e.message, /channel_not_found/);
        return true;
      },
    );
    const unconfigured = createSlackActivities({ apiUrl: slackServer.url });
    await assert.rejects(
      run(unconfigured.notify, { params: { channel: 'slack', to: CHANNEL_ID, text: 'hi' }, ctx: ctx('n') }),
      (e) => {
        assert.ok(e instanceof ApplicationFailure);
        assert.equal(e.type, 'NotConfigured');
        assert.match(e.message, /SLACK_BOT_TOKEN/);
        return true;
      },
    );
  });
});
