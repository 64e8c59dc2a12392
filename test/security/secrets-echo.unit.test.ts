// Issue 13 item 10: secrets must never be echoed back, neither in a 401 body nor in a configuration
// error, and base64 API tokens (with `=` padding) must survive REBOUND_API_TOKENS parsing.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config';
import { webhookAuthenticator } from '../../src/receiver/auth';
import { HttpError } from '../../src/receiver/http';

function problemsOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected the configuration to be refused');
}

function refusal(check: (req: IncomingMessage) => void, authorization: string): HttpError {
  try {
    check({ headers: { authorization } } as IncomingMessage);
  } catch (error) {
    assert.ok(error instanceof HttpError);
    return error;
  }
  assert.fail('expected a 401');
}

describe('secrets are not echoed back', () => {
  it('does not quote an Authorization header without a scheme in the 401', () => {
    const check = webhookAuthenticator({
      host: '127.0.0.1',
      port: 0,
      auth: 'required',
      token: 'the-real-token',
      maxAlerts: 10,
      apiTokens: {},
    });
    const secret = 'sk_live_0123456789abcdef';
    const error = refusal(check, secret);
    assert.equal(error.status, 401);
    assert.ok(!error.message.includes(secret), error.message);
    assert.ok(!error.message.toLowerCase().includes(secret.toLowerCase()), error.message);
    // An unknown scheme followed by credentials: neither is quoted unless the scheme is a known one.
    const odd = refusal(check, `${secret} more`);
    assert.ok(!odd.message.toLowerCase().includes(secret.toLowerCase()), odd.message);
    assert.match(refusal(check, 'Digest abc').message, /digest authorization scheme is not accepted/);
  });

  it('masks the credentials of a URL in configuration errors', () => {
    for (const url of ['smtp://mailer:p#ss/w0rd@mail.example:587', 'smtp://mailer:hunter2 x@mail example']) {
      const message = problemsOf(() => loadConfig({ env: { REBOUND_SMTP_URL: url } }));
      assert.match(message, /smtp\.url/);
      for (const secret of ['p#ss', 'w0rd', 'hunter2', 'mailer'])
        assert.ok(!message.includes(secret), `${secret} in: ${message}`);
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-config-'));
    const file = path.join(dir, 'rebound.yaml');
    // A YAML syntax error quotes the offending line: the password must not come with it.
    writeFileSync(file, 'smtp:\n  url: "smtp://mailer:hunter2@mail.example\n');
    const message = problemsOf(() => loadConfig({ file, env: {} }));
    assert.match(message, /config file/);
    assert.ok(!message.includes('hunter2'), message);
  });

  it('splits token=identity at the last =, so base64 padding stays in the token', () => {
    const config = loadConfig({ env: { REBOUND_API_TOKENS: 'abc===alice,ZGVm=bob,xyz==carol' } });
    assert.deepEqual(config.receiver.apiTokens, { 'abc==': 'alice', ZGVm: 'bob', 'xyz=': 'carol' });
  });
});
