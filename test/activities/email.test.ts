// Email escalation against a real SMTP server running in this process (smtp-server): auth, delivery,
// deterministic Message-ID, HTML escaping, and the 4xx / 5xx distinction.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { SMTPServer } from 'smtp-server';
import { createEmailActivities, type EmailIntegration } from '../../src/activities/email';
import type { NotifyParams, NotifyResult, StepContext, StepInput } from '../../src/activities/types';
import { freePort } from '../support/docker-engine';
import { expectFailure } from '../support/failures';

const USER = 'rebound';
const PASSWORD = 's3cret';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

const received: Received[] = [];
let port = 0;
const server = new SMTPServer({
  secure: false,
  // No certificate here: without STARTTLS on offer the client stays on plain SMTP.
  disabledCommands: ['STARTTLS'],
  allowInsecureAuth: true,
  authOptional: false,
  logger: false,
  onAuth(auth, _session, callback) {
    if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: USER });
    else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
  },
  onRcptTo(address, _session, callback) {
    if (address.address.startsWith('busy@'))
      return callback(Object.assign(new Error('Mailbox busy, try again later'), { responseCode: 450 }));
    if (address.address.startsWith('nobody@'))
      return callback(Object.assign(new Error('No such user'), { responseCode: 550 }));
    callback();
  },
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      received.push({
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: session.envelope.rcptTo.map((r) => r.address),
        raw: Buffer.concat(chunks).toString('utf8'),
      });
      callback();
    });
  },
});

function mailer(password = PASSWORD, url?: string): EmailIntegration {
  return createEmailActivities({
    url: url ?? `smtp://${USER}:${password}@127.0.0.1:${port}`,
    from: 'Rebound <rebound@ops.example>',
    timeoutMs: 3000,
    publicUrl: 'https://rebound.example',
  });
}

function ctx(stepId = 'escalate-mail'): StepContext {
  return {
    incidentId: 'incident/api/api-1',
    runbook: 'api-recovery',
    stepId,
    stepStartedAt: new Date().toISOString(),
    dryRun: false,
  };
}

function send(integration: EmailIntegration, params: NotifyParams, stepId?: string): Promise<NotifyResult> {
  const input: StepInput<NotifyParams> = { params, ctx: ctx(stepId) };
  return new MockActivityEnvironment().run<
    [StepInput<NotifyParams>],
    NotifyResult,
    EmailIntegration['notify']
  >(integration.notify, input);
}

/** The decoded text/html part of a raw MIME message (quoted-printable, as nodemailer writes it). */
function htmlPart(raw: string): string {
  const start = raw.search(/Content-Type: text\/html/i);
  assert.ok(start >= 0, 'has an HTML part');
  const rest = raw.slice(start);
  const body = rest.slice(rest.indexOf('\r\n\r\n') + 4).split(/\r\n--/)[0] ?? '';
  return body
    .replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function header(raw: string, name: string): string | undefined {
  return new RegExp(`^${name}: (.*)$`, 'mi').exec(raw)?.[1]?.trim();
}

void before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.server.address() as AddressInfo).port;
});
void after(() => new Promise<void>((resolve) => server.close(() => resolve())));
void beforeEach(() => {
  received.length = 0;
});

const ALERT_TEXT = 'API down: <script>alert(1)</script> & "quotes"';

void describe('email escalation over real SMTP', () => {
  void it('delivers with auth, a link, escaped HTML and a deterministic Message-ID', async () => {
    const result = await send(mailer(), { channel: 'email', to: ['oncall@ops.example'], text: ALERT_TEXT });
    assert.equal(result.channel, 'email');
    assert.equal(received.length, 1);
    const mail = received[0]!;
    assert.deepEqual(mail.to, ['oncall@ops.example']);
    assert.equal(mail.from, 'rebound@ops.example');
    assert.equal(header(mail.raw, 'Message-ID'), result.id);
    assert.match(result.id, /^<rebound\.[0-9a-f]{32}@ops\.example>$/);
    assert.match(header(mail.raw, 'Subject') ?? '', /api-recovery/);
    const html = htmlPart(mail.raw);
    assert.ok(!html.includes('<script>'), 'alert text is escaped in HTML');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;'));
    assert.ok(html.includes('https://rebound.example/incidents/incident%2Fapi%2Fapi-1'));

    // A retried attempt of the same step sends recognisably the same mail.
    const again = await send(mailer(), { channel: 'email', to: 'oncall@ops.example', text: ALERT_TEXT });
    assert.equal(again.id, result.id);
    assert.equal(header(received[1]!.raw, 'Message-ID'), result.id);
    const other = await send(
      mailer(),
      { channel: 'email', to: 'oncall@ops.example', text: 'x' },
      'other-step',
    );
    assert.notEqual(other.id, result.id);
  });

  void it('treats a 4xx answer as retryable and a 5xx answer as a non-retryable SmtpRejected', async () => {
    const deferred = await expectFailure(
      send(mailer(), { channel: 'email', to: 'busy@ops.example', text: 'x' }),
      'SmtpDeferred',
      false,
    );
    assert.match(deferred.message, /450/);
    const rejected = await expectFailure(
      send(mailer(), { channel: 'email', to: 'nobody@ops.example', text: 'x' }),
      'SmtpRejected',
      true,
    );
    assert.match(rejected.message, /550/);
    await expectFailure(
      send(mailer('wrong'), { channel: 'email', to: 'oncall@ops.example', text: 'x' }),
      'SmtpRejected',
      true,
    );
    assert.equal(received.length, 0);
  });

  void it('retries when the server is unreachable, and names the setting when not configured', async () => {
    const closed = await freePort();
    await expectFailure(
      send(mailer(PASSWORD, `smtp://127.0.0.1:${closed}`), {
        channel: 'email',
        to: 'oncall@ops.example',
        text: 'x',
      }),
      'SmtpUnavailable',
      false,
    );
    const none = createEmailActivities({ from: 'rebound@localhost', timeoutMs: 1000 });
    const failure = await expectFailure(
      send(none, { channel: 'email', to: 'oncall@ops.example', text: 'x' }),
      'NotConfigured',
      true,
    );
    assert.match(failure.message, /REBOUND_SMTP_URL/);
    await expectFailure(
      send(mailer(), { channel: 'email', to: 'not an address\r\nBcc: x@y', text: 'x' }),
      'BadParameters',
      true,
    );
  });
});
