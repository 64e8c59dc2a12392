// Issue 13: secrets named in runbooks and resolved in the activity; credential headers refused by lint
// and masked when shown; the egress allow-list; label values quoted into PromQL; http.call's
// Idempotency-Key. Against real local HTTP servers, without Temporal (the activities are called
// directly); test/security/secrets-history.test.ts runs the same through a real incident.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../src/activities';
import { createEgressPolicy } from '../../src/activities/egress';
import { createHttpCall, idempotencyKey } from '../../src/activities/http-call';
import { createSecretStore } from '../../src/activities/secrets';
import type { HttpCallResult, StepContext } from '../../src/activities/types';
import { loadConfig } from '../../src/config';
import { renderTemplates } from '../../src/runbook-lang/expressions';
import { maskSecretHeaders } from '../../src/runbook-lang/secret-refs';
import { validateRunbookText } from '../../src/runbooks/validate';
import { loadRunbooks } from '../../src/runbooks/catalog';
import { runRebound } from '../support/processes';

const SECRET = 'pd-token-7f3a9c1e5b';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function ctx(overrides: Partial<StepContext> = {}): StepContext {
  return {
    incidentId: 'incident/secret-demo/x',
    runbook: 'secret-demo',
    stepId: 'page',
    stepStartedAt: '2026-11-30T10:00:00.000Z',
    dryRun: false,
    visit: 1,
    firstRunId: 'run-1',
    ...overrides,
  };
}

function expectFailure(type: string, message: RegExp, nonRetryable = true): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof ApplicationFailure, String(error));
    assert.equal(error.type, type, error.message);
    assert.equal(error.nonRetryable, nonRetryable, error.message);
    assert.match(error.message, message);
    return true;
  };
}

function lint(withBlock: string, type = 'http.call'): string[] {
  const text = `name: lint-case
description: d
matchers: ['alertname = "X"']
steps:
  - id: s
    phase: remediate
    type: ${type}
    with:
${withBlock}
`;
  return validateRunbookText('case.yaml', text).problems.map((p) => `${p.line}:${p.column} ${p.message}`);
}

describe('secrets, egress and PromQL', () => {
  let server: http.Server;
  let base: string;
  const seen: Seen[] = [];
  let failFirst = 0;

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        if (req.url?.startsWith('/flaky') && failFirst > 0) {
          failFirst -= 1;
          res.writeHead(503).end('busy');
          return;
        }
        if (req.url?.startsWith('/api/v1/query')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
          return;
        }
        // Echoes what it got, as some APIs (and httpbin) do: the secret must not come back into the history.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ got: req.headers.authorization ?? null, key: req.headers['idempotency-key'] }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => server.close());

  it('lint refuses a literal credential header and names the secret form to use', () => {
    for (const header of ['Authorization', 'proxy-authorization', 'Cookie', 'X-Api-Key']) {
      const problems = lint(`      url: http://127.0.0.1/x\n      headers: { ${header}: 'Bearer abc' }`);
      assert.ok(
        problems.some((p) =>
          new RegExp(
            `header ${header} must not hold a value in the runbook.*\\{ secret: MY_TOKEN, prefix: "Bearer " \\}`,
          ).test(p),
        ),
        problems.join('\n'),
      );
    }
    // A templated value would put the value into the history just the same.
    assert.ok(
      lint(`      url: http://x/\n      headers: { Authorization: '{{ annotations.token }}' }`).length > 0,
    );
    assert.deepEqual(
      lint(
        `      url: http://x/\n      headers: { Authorization: { secret: PAGER_TOKEN, prefix: 'Bearer ' }, X-Trace: abc }`,
      ),
      [],
    );
    assert.match(
      lint(`      url: http://x/\n      headers: { Authorization: { secret: 'no-such name' } }`).join('\n'),
      /a secret name is letters, digits and _/,
    );
    assert.match(
      lint(`      url: http://x/\n      headers: { Authorization: { secret: A, value: b } }`).join('\n'),
      /unexpected form|nothing else|unknown key/,
    );
    assert.match(lint(`      url: 'https://user:pw@api.example/x'`).join('\n'), /carries a user or password/);
  });

  it('lint refuses label values put into PromQL unquoted, and promql() quotes them', () => {
    const problems = lint(`      query: 'up{job="{{ labels.job }}"}'`, 'prometheus.query');
    assert.match(
      problems.join('\n'),
      /puts \{\{ labels\.job \}\} into PromQL unquoted.*promql\(labels\.job\)/,
    );
    assert.deepEqual(lint(`      query: 'up{job={{ promql(labels.job) }}}'`, 'prometheus.query'), []);
    assert.match(
      lint(`      query: 'ALERTS{alertname="{{ vars.x }}"}'`, 'impact.assess').join('\n'),
      /unquoted/,
    );
    const hostile = 'x"} or vector(1) or up{job="';
    const rendered = renderTemplates('up{job={{ promql(labels.job) }}}', {
      labels: { job: hostile },
      annotations: {},
      alert: {},
      vars: {},
      steps: {},
      incident: {},
    } as never);
    assert.equal(rendered, 'up{job="x\\"} or vector(1) or up{job=\\""}');
    // The shipped runbooks lint clean with their PromQL quoted.
    loadRunbooks(path.resolve(__dirname, '../../runbooks'));
  });

  it('sends the hostile label to Prometheus as one quoted value', async () => {
    const config = loadConfig({ env: { REBOUND_PROMETHEUS_URL: base } });
    const activities = createActivities(config);
    const hostile = 'x"} or vector(1) or up{job="';
    const query = renderTemplates('up{job={{ promql(labels.job) }}}', {
      labels: { job: hostile },
      annotations: {},
      alert: {},
      vars: {},
      steps: {},
      incident: {},
    } as never) as string;
    await activities.prometheusQuery({ params: { query }, ctx: ctx() });
    const got = new URLSearchParams(seen[seen.length - 1]?.body ?? '').get('query');
    assert.equal(got, 'up{job="x\\"} or vector(1) or up{job=\\""}');
  });

  it('resolves a named secret in the activity and keeps it out of what the activity returns', async () => {
    const call = createHttpCall({
      egress: createEgressPolicy('127.0.0.1'),
      secrets: createSecretStore({ env: { REBOUND_SECRET_PAGER_TOKEN: SECRET } }),
    });
    const result = (await call({
      params: {
        url: `${base}/echo`,
        method: 'POST',
        headers: { Authorization: { secret: 'PAGER_TOKEN', prefix: 'Bearer ' } },
        body: { hello: 1 },
      },
      ctx: ctx(),
    })) as HttpCallResult;
    assert.equal(
      seen[seen.length - 1]?.headers.authorization,
      `Bearer ${SECRET}`,
      'the server got the secret',
    );
    assert.ok(!JSON.stringify(result).includes(SECRET), JSON.stringify(result));
    assert.deepEqual(result.body, { got: 'Bearer ***', key: idempotencyKey(ctx()) });
  });

  it('fails a missing secret with a non-retryable error naming it, and reads a private secrets file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-secrets-'));
    const file = path.join(dir, 'secrets.yaml');
    writeFileSync(file, `PAGER_TOKEN: ${SECRET}\n`, { mode: 0o600 });
    const params = { url: `${base}/echo`, headers: { Authorization: { secret: 'PAGER_TOKEN' } } };
    const missing = createHttpCall({
      egress: createEgressPolicy('127.0.0.1'),
      secrets: createSecretStore({ env: {} }),
    });
    await assert.rejects(
      missing({ params, ctx: ctx() }),
      expectFailure(
        'SecretMissing',
        /secret PAGER_TOKEN is not set on this worker: set REBOUND_SECRET_PAGER_TOKEN/,
      ),
    );
    const fromFile = createHttpCall({
      egress: createEgressPolicy('127.0.0.1'),
      secrets: createSecretStore({ file, env: {} }),
    });
    await fromFile({ params, ctx: ctx() });
    assert.equal(seen[seen.length - 1]?.headers.authorization, SECRET);
    // Readable by everyone: refused, and the message says how to fix it, without the value.
    chmodSync(file, 0o644);
    await assert.rejects(fromFile({ params, ctx: ctx() }), (error: unknown) => {
      expectFailure(
        'SecretsFileUnsafe',
        /is open to every user on this machine \(mode 0644\).*chmod 600/,
      )(error);
      assert.ok(!(error as Error).message.includes(SECRET));
      return true;
    });
    // `NAME=value` lines work too.
    writeFileSync(file, `# comment\nPAGER_TOKEN=${SECRET}=\n`);
    chmodSync(file, 0o600);
    await fromFile({ params, ctx: ctx() });
    assert.equal(seen[seen.length - 1]?.headers.authorization, `${SECRET}=`);
  });

  it('reports at worker start a secret the runbooks name but the worker lacks, and refuses an open secrets file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-worker-secrets-'));
    const runbooks = path.join(dir, 'runbooks');
    mkdirSync(runbooks);
    writeFileSync(
      path.join(runbooks, 'page.yaml'),
      `name: page\ndescription: d\nmatchers: ['alertname = "X"']\nsteps:\n  - id: call\n    phase: remediate\n    type: http.call\n    with: { url: 'http://127.0.0.1:1/', headers: { Authorization: { secret: PAGER_TOKEN } } }\n`,
    );
    const env = { REBOUND_RUNBOOKS: runbooks, TEMPORAL_ADDRESS: '127.0.0.1:1', REBOUND_CONFIG: '' };
    const missing = await runRebound(['worker'], env, 120_000);
    assert.match(
      missing.stdout + missing.stderr,
      /runbook page step call sends header Authorization from secret PAGER_TOKEN, which this worker does not have: set REBOUND_SECRET_PAGER_TOKEN/,
    );
    const file = path.join(dir, 'secrets.env');
    writeFileSync(file, `PAGER_TOKEN=${SECRET}\n`, { mode: 0o644 });
    chmodSync(file, 0o644);
    const open = await runRebound(['worker'], { ...env, REBOUND_SECRETS_FILE: file }, 120_000);
    assert.equal(open.code, 1);
    assert.match(
      open.stderr,
      /secrets\.file \(REBOUND_SECRETS_FILE\): .* is open to every user on this machine \(mode 0644\); make it readable by its owner only: chmod 600/,
    );
    assert.ok(!(open.stdout + open.stderr).includes(SECRET));
  });

  it('sends the same Idempotency-Key on every attempt of one visit, and a new one on the next visit', async () => {
    const call = createHttpCall({
      egress: createEgressPolicy('127.0.0.1'),
      secrets: createSecretStore({ env: {} }),
    });
    failFirst = 1;
    const first = seen.length;
    await assert.rejects(
      call({ params: { url: `${base}/flaky`, method: 'POST', body: 'x' }, ctx: ctx() }),
      expectFailure('UnexpectedStatus', /answered 503/, false),
    );
    await call({ params: { url: `${base}/flaky`, method: 'POST', body: 'x' }, ctx: ctx() });
    const keys = seen.slice(first).map((s) => s.headers['idempotency-key']);
    assert.equal(keys.length, 2);
    assert.ok(keys[0] && keys[0] === keys[1], JSON.stringify(keys));
    assert.notEqual(idempotencyKey(ctx({ visit: 2 })), keys[0]);
    assert.notEqual(idempotencyKey(ctx({ incidentId: 'incident/other' })), keys[0]);
    // A runbook that sets its own key keeps it.
    await call({ params: { url: `${base}/x`, headers: { 'Idempotency-Key': 'mine' } }, ctx: ctx() });
    assert.equal(seen[seen.length - 1]?.headers['idempotency-key'], 'mine');
  });

  it('masks credential headers written into older histories wherever they are shown', () => {
    const params = {
      url: 'http://x/',
      headers: { Authorization: 'Bearer old', 'X-Trace': 'abc', cookie: 'a=b', 'X-Api-Key': { secret: 'K' } },
      nested: [{ headers: { 'Proxy-Authorization': 'Basic zzz' } }],
    };
    assert.deepEqual(maskSecretHeaders(params), {
      url: 'http://x/',
      headers: { Authorization: '***', 'X-Trace': 'abc', cookie: '***', 'X-Api-Key': { secret: 'K' } },
      nested: [{ headers: { 'Proxy-Authorization': '***' } }],
    });
  });

  it('refuses targets outside egress.allow inside every activity that reaches out, after templating', async () => {
    const activities = createActivities(loadConfig({ env: {} }));
    const denied = (what: string) =>
      expectFailure(
        'EgressDenied',
        new RegExp(
          `${what}: .* is not an allowed target; allow it in egress\\.allow \\(REBOUND_EGRESS_ALLOW\\)`,
        ),
      );
    await assert.rejects(
      activities.probeHttp({ params: { url: 'http://169.254.169.254/latest/meta-data' }, ctx: ctx() }),
      denied('probe.http'),
    );
    await assert.rejects(
      activities.probeTcp({ params: { host: '10.1.2.3', port: 22 }, ctx: ctx() }),
      denied('probe.tcp'),
    );
    await assert.rejects(
      activities.httpCall({ params: { url: 'https://evil.example/steal' }, ctx: ctx() }),
      denied('http.call'),
    );
    await assert.rejects(
      activities.prometheusQuery({ params: { url: 'http://evil.example:9090', query: 'up' }, ctx: ctx() }),
      denied('prometheus.query'),
    );
    await assert.rejects(
      activities.containerWaitHealthy({
        params: { container: 'web-1', url: 'http://evil.example/' },
        ctx: ctx(),
      }),
      denied('container.wait-healthy'),
    );
    // User info and other schemes are refused whatever the list says.
    await assert.rejects(
      activities.probeHttp({ params: { url: `http://user:pw@127.0.0.1:1/` }, ctx: ctx() }),
      expectFailure('BadParameters', /must not carry a user or password/),
    );
    await assert.rejects(
      activities.httpCall({ params: { url: 'file:///etc/passwd' }, ctx: ctx() }),
      expectFailure('BadParameters', /must be http:\/\/ or https:\/\//),
    );
    // Loopback is allowed by default.
    const ok = await activities.probeHttp({ params: { url: `${base}/echo` }, ctx: ctx() });
    assert.equal(ok.ok, true);
  });

  it('matches host names, wildcards, CIDR blocks and ports without regular expressions', () => {
    const policy = createEgressPolicy(
      'api.example.com:443, *.svc.local, 10.0.0.0/8:8080, [fd00::]/8, 192.168.1.5',
    );
    const allowed = (host: string, port: number): boolean => {
      try {
        policy.checkHost('t', host, port);
        return true;
      } catch {
        return false;
      }
    };
    assert.equal(allowed('api.example.com', 443), true);
    assert.equal(allowed('API.example.com.', 443), true);
    assert.equal(allowed('api.example.com', 80), false);
    assert.equal(allowed('evilapi.example.com', 443), false);
    assert.equal(allowed('a.b.svc.local', 1), true);
    assert.equal(allowed('svc.local', 1), false);
    assert.equal(allowed('x.svc.local.evil.com', 1), false);
    assert.equal(allowed('10.200.3.4', 8080), true);
    assert.equal(allowed('10.200.3.4', 8081), false);
    assert.equal(allowed('11.0.0.1', 8080), false);
    assert.equal(allowed('[fd12::1]', 5), true);
    assert.equal(allowed('192.168.1.5', 1), true);
    assert.equal(allowed('192.168.1.6', 1), false);
    assert.equal(allowed('127.0.0.1', 80), false);
    // The configured Prometheus is always allowed; a bad entry is a configuration error.
    assert.throws(
      () => loadConfig({ env: { REBOUND_EGRESS_ALLOW: 'a:99999,10.0.0.0/33' } }),
      /egress\.allow .*port.*\n.*not an IP address or CIDR/s,
    );
  });
});
