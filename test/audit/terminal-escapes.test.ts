// Labels, annotations and runbook text holding terminal escapes (window title, clipboard write through
// OSC 52, erase-line, NUL, a C1 CSI, a bidi override) in a real incident: the history keeps the exact
// bytes, and no command prints them raw. Every output shows them escaped (`\x1b`, `\u202e`).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { alert, openIncident, runbookFromText, waitForState } from '../support/incidents';
import { runRebound } from '../support/processes';
import { TestActivities } from '../support/test-activities';
import { temporalAddress, testClient, uniqueTaskQueue, workflowBundle } from '../support/temporal';

const TITLE = '\u001b]0;pwned\u0007';
const CLIPBOARD = '\u001b]52;c;cHduZWQ=\u0007';
const ERASE = '\u001b[2K\r';
const HOSTILE = `${TITLE}${CLIPBOARD}${ERASE}nul\u0000c1\u009b31m\u202eevil`;

// Everything a terminal would act on; line feeds and tabs are the only controls a command may print.
/* eslint-disable no-control-regex -- finding control characters is the point */
const RAW =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/* eslint-enable no-control-regex */

let client: Client;
let connection: NativeConnection;
let running: Promise<void>;
let worker: Worker;
const taskQueue = uniqueTaskQueue('escapes');
before(async () => {
  client = await testClient();
  connection = await NativeConnection.connect({ address: temporalAddress() });
  worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: new TestActivities().activities(),
    shutdownGraceTime: '1s',
    shutdownForceTime: '5s',
  });
  running = worker.run();
});
after(async () => {
  worker.shutdown();
  await running;
  await connection.close();
  await client.connection.close();
});

const rebound = (args: string[]): ReturnType<typeof runRebound> =>
  runRebound(
    args,
    {
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_TASK_QUEUE: taskQueue,
      REBOUND_CONFIG: '',
      REBOUND_LOG_LEVEL: 'error',
    },
    // Generous: on a loaded machine starting node alone can take many seconds.
    240_000,
  );

describe('terminal escapes from alerts', () => {
  it('are stored verbatim and printed escaped by incidents list/show/pending and audit', async () => {
    const runbook = runbookFromText(`
name: escape-test
description: an approval whose prompt and alert carry terminal escapes
matchers: ['alertname = "Escapes"']
holdOpen: 1m
steps:
  - id: approve
    phase: remediate
    type: approval
    with: { approvers: [alice], prompt: ${JSON.stringify(`restart? ${HOSTILE}`)}, timeout: 10m }
`);
    const handle = await openIncident(
      client,
      taskQueue,
      runbook,
      alert({ alertname: `Escapes${HOSTILE}`, instance: HOSTILE }, 'firing', { summary: HOSTILE }),
      {
        workflowId: `incident/escape-test/${Math.random().toString(36).slice(2)}`,
        targetKey: `target${HOSTILE}`,
      },
    );
    const live = await waitForState(handle, (s) => s.pendingApproval !== undefined);
    assert.equal(live.alert.labels.instance, HOSTILE, 'the incident keeps the exact bytes');
    assert.equal(live.targetKey, `target${HOSTILE}`);

    // The list is a visibility query: wait until the index has the incident.
    for (let i = 0; ; i++) {
      const found = [];
      for await (const wf of client.workflow.list({ query: `ReboundRunbook = 'escape-test'` }))
        found.push(wf);
      if (found.some((wf) => wf.workflowId === handle.workflowId)) break;
      if (i > 100) throw new Error('the incident never appeared in the visibility index');
      await new Promise((r) => setTimeout(r, 200));
    }

    const outputs: Array<[string, string[]]> = [
      ['incidents list', ['incidents', 'list', '--runbook', 'escape-test']],
      ['incidents list --json', ['incidents', 'list', '--runbook', 'escape-test', '--json']],
      ['incidents show', ['incidents', 'show', handle.workflowId]],
      ['incidents show --json', ['incidents', 'show', handle.workflowId, '--json']],
      ['incidents pending', ['incidents', 'pending', '--timeout', '10']],
      ['incidents pending --json', ['incidents', 'pending', '--timeout', '10', '--json']],
      ['audit text', ['audit', handle.workflowId]],
      ['audit md', ['audit', handle.workflowId, '--format', 'md']],
      ['audit json', ['audit', handle.workflowId, '--format', 'json']],
      ['audit html', ['audit', handle.workflowId, '--format', 'html']],
    ];
    const results = await Promise.all(
      outputs.map(async ([name, args]) => [name, await rebound(args)] as const),
    );
    for (const [name, r] of results) {
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      const raw = RAW.exec(r.stdout + r.stderr);
      assert.equal(raw, null, `${name} printed U+${raw?.[0]?.charCodeAt(0).toString(16)} raw`);
      if (name.endsWith('--json') || name === 'audit json') {
        assert.match(r.stdout, /\\u001b\]52;c;/, `${name}: the escape is visible`);
        assert.match(r.stdout, /\\u202e/, `${name}: the bidi override is visible`);
      } else if (name !== 'audit html') {
        // Markdown escapes its own brackets as well: `\x1b\]0;` there.
        assert.match(r.stdout, /\\x1b\\?\]0;pwned\\x07/, `${name}: the escape is visible`);
        assert.match(r.stdout, /\\u202e/, `${name}: the bidi override is visible`);
      }
    }
    // JSON output is still the same value: parsed, it gives back the exact bytes.
    const shown = results.find(([name]) => name === 'incidents show --json')?.[1];
    const parsed = JSON.parse(shown?.stdout ?? '{}') as {
      state: { alert: { labels: Record<string, string> } };
    };
    assert.equal(parsed.state.alert.labels.instance, HOSTILE);
  });
});
