// `rebound history export` and `rebound replay`, and interchange with the real Temporal CLI: a
// history exported by either tool is read by the other.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal as proto } from '@temporalio/proto';
import { exportFileName } from '../../src/commands/audit';
import type { incident } from '../../src/workflows/incident';
import { alert, openIncident, runbookFromText, sendAlert, waitForState } from '../support/incidents';
import { TestActivities } from '../support/test-activities';
import {
  temporalAddress,
  temporalCliPath,
  testClient,
  uniqueTaskQueue,
  withWorker,
} from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const histories = path.join(root, 'test/histories');
const changedWorkflow = path.join(root, 'test/fixtures/changed-workflow/index.ts');

async function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), ...env };
  delete fullEnv.REBOUND_CONFIG;
  try {
    const r = await promisify(execFile)(file, args, { cwd: root, env: fullEnv, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function rebound(args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof run> {
  return run(process.execPath, [path.join(root, 'bin/rebound.js'), ...args], env);
}

function temporal(...args: string[]): ReturnType<typeof run> {
  return run(temporalCliPath(), [...args, '--address', temporalAddress(), '--namespace', 'default']);
}

/**
 * A canonical plain form of a history (through the protobuf wire format), so plain objects and
 * message classes compare by content; map entries may come in any order.
 */
function canonical(history: proto.api.history.v1.IHistory): Record<string, unknown> {
  const History = proto.api.history.v1.History;
  return History.toObject(History.decode(History.encode(history).finish()), {
    longs: String,
    enums: String,
    bytes: String,
  });
}

function readHistory(file: string): Record<string, unknown> {
  return canonical(historyFromJSON(JSON.parse(readFileSync(file, 'utf8'))));
}

describe('history export and replay', () => {
  let client: Client;
  let handle: WorkflowHandle<typeof incident>;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-history-'));
    client = await testClient();
    const taskQueue = uniqueTaskQueue();
    const snapshot = runbookFromText(`name: export-demo
matchers:
  - alertname = "ExportDemo"
target: '{{ labels.instance }}'
holdOpen: 10m
steps:
  - id: check
    phase: detect
    type: container.inspect
    with: { container: web-1 }
`);
    const firing = alert({ alertname: 'ExportDemo', instance: 'host-1' });
    await withWorker({ taskQueue, activities: new TestActivities().activities() }, async () => {
      handle = await openIncident(client, taskQueue, snapshot, firing);
      await waitForState(handle, (s) => s.phase === 'validate');
      await sendAlert(handle, { ...firing, status: 'resolved' });
      await handle.result();
    });
  });

  after(async () => {
    await client?.connection.close();
  });

  it('exports a history that historyFromJSON reads back equal to the fetched one', async () => {
    const file = path.join(dir, 'rebound-export.json');
    const r = await rebound(['history', 'export', handle.workflowId, '-o', file]);
    assert.equal(r.code, 0, r.stderr);
    const fetched = await handle.fetchHistory();
    assert.ok((fetched.events?.length ?? 0) > 10);
    assert.deepEqual(readHistory(file), canonical(fetched), 'the export is the fetched history');

    // The Temporal CLI reads it too: fix-history-json parses and re-serialises an event history file.
    const fixed = path.join(dir, 'fixed-by-temporal.json');
    const t = await temporal('workflow', 'fix-history-json', '--source', file, '--target', fixed);
    assert.equal(t.code, 0, t.stderr);
    assert.deepEqual(readHistory(fixed), canonical(fetched), 'the Temporal CLI read the same history');
  });

  it('reads a history exported by `temporal workflow show --output json` for audit and replay', async () => {
    const t = await temporal('workflow', 'show', '-w', handle.workflowId, '--output', 'json');
    assert.equal(t.code, 0, t.stderr);
    const file = path.join(dir, 'temporal-show.json');
    writeFileSync(file, t.stdout);
    const [fromFile, fromTemporal, replayed] = await Promise.all([
      rebound(['audit', file, '--format', 'json']),
      rebound(['audit', handle.workflowId, '--format', 'json']),
      rebound(['replay', file, handle.workflowId]),
    ]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.deepEqual(JSON.parse(fromFile.stdout), JSON.parse(fromTemporal.stdout));
    assert.equal(replayed.code, 0, replayed.stdout + replayed.stderr);
    assert.deepEqual(replayed.stdout.trimEnd().split('\n'), [
      `${file}: ok (${(await handle.fetchHistory()).events?.length} events)`,
      `${handle.workflowId}: ok (${(await handle.fetchHistory()).events?.length} events)`,
      '2 histories replayed identically',
    ]);
  });

  it('exports every incident run since a time into a directory', async () => {
    const out = path.join(dir, 'archive');
    const r = await rebound(['history', 'export', '--all', '--since', '1h', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    const description = await handle.describe();
    const name = exportFileName(handle.workflowId, description.runId);
    assert.ok(readdirSync(out).includes(name), `${name} in ${readdirSync(out).join(', ')}`);
    assert.deepEqual(readHistory(path.join(out, name)), canonical(await handle.fetchHistory()));
    assert.match(r.stdout, /^exported \d+ incident runs? to /m);
    const none = await rebound(['history', 'export', '--all', '-o', out]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--all needs --since/);
  });

  it('replay: exit 0 on the recorded histories', async () => {
    const r = await rebound(['replay', histories]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const files = readdirSync(histories).filter((f) => f.endsWith('.json'));
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, files.length + 1);
    for (const f of files)
      assert.ok(
        lines.some((l) => l.startsWith(`${path.join(histories, f)}: ok (`)),
        f,
      );
    assert.equal(lines.at(-1), `${files.length} histories replayed identically`);
  });

  it('replay: exit 1 naming the diverging event against a changed workflow', async () => {
    const files = ['failover-approved.json', 'retry-backoff.json'].map((f) => path.join(histories, f));
    const r = await rebound(['replay', ...files], { REBOUND_REPLAY_WORKFLOWS_PATH: changedWorkflow });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    for (const [i, f] of files.entries())
      assert.match(
        lines[i] ?? '',
        new RegExp(
          `^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: DIVERGED at event \\d+ \\([A-Za-z]+\\): \\[TMPRL1100\\] Nondeterminism error`,
        ),
      );
    assert.equal(lines.at(-1), '2 of 2 diverged');
    assert.equal(r.stderr, '', 'no log noise on stderr');
  });
});
