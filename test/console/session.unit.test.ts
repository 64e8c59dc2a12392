// Console sessions, CSRF tokens, roles, the dev outbox and the pasted-labels parser, without a browser.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../src/activities';
import { readOutbox } from '../../src/activities/outbox';
import type { NotifyParams, StepInput } from '../../src/activities/types';
import { loadConfig } from '../../src/config';
import { html } from '../../src/console/html';
import { parseLabels } from '../../src/console/runbook-routes';
import { SessionKeeper, consumeOneTimeLogin, createOneTimeLogin, roleOf } from '../../src/console/session';

function request(cookie: string): IncomingMessage {
  return { headers: { cookie } } as unknown as IncomingMessage;
}

function cookieValue(setCookie: string): string {
  return (setCookie.split(';')[0] ?? '').trim();
}

describe('console sessions', () => {
  const keeper = new SessionKeeper('a secret', 60_000, true);

  it('issues an HttpOnly, SameSite=Strict, Secure cookie and reads it back', () => {
    const { session, cookie } = keeper.issue('alice');
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.match(cookie, /Secure/);
    assert.match(cookie, /Max-Age=60/);
    const read = keeper.read(request(cookieValue(cookie)));
    assert.equal(read?.identity, 'alice');
    assert.equal(read?.id, session.id);
    assert.doesNotMatch(new SessionKeeper(undefined, 1000, false).issue('x').cookie, /Secure/);
  });

  it('refuses a tampered, foreign, expired or logged-out session', () => {
    const { session, cookie } = keeper.issue('alice');
    const value = cookieValue(cookie);
    const [body, mac] = value.slice('rebound_session='.length).split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ i: session.id, u: 'mallory', e: session.expires })).toString(
      'base64url',
    );
    assert.equal(keeper.read(request(`rebound_session=${forged}.${mac}`)), undefined, 'another identity');
    assert.equal(keeper.read(request(`rebound_session=${body}.x${mac}`)), undefined, 'a changed signature');
    assert.equal(new SessionKeeper('other', 60_000, false).read(request(value)), undefined, 'another secret');
    assert.equal(keeper.read(request(value), session.expires + 1), undefined, 'expired');
    keeper.revoke(session);
    assert.equal(keeper.read(request(value)), undefined, 'logged out');
  });

  it('binds the CSRF token to the session', () => {
    const a = keeper.issue('alice').session;
    const b = keeper.issue('alice').session;
    assert.ok(keeper.checkCsrf(a, keeper.csrfToken(a)));
    assert.equal(keeper.checkCsrf(a, keeper.csrfToken(b)), false);
    assert.equal(keeper.checkCsrf(a, ''), false);
    assert.equal(keeper.checkCsrf(a, null), false);
  });

  it('consumes a one-time login once', () => {
    const token = createOneTimeLogin('opal');
    assert.equal(consumeOneTimeLogin(token), 'opal');
    assert.equal(consumeOneTimeLogin(token), undefined);
    assert.equal(consumeOneTimeLogin('made-up'), undefined);
  });

  it('gives the operator role by identity or group, viewer otherwise, and refuses unknown roles', () => {
    const config = loadConfig({
      env: { REBOUND_CONSOLE_ROLES: 'alice=operator,sre=operator,vera=viewer', REBOUND_GROUPS: 'sre=bob' },
    });
    assert.equal(roleOf(config, 'alice'), 'operator');
    assert.equal(roleOf(config, 'bob'), 'operator');
    assert.equal(roleOf(config, 'vera'), 'viewer');
    assert.equal(roleOf(config, 'nobody'), 'viewer');
    assert.throws(
      () => loadConfig({ env: { REBOUND_CONSOLE_ROLES: 'alice=admin' } }),
      /names no role; use viewer or operator/,
    );
  });
});

describe('console markup', () => {
  it('escapes every interpolated value', () => {
    const label = `<script>alert(1)</script>" onmouseover="x`;
    assert.equal(
      String(html`<p title="${label}">${label}${[label]}</p>`),
      '<p title="&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x">&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x</p>',
    );
  });

  it('reads pasted labels as name=value lines or JSON, keeping odd names plain', () => {
    assert.deepEqual(
      { ...parseLabels('alertname=Down\ninstance = web-1\n') },
      { alertname: 'Down', instance: 'web-1' },
    );
    assert.deepEqual(
      { ...parseLabels('{"labels": {"__proto__": "x", "a": 1}}') },
      { ['__proto__']: 'x', a: '1' },
    );
    assert.throws(() => parseLabels('just words'), /not name=value/);
  });
});

describe('notifications without a channel', () => {
  const input = (channel: 'slack' | 'email'): StepInput<NotifyParams> =>
    ({
      params: { channel, to: channel === 'slack' ? '#ops' : ['a@example.com'], text: 'hello <b>' },
      ctx: { incidentId: 'incident/x/y', runbook: 'x', stepId: 'tell', dryRun: false },
    }) as StepInput<NotifyParams>;

  it('fail loudly on a worker', async () => {
    const activities = createActivities(loadConfig({ env: {} }));
    for (const channel of ['slack', 'email'] as const)
      await assert.rejects(activities.notify(input(channel)), (error: unknown) => {
        assert.ok(error instanceof ApplicationFailure);
        assert.equal(error.type, 'NotConfigured');
        return true;
      });
  });

  it('go to the outbox under rebound dev, marked as not sent, with a link to the incident', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'rebound-outbox-')), 'outbox.jsonl');
    const config = loadConfig({ env: { REBOUND_PUBLIC_URL: 'http://127.0.0.1:9097/' } });
    const activities = createActivities(config, undefined, { outboxFile: file });
    const slack = await activities.notify(input('slack'));
    const email = await activities.notify(input('email'));
    assert.equal(slack.outbox, true);
    assert.equal(email.outbox, true);
    assert.ok(existsSync(file));
    const [latest, first] = readOutbox(file);
    assert.equal(first?.channel, 'slack');
    assert.equal(latest?.channel, 'email');
    assert.equal(first?.text, 'hello <b>');
    assert.equal(first?.link, 'http://127.0.0.1:9097/incidents/incident%2Fx%2Fy');
  });
});
