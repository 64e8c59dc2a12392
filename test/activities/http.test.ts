// Probes, PromQL/impact and the generic HTTP call against real local HTTP and TCP servers; the
// Prometheus side is a small server speaking /api/v1/query as Prometheus does.
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { httpCall } from '../../src/activities/http-call';
import { httpProbe, tcpProbe } from '../../src/activities/probes';
import { createPrometheusActivities } from '../../src/activities/prometheus';
import type { StepContext } from '../../src/activities/types';
import { loadConfig } from '../../src/config';
import { freePort } from '../support/docker-engine';
import { expectFailure } from '../support/failures';

let base = '';
const calls: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

const SERIES = {
  'up{job=~"api|web"} == 0': [
    { metric: { __name__: 'up', job: 'api', instance: 'a:1' }, value: [1700000000, '0'] },
    { metric: { __name__: 'up', job: 'api', instance: 'a:2' }, value: [1700000000, '0'] },
    { metric: { __name__: 'up', job: 'web', instance: 'w:1' }, value: [1700000000, '0'] },
  ],
  'up{job=~"api|web"}': Array.from({ length: 12 }, (_, i) => ({
    metric: { job: 'x', instance: `i${i}` },
    value: [1700000000, '1'],
  })),
  'up{job="none"} == 0': [],
} as Record<string, unknown[]>;

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    calls.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    switch (url.pathname) {
      case '/health':
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('status: ok\n');
      case '/broken':
        res.writeHead(503);
        return res.end('down');
      case '/slow':
        setTimeout(() => res.end('late'), 2000);
        return;
      case '/echo':
        return json(201, {
          got: body ? (JSON.parse(body) as unknown) : null,
          auth: req.headers.authorization ?? null,
        });
      case '/conflict':
        return json(409, { error: 'conflict' });
      case '/prom/api/v1/query': {
        const query = new URLSearchParams(body).get('query') ?? url.searchParams.get('query') ?? '';
        if (query === 'scalar(1)')
          return json(200, { status: 'success', data: { resultType: 'scalar', result: [1700000000, '1'] } });
        const result = SERIES[query];
        if (!result)
          return json(400, { status: 'error', errorType: 'bad_data', error: `parse error in ${query}` });
        return json(200, { status: 'success', data: { resultType: 'vector', result } });
      }
      default:
        res.writeHead(404);
        res.end();
    }
  });
});

function ctx(dryRun = false): StepContext {
  return { incidentId: 'i', runbook: 'r', stepId: 's', stepStartedAt: new Date().toISOString(), dryRun };
}

void before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
void after(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

void describe('HTTP probe', () => {
  void it('answers ok for a healthy endpoint and checks the body', async () => {
    const ok = await httpProbe({ url: `${base}/health`, bodyMatch: 'status: ok' });
    assert.equal(ok.ok, true);
    assert.equal(ok.status, 200);
    assert.equal(ok.bodyMatched, true);
    const mismatch = await httpProbe({ url: `${base}/health`, bodyMatch: '^degraded' });
    assert.equal(mismatch.ok, false);
    assert.equal(mismatch.bodyMatched, false);
  });

  void it('returns ok:false for bad status, timeouts and refused connections instead of throwing', async () => {
    const bad = await httpProbe({ url: `${base}/broken` });
    assert.deepEqual([bad.ok, bad.status], [false, 503]);
    const expected = await httpProbe({ url: `${base}/broken`, expectStatus: [503] });
    assert.equal(expected.ok, true);
    const slow = await httpProbe({ url: `${base}/slow`, timeoutMs: 200 });
    assert.equal(slow.ok, false);
    assert.match(slow.error ?? '', /timed out after 200ms/);
    assert.ok(slow.durationMs < 1500);
    const refused = await httpProbe({ url: `http://127.0.0.1:${await freePort()}/` });
    assert.equal(refused.ok, false);
    assert.match(refused.error ?? '', /ECONNREFUSED/);
  });

  void it('throws BadParameters only for bad parameters', async () => {
    await expectFailure(httpProbe({ url: 'not a url' }), 'BadParameters', true);
    await expectFailure(httpProbe({ url: `${base}/`, bodyMatch: '(' }), 'BadParameters', true);
    await expectFailure(httpProbe({ url: `${base}/`, expectStatus: 999 }), 'BadParameters', true);
  });
});

void describe('TCP probe', () => {
  void it('connects to a listening port and reports a closed one', async () => {
    const listener = net.createServer((s) => s.end());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const ok = await tcpProbe({
        host: '127.0.0.1',
        port: (listener.address() as AddressInfo).port,
        timeoutMs: 1000,
      });
      assert.equal(ok.ok, true);
    } finally {
      listener.close();
    }
    const closed = await tcpProbe({ host: '127.0.0.1', port: await freePort(), timeoutMs: 1000 });
    assert.equal(closed.ok, false);
    assert.match(closed.error ?? '', /ECONNREFUSED/);
    await expectFailure(tcpProbe({ host: '127.0.0.1', port: 70000 }), 'BadParameters', true);
  });

  void it('reports cancellation instead of an answer once the activity is cancelled', async () => {
    // (This sandbox answers connects to any address, so a connect timeout cannot be staged here.)
    const listener = net.createServer((sock) => sock.end());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const env = new MockActivityEnvironment();
      env.cancel();
      await assert.rejects(
        env.run(tcpProbe, { host: '127.0.0.1', port: (listener.address() as AddressInfo).port }),
      );
    } finally {
      listener.close();
    }
  });
});

void describe('Prometheus', () => {
  const prom = createPrometheusActivities({ url: `${'http://127.0.0.1:1'}/unused` });

  void it('runs an instant query', async () => {
    const result = await prom.prometheusQuery({
      params: { url: `${base}/prom`, query: 'up{job=~"api|web"} == 0' },
    });
    assert.equal(result.resultType, 'vector');
    assert.equal(result.samples.length, 3);
    assert.equal(result.samples[0]?.labels.job, 'api');
    assert.equal(result.value, 0);
    const scalar = await prom.prometheusQuery({ params: { url: `${base}/prom/`, query: 'scalar(1)' } });
    assert.equal(scalar.value, 1);
    await expectFailure(
      prom.prometheusQuery({ params: { url: `${base}/prom`, query: 'up{' } }),
      'BadParameters',
      true,
    );
    await expectFailure(
      createPrometheusActivities({}).prometheusQuery({ params: { query: 'up' } }),
      'NotConfigured',
      true,
    );
    await expectFailure(
      prom.prometheusQuery({ params: { url: `http://127.0.0.1:${await freePort()}`, query: 'up' } }),
      'PrometheusError',
      false,
    );
  });

  void it('assesses impact: affected series, share, services and a summary', async () => {
    const impact = await prom.impactAssess({
      params: { url: `${base}/prom`, query: 'up{job=~"api|web"} == 0', totalQuery: 'up{job=~"api|web"}' },
    });
    assert.equal(impact.affectedTargets, 3);
    assert.equal(impact.totalTargets, 12);
    assert.equal(impact.share, 0.25);
    assert.deepEqual(impact.services, ['api', 'web']);
    assert.equal(impact.summary, '3 of 12 targets affected (25%) across 2 services: api, web');
    const none = await prom.impactAssess({ params: { url: `${base}/prom`, query: 'up{job="none"} == 0' } });
    assert.equal(none.affectedTargets, 0);
    assert.equal(none.summary, 'No affected targets found');
  });
});

void describe('generic HTTP call', () => {
  void it('sends JSON with headers and returns the parsed answer', async () => {
    const result = await httpCall({
      params: {
        url: `${base}/echo`,
        method: 'POST',
        headers: { authorization: 'Bearer t' },
        body: { drain: 'api-1' },
        expectStatus: 201,
      },
      ctx: ctx(),
    });
    assert.ok(!('dryRun' in result));
    assert.equal(result.status, 201);
    assert.deepEqual(result.body, { got: { drain: 'api-1' }, auth: 'Bearer t' });
    assert.equal(calls.at(-1)?.headers['content-type'], 'application/json');
  });

  void it('fails on an unexpected status: 4xx permanent, 5xx retryable', async () => {
    await expectFailure(
      httpCall({ params: { url: `${base}/conflict`, method: 'POST' }, ctx: ctx() }),
      'UnexpectedStatus',
      true,
    );
    await expectFailure(
      httpCall({ params: { url: `${base}/broken` }, ctx: ctx() }),
      'UnexpectedStatus',
      false,
    );
    await expectFailure(
      httpCall({ params: { url: `${base}/slow`, timeoutMs: 100 }, ctx: ctx() }),
      'HttpCallFailed',
      false,
    );
  });

  void it('in a dry run sends nothing and says what it would send, without credentials', async () => {
    const before = calls.length;
    const report = await httpCall({
      params: {
        url: `${base}/echo?x=1`,
        method: 'POST',
        headers: { authorization: 'Bearer secret' },
        body: { a: 1 },
      },
      ctx: ctx(true),
    });
    assert.equal(calls.length, before);
    assert.ok('dryRun' in report);
    assert.equal(report.wouldDo, `send HTTP POST ${base}/echo (with authorization) with a 7-byte body`);
    assert.ok(!JSON.stringify(report).includes('secret'));
  });
});

void describe('createActivities', () => {
  void it('wires every activity and fails unconfigured integrations only when used', async () => {
    const config = loadConfig({ env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    const activities = createActivities(config);
    const probe = await activities.probeHttp({ params: { url: `${base}/health` }, ctx: ctx() });
    assert.equal(probe.ok, true);
    const slack = expectFailure(
      activities.notify({ params: { channel: 'slack', to: 'C1', text: 'x' }, ctx: ctx() }),
      'NotConfigured',
      true,
    );
    assert.match((await slack).message, /SLACK_BOT_TOKEN/);
    const mail = await expectFailure(
      activities.notify({ params: { channel: 'email', to: 'a@b.c', text: 'x' }, ctx: ctx() }),
      'NotConfigured',
      true,
    );
    assert.match(mail.message, /REBOUND_SMTP_URL/);
    await expectFailure(
      activities.prometheusQuery({ params: { query: 'up' }, ctx: ctx() }),
      'NotConfigured',
      true,
    );
  });
});
