// `rebound incidents list` filters (a visibility query over the typed search attributes) and
// `rebound incidents show` (live by query; from the history when closed or no worker answers).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import {
  listIncidents,
  parseSince,
  type IncidentSummary,
  type ListFilter,
  type ShownIncident,
} from '../../src/incident-queries';
import {
  INCIDENT_WORKFLOW_TYPE,
  alertSignal,
  type AlertNotification,
  type IncidentState,
  type IncidentStatus,
} from '../../src/workflows/contract';
import type { incident } from '../../src/workflows/incident';
import type { RunbookSnapshot } from '../../src/runbook-lang/types';
import { alert, runbookFromText, sendAlert, waitForState } from '../support/incidents';
import { fatal, TestActivities } from '../support/test-activities';
import { temporalAddress, testClient, uniqueTaskQueue, withWorker } from '../support/temporal';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const suffix = Math.random().toString(36).slice(2, 8);
const A = `list-a-${suffix}`;
const B = `list-b-${suffix}`;

const runbookA = runbookFromText(`name: ${A}
matchers:
  - alertname = "ListDemo"
target: '{{ labels.instance }}'
defaults:
  timeout: 10s
  retry: { maximumAttempts: 1 }
holdOpen: 10m
steps:
  - id: check
    phase: detect
    type: probe.http
    with: { url: 'http://{{ labels.instance }}/health' }
    onFailure: abort
  - id: give-up
    phase: assess
    type: escalate
    when: 'labels.instance == "esc-host"'
    with: { reason: 'esc-host always escalates' }
`);

const runbookB = runbookFromText(`name: ${B}
matchers:
  - alertname = "ListDemo"
target: '{{ labels.instance }}'
holdOpen: 10m
steps:
  - id: approve
    phase: remediate
    type: approval
    with: { approvers: [alice], prompt: 'go?', timeout: 30m, onTimeout: escalate }
`);

function rebound(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: temporalAddress() };
  delete env.REBOUND_CONFIG;
  const r = spawnSync(process.execPath, [path.join(root, 'bin/rebound.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function reboundAsync(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: temporalAddress() };
  delete env.REBOUND_CONFIG;
  try {
    const r = await promisify(execFile)(process.execPath, [path.join(root, 'bin/rebound.js'), ...args], {
      cwd: root,
      env,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function listJson(...args: string[]): Promise<IncidentSummary[]> {
  const r = await reboundAsync('incidents', 'list', '--json', ...args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as IncidentSummary[];
}

function ids(list: IncidentSummary[]): string[] {
  return list.map((i) => i.id).sort();
}

async function open(
  client: Client,
  taskQueue: string,
  snapshot: RunbookSnapshot,
  target: string,
): Promise<WorkflowHandle<typeof incident>> {
  const workflowId = `test/${snapshot.runbook.name}/${target}`;
  return client.workflow.signalWithStart<typeof incident, [AlertNotification]>(INCIDENT_WORKFLOW_TYPE, {
    taskQueue,
    workflowId,
    args: [{ incidentId: workflowId, targetKey: target, snapshot, dryRun: false, safetyScope: taskQueue }],
    signal: alertSignal,
    signalArgs: [
      {
        alert: alert({ alertname: 'ListDemo', instance: target }),
        source: 'test',
        receivedAt: new Date().toISOString(),
      },
    ],
  });
}

/** The filter the CLI builds from these flags. */
function filterOf(args: string[]): ListFilter {
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i === -1 ? undefined : args[i + 1];
  };
  const since = flag('--since');
  return {
    ...(flag('--runbook') ? { runbook: flag('--runbook') } : {}),
    ...(flag('--target') ? { target: flag('--target') } : {}),
    ...(flag('--status') ? { status: flag('--status') as IncidentStatus } : {}),
    ...(since ? { since: parseSince(since) } : {}),
  };
}

describe('rebound incidents', () => {
  let client: Client;
  const handles: Record<string, WorkflowHandle<typeof incident>> = {};
  let liveShow: ShownIncident;

  before(async () => {
    client = await testClient();
    const taskQueue = uniqueTaskQueue();
    const acts = new TestActivities().on('probeHttp', (input) => {
      if (String(input.params.url).includes('abort-host')) throw fatal('refused', 'ProbeFailed');
      return { ok: true };
    });
    await withWorker({ taskQueue, activities: acts.activities() }, async () => {
      handles.resolved = await open(client, taskQueue, runbookA, 'ok-host');
      handles.escalated = await open(client, taskQueue, runbookA, 'esc-host');
      handles.failed = await open(client, taskQueue, runbookA, 'abort-host');
      handles.waiting = await open(client, taskQueue, runbookB, 'ok-host');
      await waitForState(handles.resolved, (s) => s.phase === 'validate');
      await sendAlert(handles.resolved, alert({ alertname: 'ListDemo', instance: 'ok-host' }, 'resolved'));
      await handles.resolved.result();
      await waitForState(handles.escalated, (s) => s.status === 'escalated');
      await handles.failed.result().catch(() => undefined);
      await waitForState(handles.waiting, (s) => s.pendingApproval !== undefined);
      // While the worker runs, `show` answers from the live state. (Not spawnSync: the worker lives
      // in this process and must keep running to answer.)
      const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: temporalAddress() };
      const r = await promisify(execFile)(
        process.execPath,
        [path.join(root, 'bin/rebound.js'), 'incidents', 'show', handles.waiting.workflowId, '--json'],
        { cwd: root, env },
      );
      liveShow = JSON.parse(r.stdout) as ShownIncident;
    });
    // Visibility is eventually consistent: wait until it reports every incident's last status.
    const want = new Map([
      [handles.resolved!.workflowId, 'resolved'],
      [handles.escalated!.workflowId, 'escalated'],
      [handles.failed!.workflowId, 'failed'],
      [handles.waiting!.workflowId, 'open'],
    ]);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const seen = [
        ...(await listIncidents(client, { runbook: A })),
        ...(await listIncidents(client, { runbook: B })),
      ];
      if (seen.length === 4 && seen.every((i) => want.get(i.id) === i.status)) break;
      if (Date.now() > deadline) assert.fail(`visibility never caught up: ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  after(async () => {
    for (const h of [handles.escalated, handles.waiting])
      if (h) await h.terminate('test over').catch(() => undefined);
    await client?.connection.close();
  });

  it('list filters by runbook, status, target and start time', async () => {
    const a = [handles.resolved, handles.escalated, handles.failed].map((h) => h!.workflowId).sort();
    const cases: Array<[string[], string[]]> = [
      [['--runbook', A], a],
      [['--runbook', A, '--status', 'escalated'], [handles.escalated!.workflowId]],
      [['--runbook', A, '--status', 'failed'], [handles.failed!.workflowId]],
      [['--runbook', A, '--status', 'resolved'], [handles.resolved!.workflowId]],
      [['--runbook', A, '--status', 'open'], []],
      [['--runbook', B, '--status', 'open'], [handles.waiting!.workflowId]],
      [['--target', 'ok-host', '--runbook', B], [handles.waiting!.workflowId]],
      [['--target', 'esc-host', '--runbook', A], [handles.escalated!.workflowId]],
      [['--runbook', A, '--since', '1h'], a],
      [['--runbook', A, '--since', new Date(Date.now() + 60_000).toISOString()], []],
    ];
    // Three through the CLI (each a process of its own, so few), the rest through the same
    // function the CLI calls.
    const viaCli = [0, 1, 7, 9];
    for (const [i, [args, want]] of cases.entries()) {
      const found = viaCli.includes(i)
        ? await listJson(...args)
        : await listIncidents(client, filterOf(args));
      assert.deepEqual(ids(found), want, args.join(' '));
    }
  });

  it('list prints a table with id, runbook, target, status, phase, opened, closed', () => {
    const r = rebound('incidents', 'list', '--runbook', A, '--status', 'resolved');
    assert.equal(r.code, 0, r.stderr);
    const [head, row, ...rest] = r.stdout.trimEnd().split('\n');
    assert.match(head ?? '', /^ID\s+RUNBOOK\s+TARGET\s+STATUS\s+PHASE\s+OPENED\s+CLOSED$/);
    assert.match(
      row ?? '',
      new RegExp(
        `^${handles.resolved!.workflowId}\\s+${A}\\s+ok-host\\s+resolved\\s+done\\s+\\d{4}-\\d\\d-\\d\\d \\S+Z\\s+\\d{4}-\\d\\d-\\d\\d \\S+Z$`,
      ),
    );
    assert.deepEqual(rest, []);
    const bad = rebound('incidents', 'list', '--status', 'sleeping');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Allowed choices are open, resolved, failed, escalated/);
  });

  it('show answers from the live state while a worker runs', () => {
    assert.equal(liveShow.source, 'query');
    assert.equal(liveShow.state.pendingApproval?.stepId, 'approve');
  });

  it('show rebuilds a running incident from its history when no worker answers', () => {
    const r = rebound(
      'incidents',
      'show',
      handles.escalated!.workflowId,
      '--json',
      '--query-timeout',
      '1500',
    );
    assert.equal(r.code, 0, r.stderr);
    const shown = JSON.parse(r.stdout) as ShownIncident;
    assert.equal(shown.source, 'history');
    assert.equal(shown.execution, 'RUNNING');
    assert.match(shown.note ?? '', /no worker answered the state query within 1500 ms/);
    assert.equal(shown.state.status, 'escalated');
    assert.equal(shown.state.phase, 'escalate');
    assert.deepEqual(
      shown.state.steps.map((s) => [s.id, s.status]),
      [
        ['check', 'succeeded'],
        ['give-up', 'pending'],
      ],
      'activity steps come from the history; workflow-only steps are not visible there',
    );
    const text = rebound('incidents', 'show', handles.escalated!.workflowId, '--query-timeout', '1500');
    assert.match(text.stdout, /^State from\s+rebuilt from the event history$/m);
    assert.match(text.stdout, /^Status\s+escalated$/m);
  });

  it('show reads a closed incident from its result, and a failed one from its failure', () => {
    const resolved = JSON.parse(
      rebound('incidents', 'show', handles.resolved!.workflowId, '--json').stdout,
    ) as ShownIncident;
    assert.equal(resolved.source, 'result');
    assert.equal(resolved.state.status, 'resolved');
    assert.equal(resolved.state.resolution, 'resolved without action');
    const failed = JSON.parse(
      rebound('incidents', 'show', handles.failed!.workflowId, '--json').stdout,
    ) as ShownIncident;
    assert.equal(failed.source, 'result');
    assert.equal(failed.execution, 'FAILED');
    const state: IncidentState = failed.state;
    assert.equal(state.status, 'failed');
    assert.equal(state.steps[0]?.error?.type, 'ProbeFailed');
    const missing = rebound('incidents', 'show', 'no/such/incident');
    assert.equal(missing.code, 3, 'not found: exit 3, as for every command');
    assert.match(missing.stderr, /no incident no\/such\/incident/);
  });
});
