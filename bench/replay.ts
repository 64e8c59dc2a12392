// Replay: histories replayed per second by src/replay.ts (what `rebound replay` runs), by history
// length: the recorded histories in test/histories/ and longer ones generated here (an incident
// that receives many repeat notifications). Three ways: replay() as the CLI calls it (workflowsPath),
// replay() with a prebuilt bundle, and one SDK replay worker for all histories (the ceiling).
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../src/activities';
import { loadRunbooks } from '../src/runbooks/catalog';
import { readHistoryFile, replay, type ReplaySource } from '../src/replay';
import { WORKFLOWS_PATH } from '../src/workflows-path';
import {
  INCIDENT_WORKFLOW_TYPE,
  alertSignal,
  incidentWorkflowId,
  type AlertNotification,
  type IncidentInput,
} from '../src/workflows/contract';
import { benchConfig } from './first-action';
import { amAlert, benchRunbookDir } from './intake';
import { pool, round, table, writeResults, type BenchContext } from './common';

/** Incidents whose histories grow to about `targetEvents` with repeat notifications. */
async function generate(ctx: BenchContext, targets: number[]): Promise<ReplaySource[]> {
  const dir = benchRunbookDir();
  const taskQueue = `bench-replay-${randomUUID().slice(0, 8)}`;
  const config = benchConfig(ctx.address, taskQueue, dir, 'unused');
  const snapshot = loadRunbooks(dir).runbooks[0];
  if (!snapshot) throw new Error('bench runbook did not load');
  const connection = await NativeConnection.connect({ address: ctx.address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: await ctx.bundle(),
    activities: createActivities(config, ctx.client),
  });
  const sources: ReplaySource[] = [];
  await worker.runUntil(async () => {
    for (const target of targets) {
      const instance = `long-${target}-${randomUUID().slice(0, 6)}`;
      const workflowId = incidentWorkflowId('bench-intake', instance);
      const notification = (status: 'firing' | 'resolved'): AlertNotification => ({
        alert: amAlert({ alertname: 'BenchIntake', instance }, status),
        source: 'alertmanager',
        receivedAt: new Date().toISOString(),
      });
      const input: IncidentInput = { incidentId: workflowId, targetKey: instance, snapshot, dryRun: false };
      const handle = await ctx.client.workflow.signalWithStart(INCIDENT_WORKFLOW_TYPE, {
        taskQueue,
        workflowId,
        args: [input],
        signal: alertSignal,
        signalArgs: [notification('firing')],
      });
      const length = async (): Promise<number> => Number((await handle.describe()).historyLength);
      // Signals one at a time, so each lands in its own workflow task, as spaced-out repeats do.
      for (let n = await length(); n < target - 10; n = await length())
        await pool(Math.max(1, Math.floor((target - n) / 8)), 4, async () => {
          await handle.signal(alertSignal, notification('firing'));
        });
      await handle.signal(alertSignal, notification('resolved'));
      await handle.result();
      const history = await handle.fetchHistory();
      sources.push({ name: `generated ${history.events?.length ?? 0} events`, workflowId, history });
    }
  });
  await connection.close();
  return sources;
}

interface Row {
  histories: string;
  mode: string;
  events: number;
  replays: number;
  seconds: number;
  historiesPerSecond: number;
  eventsPerSecond: number;
}

function row(
  histories: string,
  mode: string,
  sources: ReplaySource[],
  replays: number,
  seconds: number,
): Row {
  const events = sources.reduce((a, s) => a + (s.history.events?.length ?? 0), 0) / sources.length;
  return {
    histories,
    mode,
    events: Math.round(events),
    replays,
    seconds: round(seconds, 2),
    historiesPerSecond: round(replays / seconds, 1),
    eventsPerSecond: Math.round((replays * events) / seconds),
  };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

export async function replayBench(ctx: BenchContext): Promise<void> {
  const dir = path.resolve(__dirname, '../test/histories');
  const all = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => readHistoryFile(path.join(dir, f)));
  const targets = ctx.quick ? [500, 2000] : [500, 2000, 8000];
  const generated = await generate(ctx, targets);
  const bundle = await ctx.bundle();
  const rows: Row[] = [];
  const failures: string[] = [];
  // A history that diverges stops replaying early, which would flatter the rate: time only those
  // that replay to the end, and list the others.
  const first = await replay([...all, ...generated], { workflowBundle: bundle });
  const diverged = first.filter((o) => !o.ok);
  if (diverged.length > 0) {
    console.log(
      `Histories that do NOT replay against the current code (${diverged.length}), left out of the timings:`,
    );
    for (const o of diverged)
      console.log(
        `  ${path.basename(o.name)}: ${(o.error ?? '').replace(/^[\s\S]*?(Nondeterminism error: )/, '$1').slice(0, 220)}`,
      );
  }
  const ok = new Set(first.filter((o) => o.ok).map((o) => o.name));
  const recorded = all.filter((s) => ok.has(s.name));
  if (generated.some((g) => !ok.has(g.name))) throw new Error('a generated history does not replay');
  const check = (outcomes: Awaited<ReturnType<typeof replay>>): void => {
    for (const o of outcomes) if (!o.ok) failures.push(`${o.name}: ${o.error ?? ''}`);
  };

  // As `rebound replay` runs it today: workflowsPath, so each history pays for a bundle.
  const few = recorded.slice(0, 3);
  rows.push(
    row(
      'recorded (3 of them)',
      'replay(), workflowsPath (the CLI)',
      few,
      few.length,
      await timed(async () => check(await replay(few))),
    ),
  );

  const groups: Array<[string, ReplaySource[]]> = [
    [`recorded (${recorded.length} that replay)`, recorded],
    ...generated.map((g): [string, ReplaySource[]] => [g.name, [g]]),
  ];
  for (const [name, sources] of groups) {
    // Enough repetitions for a stable rate, bounded by total events.
    const events = sources.reduce((a, s) => a + (s.history.events?.length ?? 0), 0);
    const repeat = Math.max(1, Math.min(20, Math.round(20_000 / events)));
    const list = Array.from({ length: repeat }, () => sources).flat();
    rows.push(
      row(
        name,
        'replay(), prebuilt bundle',
        sources,
        list.length,
        await timed(async () => check(await replay(list, { workflowBundle: bundle }))),
      ),
    );
    rows.push(
      row(
        name,
        'one SDK replay worker (ceiling)',
        sources,
        list.length,
        await timed(async () => {
          const histories = list.map((s) => ({ workflowId: s.workflowId, history: s.history }));
          for await (const result of Worker.runReplayHistories(
            { workflowBundle: bundle, replayName: 'bench' },
            histories,
          ))
            if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
        }),
      ),
    );
  }
  table(
    'Replay: histories per second by history length',
    rows.map((r) => ({ ...r })),
  );
  if (failures.length > 0)
    console.log(`REPLAY FAILURES while timing (${failures.length}):\n${failures.slice(0, 5).join('\n')}`);
  console.log(`(workflowsPath is ${path.relative(process.cwd(), WORKFLOWS_PATH)})`);
  console.log(
    `-> ${writeResults('replay', ctx, { rows, failures, diverged: diverged.map((o) => ({ name: path.basename(o.name), error: o.error })) })}`,
  );
}
