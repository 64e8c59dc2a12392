// The webhook endpoints against everything a sender can get wrong (each refused with a 4xx naming
// the problem), labels that are strange but valid (accepted and stored verbatim), started vs joined
// vs resolved outcomes, Grafana's payload, `rebound alert fire`, and the metrics.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { createActivities } from '../../src/activities';
import type { Receiver } from '../../src/receiver';
import { loadRunbooks } from '../../src/runbooks/catalog';
import { incidentWorkflowId, type AlertNotification, type IncidentInput } from '../../src/workflows/contract';
import {
  SA_ALERTNAME,
  SA_PHASE,
  SA_RUNBOOK,
  SA_SEVERITY,
  SA_STATUS,
  SA_TARGET,
} from '../../src/workflows/search-attributes';
import { runRebound } from '../support/processes';
import { temporalAddress, testClient, uniqueTaskQueue, withWorker } from '../support/temporal';
import {
  RUNBOOK,
  executionCount,
  intakeConfig,
  metricValue,
  runbookDir,
  signalsOf,
  startIntake,
} from './helpers';

interface Answer {
  status: number;
  headers: Headers;
  body: { error?: string; alerts?: Array<{ outcome?: string; workflowId?: string; fingerprint: string }> };
}

const token = randomUUID();
const basic = `Basic ${Buffer.from('alertmanager:s3cret pass').toString('base64')}`;
const suffix = randomUUID().slice(0, 8);

function alert(
  overrides: Record<string, unknown> = {},
  labels: Record<string, string> = {},
): Record<string, unknown> {
  return {
    status: 'firing',
    labels: { alertname: 'IntakeTest', instance: `host-${suffix}`, severity: 'warning', ...labels },
    annotations: { summary: 'something is wrong' },
    startsAt: '2024-05-01T12:00:00.123Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.test/graph?g0.expr=up',
    fingerprint: 'abc123',
    ...overrides,
  };
}

function payload(
  overrides: Record<string, unknown> = {},
  alerts: unknown[] = [alert()],
): Record<string, unknown> {
  return {
    version: '4',
    receiver: 'rebound',
    status: 'firing',
    groupKey: '{}:{alertname="IntakeTest"}',
    groupLabels: { alertname: 'IntakeTest' },
    commonLabels: { alertname: 'IntakeTest' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.test',
    truncatedAlerts: 0,
    // Unknown fields are ignored: newer Alertmanagers may add some.
    somethingNew: { nested: true },
    alerts,
    ...overrides,
  };
}

describe('alert intake requests', () => {
  const taskQueue = uniqueTaskQueue('intake-req');
  const config = intakeConfig({
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: taskQueue,
    REBOUND_WEBHOOK_TOKEN: token,
    REBOUND_WEBHOOK_USER: 'alertmanager',
    REBOUND_WEBHOOK_PASSWORD: 's3cret pass',
    REBOUND_RUNBOOKS: runbookDir(),
    REBOUND_MAX_ALERTS: '5',
  });
  let client: Client;
  let receiver: Receiver;
  const send = async (
    body: unknown,
    init: { method?: string; headers?: Record<string, string>; raw?: string; path?: string } = {},
  ): Promise<Answer> => {
    const response = await fetch(`${receiver.url}${init.path ?? '/v1/alerts/alertmanager'}`, {
      method: init.method ?? 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
      ...((init.method ?? 'POST') === 'GET' ? {} : { body: init.raw ?? JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: JSON.parse(text) as Answer['body'] };
  };

  before(async () => {
    client = await testClient();
    receiver = await startIntake(config, client);
  });
  after(async () => {
    await receiver?.close();
    await client?.connection.close();
  });

  it('refuses bad requests with a 4xx naming what is wrong, and keeps serving', async () => {
    const cases: Array<[string, () => Promise<Answer>, number, RegExp]> = [
      ['not JSON', () => send(null, { raw: '{"version": "4", ' }), 400, /not valid JSON/],
      ['empty body', () => send(null, { raw: '' }), 400, /body is empty/],
      ['a JSON array', () => send([payload()]), 400, /payload must be a JSON object, not an array/],
      ['a JSON string', () => send('hello'), 400, /must be a JSON object, not a string/],
      ['wrong version', () => send(payload({ version: '3' })), 400, /version must be "4".*not "3"/],
      ['version as number', () => send(payload({ version: 4 })), 400, /version must be "4".*not 4/],
      [
        'missing version',
        () => send(payload({ version: undefined })),
        400,
        /^version is required but missing$/,
      ],
      [
        'missing receiver',
        () => send(payload({ receiver: undefined })),
        400,
        /^receiver is required but missing$/,
      ],
      [
        'receiver not a string',
        () => send(payload({ receiver: 7 })),
        400,
        /receiver must be a string, not number 7/,
      ],
      [
        'bad group status',
        () => send(payload({ status: 'pending' })),
        400,
        /^status must be "firing" or "resolved"/,
      ],
      [
        'alerts not an array',
        () => send(payload({ alerts: {} })),
        400,
        /alerts must be an array, not an object/,
      ],
      ['no alerts', () => send(payload({}, [])), 400, /alerts is empty/],
      [
        'alert not an object',
        () => send(payload({}, [alert(), 'boom'])),
        400,
        /alerts\[1\] must be an object, not a string/,
      ],
      [
        'bad alert status',
        () => send(payload({}, [alert({ status: 'ok' })])),
        400,
        /alerts\[0\]\.status must be "firing" or "resolved", not "ok"/,
      ],
      [
        'missing labels',
        () => send(payload({}, [alert({ labels: undefined })])),
        400,
        /alerts\[0\]\.labels is required/,
      ],
      [
        'labels an array',
        () => send(payload({}, [alert({ labels: ['a'] })])),
        400,
        /alerts\[0\]\.labels must be an object of strings, not an array/,
      ],
      [
        'label value not a string',
        () =>
          send(payload({}, [alert(), alert(), alert(), alert({ labels: { alertname: 'X', instance: 3 } })])),
        400,
        /alerts\[3\]\.labels\.instance must be a string, not number 3/,
      ],
      [
        'annotation null',
        () => send(payload({}, [alert({ annotations: { summary: null } })])),
        400,
        /alerts\[0\]\.annotations\.summary must be a string, not null/,
      ],
      [
        'bad startsAt',
        () => send(payload({}, [alert({ startsAt: 'yesterday' })])),
        400,
        /alerts\[0\]\.startsAt must be an RFC 3339 time/,
      ],
      [
        'missing fingerprint',
        () => send(payload({}, [alert({ fingerprint: undefined })])),
        400,
        /alerts\[0\]\.fingerprint is required/,
      ],
      [
        'commonLabels not strings',
        () => send(payload({ commonLabels: { a: true } })),
        400,
        /^commonLabels\.a must be a string, not boolean true/,
      ],
      [
        'negative truncatedAlerts',
        () => send(payload({ truncatedAlerts: -1 })),
        400,
        /truncatedAlerts must be a whole number/,
      ],
      [
        'lone surrogate',
        () => send(null, { raw: JSON.stringify(payload()).replace('something is wrong', '\\ud800') }),
        400,
        /annotations\.summary is not valid Unicode/,
      ],
      [
        'more alerts than maxAlerts',
        () =>
          send(
            payload(
              {},
              Array.from({ length: 6 }, () => alert()),
            ),
          ),
        413,
        /6 alerts, more than the limit of 5/,
      ],
      [
        'huge body',
        () => send(null, { raw: JSON.stringify(payload({ pad: 'x'.repeat(2_000_000) })) }),
        413,
        /larger than the limit/,
      ],
      [
        'no credentials',
        () => send(payload(), { headers: { authorization: '' } }),
        401,
        /authentication required/,
      ],
      [
        'wrong bearer token',
        () => send(payload(), { headers: { authorization: `Bearer ${token}x` } }),
        401,
        /bearer token is not valid/,
      ],
      [
        'wrong basic password',
        () =>
          send(payload(), {
            headers: { authorization: `Basic ${Buffer.from('alertmanager:nope').toString('base64')}` },
          }),
        401,
        /user or password is not valid/,
      ],
      [
        'basic auth garbage',
        () => send(payload(), { headers: { authorization: 'Basic !!!' } }),
        401,
        /user or password is not valid/,
      ],
      [
        'unknown auth scheme',
        () => send(payload(), { headers: { authorization: `Digest ${token}` } }),
        401,
        /digest authorization scheme is not accepted/,
      ],
      [
        'wrong content type',
        () =>
          send(null, { raw: 'version=4', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
        415,
        /content-type must be application\/json/,
      ],
      [
        'wrong method',
        () => send(null, { method: 'GET' }),
        405,
        /GET is not allowed on \/v1\/alerts\/alertmanager; use POST/,
      ],
      ['wrong path', () => send(payload(), { path: '/v1/alerts/prometheus' }), 404, /no such endpoint/],
      [
        'Alertmanager payload to the Grafana endpoint',
        () => send(payload(), { path: '/v1/alerts/grafana' }),
        400,
        /version must be "1" \(Grafana/,
      ],
    ];
    assert.ok(cases.length >= 20);
    for (const [name, request, status, message] of cases) {
      const answer = await request();
      assert.equal(answer.status, status, `${name}: ${JSON.stringify(answer.body)}`);
      assert.match(answer.body.error ?? '', message, name);
      if (status === 401)
        assert.match(
          answer.headers.get('www-authenticate') ?? '',
          /Bearer realm="rebound", Basic realm="rebound"/,
        );
    }
    assert.equal((await fetch(`${receiver.url}/healthz`)).status, 200);
    const metrics = await (await fetch(`${receiver.url}/metrics`)).text();
    assert.equal(metricValue(metrics, 'rebound_webhook_rejected_total', { reason: 'unauthorized' }), 5);
    assert.equal(metricValue(metrics, 'rebound_webhook_rejected_total', { reason: 'too_large' }), 1);
    assert.equal(metricValue(metrics, 'rebound_alerts_received_total'), 0, 'nothing was handed to Temporal');
    assert.equal(await executionCount(client, incidentWorkflowId(RUNBOOK, `host-${suffix}`)), 0);
  });

  it('accepts shell and HTML metacharacters and any Unicode, and stores them verbatim', async () => {
    const weird = `$(rm -rf /); \`id\` <script>alert("x")</script> & | > ' " \\ %s {{ labels.x }} 日本語 🚨 Ünïcødé \u0000 end-${suffix}`;
    const labels = {
      alertname: 'IntakeTest',
      severity: 'warning',
      instance: weird,
      ラベル: '<b>bold</b>',
      'odd name!': '$HOME',
    };
    const annotations = { description: '<img src=x onerror=alert(1)>; DROP TABLE incidents; --' };
    const answer = await send(payload({}, [alert({ labels, annotations })]), {
      headers: { authorization: basic },
    });
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    const id = incidentWorkflowId(RUNBOOK, weird);
    assert.deepEqual(
      answer.body.alerts?.map((a) => [a.outcome, a.workflowId]),
      [['started', id]],
    );
    const handle = client.workflow.getHandle(id);
    const [notification] = (await signalsOf(handle)) as AlertNotification[];
    assert.deepEqual(notification?.alert.labels, labels);
    assert.deepEqual(notification?.alert.annotations, annotations);
    const history = await handle.fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const input = JSON.parse(
      Buffer.from(started?.input?.payloads?.[0]?.data ?? []).toString('utf8'),
    ) as IncidentInput;
    // The receiver builds these bytes itself (src/receiver/incident-payloads.ts): the workflow reads
    // back exactly the input, runbook snapshot and all.
    assert.deepEqual(input, {
      incidentId: id,
      targetKey: weird,
      snapshot: loadRunbooks(config.runbooks.dir).runbooks[0],
      dryRun: false,
      triggeredBy: 'alertmanager:rebound',
      safetyScope: taskQueue,
    });
    const attributes = decodeTypedSearchAttributes(started?.searchAttributes?.indexedFields);
    assert.equal(attributes.get(SA_RUNBOOK), RUNBOOK);
    assert.equal(attributes.get(SA_TARGET), weird.slice(0, 256));
    assert.equal(attributes.get(SA_ALERTNAME), 'IntakeTest');
    assert.equal(attributes.get(SA_SEVERITY), 'warning');
    assert.equal(attributes.get(SA_STATUS), 'open');
    assert.equal(attributes.get(SA_PHASE), 'detect');
    await handle.terminate('test done');
  });

  it('tells started from joined, resolves running incidents, and never starts one on resolution', async () => {
    await withWorker({ taskQueue, activities: createActivities(config) }, async () => {
      const mk = (instance: string, status = 'firing', alertname = 'IntakeTest'): Record<string, unknown> =>
        alert({ status, fingerprint: instance }, { instance: `${instance}-${suffix}`, alertname });
      const first = await send(
        payload({}, [mk('x'), mk('y', 'resolved'), mk('z', 'firing', 'NoRunbookForThis')]),
      );
      assert.equal(first.status, 202, JSON.stringify(first.body));
      assert.deepEqual(
        first.body.alerts?.map((a) => a.outcome),
        ['started', 'resolved-no-incident', 'unmatched'],
      );
      assert.equal(first.body.alerts?.[1]?.workflowId, incidentWorkflowId(RUNBOOK, `y-${suffix}`));
      // Retries and duplicates of the same alert join the running incident.
      const again = await send(payload({ status: 'resolved' }, [mk('x'), mk('x')]));
      assert.deepEqual(
        again.body.alerts?.map((a) => a.outcome),
        ['joined', 'joined'],
      );
      const idX = incidentWorkflowId(RUNBOOK, `x-${suffix}`);
      // A group that is "resolved" overall still carries each alert's own status.
      const resolved = await send(payload({ status: 'firing' }, [mk('x', 'resolved')]));
      assert.deepEqual(
        resolved.body.alerts?.map((a) => a.outcome),
        ['resolved'],
      );
      await client.workflow.getHandle(idX).result();
      const late = await send(payload({}, [mk('x', 'resolved')]));
      assert.deepEqual(
        late.body.alerts?.map((a) => a.outcome),
        ['resolved-no-incident'],
      );
      assert.equal(await executionCount(client, idX), 1);
      assert.equal(await executionCount(client, incidentWorkflowId(RUNBOOK, `y-${suffix}`)), 0);
      // After the incident closed, the alert firing again opens a new one.
      const reopened = await send(payload({}, [mk('x')]));
      assert.deepEqual(
        reopened.body.alerts?.map((a) => a.outcome),
        ['started'],
      );
      assert.equal(await executionCount(client, idX), 2);
      await client.workflow.getHandle(idX).terminate('test done');

      // Grafana's webhook contact point (version 1), mapped to the same handling.
      const grafana = await send(
        {
          receiver: 'grafana-rebound',
          status: 'firing',
          orgId: 1,
          alerts: [
            {
              status: 'firing',
              labels: { alertname: 'IntakeTest', instance: `g-${suffix}`, grafana_folder: 'ops' },
              annotations: { summary: 'from Grafana' },
              startsAt: '2024-05-01T12:00:00Z',
              endsAt: '0001-01-01T00:00:00Z',
              generatorURL: 'http://grafana.test/alerting/grafana/abc/view',
              fingerprint: '9f1c2e',
              silenceURL: 'http://grafana.test/silence',
              values: { A: 1 },
              valueString: '[ var=A value=1 ]',
            },
          ],
          groupLabels: { alertname: 'IntakeTest' },
          commonLabels: {},
          commonAnnotations: {},
          externalURL: 'http://grafana.test/',
          version: '1',
          groupKey: '{}:{alertname="IntakeTest"}',
          truncatedAlerts: 0,
          title: '[FIRING:1] IntakeTest',
          state: 'alerting',
          message: '...',
        },
        { path: '/v1/alerts/grafana' },
      );
      assert.equal(grafana.status, 202, JSON.stringify(grafana.body));
      assert.deepEqual(
        grafana.body.alerts?.map((a) => a.outcome),
        ['started'],
      );
      const [fromGrafana] = (await signalsOf(
        client.workflow.getHandle(incidentWorkflowId(RUNBOOK, `g-${suffix}`)),
      )) as AlertNotification[];
      assert.equal(fromGrafana?.source, 'grafana');
      await client.workflow.getHandle(incidentWorkflowId(RUNBOOK, `g-${suffix}`)).terminate('test done');
    });
    const metrics = await (await fetch(`${receiver.url}/metrics`)).text();
    assert.ok(
      metricValue(metrics, 'rebound_alerts_received_total', { status: 'firing', outcome: 'started' }) >= 3,
    );
    assert.equal(
      metricValue(metrics, 'rebound_alerts_received_total', { status: 'firing', outcome: 'unmatched' }),
      1,
    );
    assert.ok(metricValue(metrics, 'rebound_webhook_duration_seconds_count', { source: 'grafana' }) >= 1);
    assert.match(metrics, /# TYPE rebound_temporal_errors_total counter/);
  });

  it('sends a repeat to the incident it saw running as a plain signal, and starts a new one once that closed', async () => {
    // Which calls reach the (real) server: the cached path is a signal, the fallback a signal-with-start.
    // The service's method types carry gRPC descriptors besides the call; only the call is wrapped.
    const service = client.workflowService as unknown as Record<string, (request: unknown) => unknown>;
    const calls: string[] = [];
    const originals: Record<string, (request: unknown) => unknown> = {};
    for (const [method, name] of [
      ['signalWorkflowExecution', 'signal'],
      ['signalWithStartWorkflowExecution', 'signalWithStart'],
    ] as const) {
      const original = service[method] as (request: unknown) => unknown;
      originals[method] = original;
      service[method] = (request) => {
        calls.push(name);
        return original.call(service, request);
      };
    }
    const instance = `repeat-${suffix}`;
    const id = incidentWorkflowId(RUNBOOK, instance);
    const mk = (status: string, fingerprint: string): Record<string, unknown> =>
      alert({ status, fingerprint }, { instance });
    const outcomes = async (alerts: unknown[]): Promise<Array<string | undefined>> => {
      calls.length = 0;
      const answer = await send(payload({}, alerts));
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      return answer.body.alerts?.map((a) => a.outcome) ?? [];
    };
    const fingerprints = async (): Promise<string[]> =>
      ((await signalsOf(client.workflow.getHandle(id))) as AlertNotification[]).map(
        (n) => `${n.alert.status} ${n.alert.fingerprint}`,
      );
    try {
      // No worker: the incident stays open, and its history shows every notification it got.
      assert.deepEqual(await outcomes([mk('firing', 'f1')]), ['started']);
      assert.deepEqual(calls, ['signalWithStart']);
      assert.deepEqual(await outcomes([mk('firing', 'f2'), mk('firing', 'f3')]), ['joined', 'joined']);
      assert.deepEqual(calls, ['signal', 'signal']);
      assert.deepEqual(await fingerprints(), ['firing f1', 'firing f2', 'firing f3']);

      // Closed behind the receiver's back: the cached signal finds nothing, a new incident starts
      // in the same call, and the next alert of the webhook joins it.
      await client.workflow.getHandle(id).terminate('closed behind the receiver');
      assert.deepEqual(await outcomes([mk('firing', 'f4'), mk('firing', 'f5')]), ['started', 'joined']);
      assert.deepEqual(calls, ['signal', 'signalWithStart', 'signal']);
      assert.equal(await executionCount(client, id), 2);
      assert.deepEqual(await fingerprints(), ['firing f4', 'firing f5']);

      // Firing then resolved in one webhook arrive in that order; after a resolution the next
      // firing alert goes by signal-with-start again (the incident is expected to close).
      assert.deepEqual(await outcomes([mk('firing', 'f6'), mk('resolved', 'r7')]), ['joined', 'resolved']);
      assert.deepEqual(calls, ['signal', 'signal']);
      assert.deepEqual(await outcomes([mk('firing', 'f8')]), ['joined']);
      assert.deepEqual(calls, ['signalWithStart']);
      assert.deepEqual(await fingerprints(), [
        'firing f4',
        'firing f5',
        'firing f6',
        'resolved r7',
        'firing f8',
      ]);
      assert.equal(await executionCount(client, id), 2);
    } finally {
      Object.assign(service, originals);
      await client.workflow
        .getHandle(id)
        .terminate('test done')
        .catch(() => undefined);
    }
  });

  it('rebound alert fire sends a test alert and prints what became of it', async () => {
    const instance = `cli-${suffix}`;
    const args = [
      'alert',
      'fire',
      '--label',
      'alertname=IntakeTest',
      '--label',
      `instance=${instance}`,
      '--annotation',
      'summary=from the CLI',
      '--receiver',
      receiver.url,
    ];
    const env = { REBOUND_WEBHOOK_TOKEN: token };
    const first = await runRebound(args, env);
    assert.equal(first.code, 0, first.stderr);
    const id = incidentWorkflowId(RUNBOOK, instance);
    assert.match(
      first.stdout,
      new RegExp(`alert 0 firing: started ${id.replace(/[/.-]/g, '\\$&')} \\(runbook ${RUNBOOK}\\)`),
    );
    const second = await runRebound([...args, '--token', token], {});
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /alert 0 firing: joined/);
    const signals = (await signalsOf(client.workflow.getHandle(id))) as AlertNotification[];
    assert.equal(signals.length, 2);
    assert.equal(signals[0]?.alert.fingerprint, signals[1]?.alert.fingerprint, 'the fingerprint is stable');
    assert.match(signals[0]?.alert.fingerprint ?? '', /^[0-9a-f]{16}$/);
    assert.equal(signals[0]?.alert.annotations.summary, 'from the CLI');
    const resolved = await runRebound([...args, '--resolved'], env);
    assert.match(resolved.stdout, /alert 0 resolved: resolved/);
    const refused = await runRebound([...args, '--token', 'wrong'], {});
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused the alert \(HTTP 401\): the bearer token is not valid/);
    await client.workflow.getHandle(id).terminate('test done');
  });

  it('rebound serve refuses to start on a runbook directory with problems, listing them', async () => {
    const dir = runbookDir();
    writeFileSync(
      path.join(dir, '20-broken.yaml'),
      'name: broken\nmatchers: [ "alertname = X" ]\nsteps: []\n',
    );
    const result = await runRebound(['serve', '--runbooks-dir', dir, '--receiver-port', '0'], {
      REBOUND_WEBHOOK_TOKEN: token,
    });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /The runbooks in .* \(runbooks\.dir\) are not valid/);
    assert.match(
      result.stderr,
      new RegExp(`${path.join(dir, '20-broken.yaml').replace(/[/.-]/g, '\\$&')}:\\d+:\\d+: `),
    );
    assert.doesNotMatch(result.stdout, /listening/);
  });
});
