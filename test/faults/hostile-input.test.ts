// Hostile and unlucky input against `rebound dev` as a user runs it (real receiver, real worker,
// embedded Temporal): catastrophic regexes in matchers and in `when` conditions, and label and
// annotation names that are JavaScript's own (`constructor`, `__proto__`, `toString`...).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../../src/dev-server';
import { incidentWorkflowId } from '../../src/workflows/contract';
import { waitForState } from '../support/incidents';
import { runRebound, startRebound, type RunningProcess, DEV_READY_TIMEOUT_MS } from '../support/processes';
import { temporalCliPath } from '../support/temporal';

const RUNBOOKS: Record<string, string> = {
  '10-evil-matcher.yaml': `name: evil-matcher
description: A matcher regex that backtracks catastrophically in JavaScript's RegExp.
matchers: ['alertname = "EvilMatcher"', 'instance =~ "(a+)+b"']
steps:
  - { id: wait, phase: detect, type: sleep, with: { duration: 1ms } }
`,
  '20-evil-when.yaml': `name: evil-when
description: A condition regex that backtracks catastrophically in JavaScript's RegExp.
matchers: ['alertname = "EvilWhen"']
target: "evil-when"
holdOpen: 1m
steps:
  - id: odd
    phase: detect
    type: sleep
    when: 'labels.instance.matches("^(a+)+$")'
    with: { duration: 1ms }
  - { id: after, phase: detect, type: sleep, with: { duration: 1ms } }
`,
  '30-names.yaml': `name: names
description: Labels and annotations named like JavaScript's own properties.
matchers: ['alertname = "Names"', 'constructor = "c"', '__proto__ = "p"']
target: '{{ labels.constructor }}-{{ labels["__proto__"] }}-{{ labels.toString }}'
variables: { fromAnnotation: "{{ annotations.constructor }}" }
steps:
  - id: decide
    phase: detect
    type: escalate
    when: 'labels.hasOwnProperty == "h" && has(labels.toString) && annotations["__proto__"] == "ap" && vars.fromAnnotation == "ac"'
    with: { reason: '{{ labels.constructor }}/{{ annotations.toString }}/{{ size(labels) }}' }
`,
};

let dev: RunningProcess;
let receiver: string;
let client: Client;
let temporalAddress: string;

async function post(alerts: Array<{ labels: Record<string, string>; annotations?: Record<string, string> }>) {
  const body = {
    version: '4',
    groupKey: '{}:{}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'rebound',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.local',
    alerts: alerts.map((a, i) => ({
      status: 'firing',
      labels: a.labels,
      annotations: a.annotations ?? {},
      startsAt: '2026-11-30T10:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.local/graph',
      fingerprint: `f${i}`,
    })),
  };
  // A deadline that only a hang misses: the answer normally takes milliseconds.
  const response = await fetch(`${receiver}/v1/alerts/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return {
    status: response.status,
    body: (await response.json()) as { alerts: Array<Record<string, string>> },
  };
}

describe('hostile input through rebound dev', () => {
  before(async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-hostile-'));
    const runbooks = mkdtempSync(path.join(os.tmpdir(), 'rebound-hostile-runbooks-'));
    for (const [file, text] of Object.entries(RUNBOOKS)) writeFileSync(path.join(runbooks, file), text);
    const [temporalPort, receiverPort] = [await freePort(), await freePort()];
    temporalAddress = `127.0.0.1:${temporalPort}`;
    receiver = `http://127.0.0.1:${receiverPort}`;
    dev = startRebound(['dev'], {
      TEMPORAL_CLI_PATH: temporalCliPath(),
      REBOUND_DATA_DIR: dataDir,
      REBOUND_TEMPORAL_PORT: String(temporalPort),
      REBOUND_UI_PORT: '0',
      REBOUND_PORT: String(receiverPort),
      REBOUND_RUNBOOKS: runbooks,
      REBOUND_WEBHOOK_AUTH: 'none',
      TEMPORAL_TASK_QUEUE: 'hostile',
    });
    await dev.waitFor(/Press Ctrl-C to stop/, DEV_READY_TIMEOUT_MS);
    client = new Client({ connection: await Connection.connect({ address: temporalAddress }) });
  });
  after(async () => {
    await client?.connection.close();
    const code = await dev?.stop('SIGTERM');
    assert.equal(code, 0, dev?.output());
  });

  it('a matcher regex (a+)+b against a 30-character label answers at once, as RE2 in Alertmanager does', async () => {
    const answer = await post([{ labels: { alertname: 'EvilMatcher', instance: 'a'.repeat(30) } }]);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.equal(answer.body.alerts[0]?.outcome, 'unmatched');
    const matching = await post([{ labels: { alertname: 'EvilMatcher', instance: `${'a'.repeat(30)}b` } }]);
    assert.equal(matching.body.alerts[0]?.outcome, 'started');
    const health = await fetch(`${receiver}/healthz`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(health.status, 200);
  });

  it('a when condition ^(a+)+$ against 30 × a + "!" is evaluated (false) and the worker lives on', async () => {
    const answer = await post([{ labels: { alertname: 'EvilWhen', instance: `${'a'.repeat(30)}!` } }]);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    const handle = client.workflow.getHandle(incidentWorkflowId('evil-when', 'evil-when'));
    const state = await waitForState(
      handle,
      (s) => s.steps.find((x) => x.id === 'after')?.status === 'succeeded',
    );
    assert.equal(state.steps.find((x) => x.id === 'odd')?.status, 'skipped');
    assert.equal(dev.child.exitCode, null, `rebound dev is still running:\n${dev.output()}`);
    await handle.terminate('test done');
  });

  it('labels and annotations named constructor, __proto__, toString, hasOwnProperty work end to end', async () => {
    const labels = JSON.parse(
      '{"alertname":"Names","constructor":"c","__proto__":"p","toString":"t","hasOwnProperty":"h"}',
    ) as Record<string, string>;
    const annotations = JSON.parse('{"constructor":"ac","__proto__":"ap","toString":"at"}') as Record<
      string,
      string
    >;
    assert.deepEqual(Object.keys(labels), [
      'alertname',
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
    ]);
    const answer = await post([{ labels, annotations }]);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    const id = incidentWorkflowId('names', 'c-p-t');
    assert.equal(answer.body.alerts[0]?.workflowId, id);
    const handle = client.workflow.getHandle(id);
    const state = await waitForState(handle, (s) => s.status === 'escalated');
    assert.equal(state.escalationReason, 'c/at/5');
    assert.deepEqual(Object.keys(state.alert.labels), Object.keys(labels));
    assert.equal(state.alert.labels.constructor, 'c');
    assert.equal(Object.getOwnPropertyDescriptor(state.alert.annotations, '__proto__')?.value, 'ap');
    const audit = await runRebound(['audit', id], { TEMPORAL_ADDRESS: temporalAddress });
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /constructor=c/);
    assert.match(audit.stdout, /__proto__=p/);
    await handle.terminate('test done');
  });
});
