// The receiver against 10,000+ generated payloads, malformed or hostile (property-based, fast-check):
// broken JSON, random bytes, deep nesting, wrong types, and schema-valid alerts with huge, unicode,
// shell- and HTML-laden labels. It must never answer 5xx for bad input, never crash, and still answer
// /healthz afterwards. Alerts that match route to a runbook on a task queue nobody polls, so they
// reach Temporal for real without anything running.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import fc from 'fast-check';
import type { Receiver } from '../../src/receiver';
import { intakeConfig, metricValue, startIntake } from '../intake/helpers';
import { temporalAddress, testClient } from '../support/temporal';

const token = randomUUID();

function fuzzRunbooks(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-fuzz-runbooks-'));
  writeFileSync(
    path.join(dir, '10-fuzz.yaml'),
    `name: fuzz
description: Takes Fuzz alerts; nobody polls its task queue.
matchers: ['alertname = "Fuzz"']
target: '{{ labels.instance }}'
steps:
  - id: wait
    phase: detect
    type: sleep
    with: { duration: 1s }
`,
  );
  return dir;
}

// Strings a sender could put anywhere: metacharacters, templates, unicode, control characters, huge.
const hostileText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '$(rm -rf /)',
    '`id`',
    "'; DROP TABLE incidents; --",
    '<script>alert(1)</script>',
    '{{ labels.instance }}',
    '${process.exit(1)}',
    '../../etc/passwd',
    '\u0000\u0001\u001b[31m',
    '\ud800',
    '\u202e\u200b\ufeff',
    'a'.repeat(20_000),
    '🔥'.repeat(3000),
    '',
    ' ',
    '/',
    'incident/../x',
  ),
  fc.nat({ max: 30_000 }).map((n) => 'x'.repeat(n)),
);

// A value of the wrong type for a field that wants a string or an object.
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.integer(), { maxKeys: 3 }),
);

const labels = fc
  .record(
    {
      alertname: fc.oneof(fc.constant('Fuzz'), hostileText),
      instance: hostileText,
    },
    { requiredKeys: [] },
  )
  .chain((base) =>
    fc
      .dictionary(hostileText, mostly(hostileText, wrongType), { maxKeys: 4 })
      .map((extra) => ({ ...extra, ...base })),
  );

/** Mostly `good`, sometimes something else: most alerts pass the schema and reach routing. */
function mostly<T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 15, arbitrary: good }, { weight: 1, arbitrary: bad });
}

const hostileAlert = fc.record(
  {
    status: mostly(fc.constantFrom('firing', 'resolved'), fc.oneof(hostileText, wrongType)),
    labels: mostly(labels, wrongType),
    annotations: mostly(fc.dictionary(hostileText, hostileText, { maxKeys: 3 }), wrongType),
    startsAt: mostly(fc.constant('2026-11-23T10:00:00Z'), fc.oneof(hostileText, wrongType)),
    endsAt: mostly(fc.constant('0001-01-01T00:00:00Z'), fc.oneof(hostileText, wrongType)),
    generatorURL: mostly(hostileText, wrongType),
    fingerprint: mostly(hostileText, wrongType),
  },
  { requiredKeys: ['status', 'labels', 'startsAt'] },
);

const webhook = fc.record(
  {
    version: mostly(fc.constant('4'), fc.oneof(hostileText, wrongType)),
    receiver: mostly(hostileText, wrongType),
    status: fc.constantFrom('firing', 'resolved'),
    groupKey: mostly(hostileText, wrongType),
    groupLabels: fc.dictionary(hostileText, hostileText, { maxKeys: 2 }),
    commonLabels: fc.dictionary(hostileText, hostileText, { maxKeys: 2 }),
    commonAnnotations: fc.dictionary(hostileText, hostileText, { maxKeys: 2 }),
    externalURL: hostileText,
    truncatedAlerts: mostly(fc.nat(), wrongType),
    alerts: mostly(fc.array(hostileAlert, { minLength: 0, maxLength: 3 }), wrongType),
  },
  { requiredKeys: ['version', 'alerts', 'receiver'] },
);

function nested(depth: number, open: string, close: string): string {
  return open.repeat(depth) + close.repeat(depth);
}

// Bodies that are not a webhook at all.
const brokenBody = fc.oneof(
  fc.string().map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
  fc.json().map((s) => Buffer.from(s)),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
  webhook.map((w) => {
    const text = JSON.stringify(w);
    return Buffer.from(text.slice(0, Math.floor(text.length / 2)));
  }),
  fc.nat({ max: 200_000 }).map((d) => Buffer.from(nested(d, '[', ']'))),
  fc.nat({ max: 50_000 }).map((d) => Buffer.from(`{"version":"4","alerts":${nested(d, '[', ']')}}`)),
  fc
    .nat({ max: 50_000 })
    .map((d) => Buffer.from(`{"version":"4","alerts":[{"labels":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}]}`)),
  fc.constantFrom(
    Buffer.from(''),
    Buffer.from('null'),
    Buffer.from('{"__proto__":{"polluted":true},"version":"4","alerts":[]}'),
    Buffer.from(
      '{"constructor":{"prototype":{"x":1}},"version":"4","alerts":[{"status":"firing","labels":{"__proto__":"x"}}]}',
    ),
    Buffer.from('\ufeff{}'),
    Buffer.from([0xff, 0xfe, 0x00]),
  ),
);

interface Request {
  body: Buffer;
  contentType: string;
  auth: string | undefined;
  path: string;
}

const request: fc.Arbitrary<Request> = fc.record({
  body: fc.oneof(
    { weight: 3, arbitrary: webhook.map((w) => Buffer.from(JSON.stringify(w))) },
    { weight: 2, arbitrary: brokenBody },
  ),
  contentType: fc.oneof(
    { weight: 10, arbitrary: fc.constant('application/json') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('text/plain', 'application/json; charset=utf-16', '', 'APPLICATION/JSON'),
    },
  ),
  auth: fc.oneof(
    { weight: 12, arbitrary: fc.constant(`Bearer ${token}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<string | undefined>(
        'Bearer wrong',
        'Basic Og==',
        'Bearer',
        `bearer ${token}`,
        undefined,
      ),
    },
  ),
  path: fc.oneof(
    { weight: 10, arbitrary: fc.constant('/v1/alerts/alertmanager') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('/v1/alerts/grafana', '/v1/alerts/%ZZ', '/v1/alerts/alertmanager/../x'),
    },
  ),
});

describe('receiver fuzzed with malformed and hostile payloads', () => {
  let client: Client;
  let receiver: Receiver;
  let workflowsStarted = 0;

  before(async () => {
    client = await testClient();
    const config = intakeConfig({
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_TASK_QUEUE: `fuzz-unpolled-${randomUUID()}`,
      REBOUND_WEBHOOK_TOKEN: token,
      REBOUND_RUNBOOKS: fuzzRunbooks(),
    });
    receiver = await startIntake(config, client);
  });
  after(async () => {
    await receiver?.close();
    await client?.connection.close();
  });

  it('never answers 5xx to bad input and stays up (10,000 requests)', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = { 'content-type': r.contentType };
        if (r.auth) headers.authorization = r.auth;
        const response = await fetch(`${receiver.url}${r.path}`, { method: 'POST', headers, body: r.body });
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status >= 500) throw new Error(`answered ${response.status}: ${text.slice(0, 500)}`);
        if (response.status >= 400) {
          const parsed = JSON.parse(text) as { error?: unknown };
          if (typeof parsed.error !== 'string' || parsed.error === '')
            throw new Error(`a ${response.status} without a message: ${text.slice(0, 200)}`);
        }
        if (response.status === 202) workflowsStarted++;
      }),
      { numRuns: 10_000, endOnFailure: true },
    );
    const health = await fetch(`${receiver.url}/healthz`);
    assert.equal(health.status, 200, 'still answers /healthz');
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, 10_000);
    // The generators reach every kind of answer: accepted, refused as bad, unauthorized.
    const seen = JSON.stringify([...statuses]);
    assert.ok((statuses.get(202) ?? 0) > 0, `some accepted: ${seen}`);
    assert.ok((statuses.get(400) ?? 0) > 0, 'some refused as bad input');
    assert.ok((statuses.get(401) ?? 0) > 0, 'some unauthorized');
    const metrics = await (await fetch(`${receiver.url}/metrics`)).text();
    assert.ok(metricValue(metrics, 'rebound_webhook_rejected_total', { reason: 'bad_json' }) > 0);
    assert.ok(workflowsStarted > 0);
  });
});
