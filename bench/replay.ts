// Replay: histories replayed per second by src/replay.ts (what `rebound replay` runs), by history
// length: the recorded histories in test/histories/ and longer ones generated here (an incident
// that receives many repeat notifications). Three ways: replay() bundling on each call,
// replay() with a prebuilt bundle, and one SDK replay worker for all histories (the ceiling). Then
// whole processes on the recorded directory: `rebound replay` as a user runs it (bundle cache empty,
// then filled), beside one SDK replay worker in its own process given a prebuilt bundle
// (replay-sdk.ts), with that process's phases.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
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
import { pool, round, table, writeResults, type BenchContext, type Figure } from './common';

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

interface ProcessRun {
  seconds: number;
  exitCode: number;
  /** The prototype's own phases (ms), from its last line. */
  phases?: Record<string, number>;
}

/** Runs a node process to its end; its wall time from spawn to exit. */
function runProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessRun> {
  const root = path.resolve(__dirname, '..');
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: root, maxBuffer: 16 * 2 ** 20, env: { ...process.env, REBOUND_LOG_LEVEL: 'error', ...env } },
      (error, stdout) => {
        const seconds = (performance.now() - t0) / 1000;
        const timing = /^timing (\{.*\})$/m.exec(stdout)?.[1];
        resolve({
          seconds,
          exitCode: error ? Number((error as { code?: number }).code ?? 1) : 0,
          ...(timing ? { phases: JSON.parse(timing) as Record<string, number> } : {}),
        });
      },
    );
  });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** The project's runbooks, whose code runbooks the recorded code runbook histories ran. */
const RUNBOOKS_DIR = path.resolve(__dirname, '../runbooks');

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

  // replay() given neither a bundle nor a cache directory: each call pays for a bundle.
  const few = recorded.slice(0, 3);
  rows.push(
    row(
      'recorded (3 of them)',
      'replay(), bundling on each call',
      few,
      few.length,
      await timed(async () => check(await replay(few, { runbooksDir: RUNBOOKS_DIR }))),
    ),
  );

  const groups: Array<[string, ReplaySource[]]> = [
    [`recorded (${recorded.length} that replay)`, recorded],
    ...generated.map((g): [string, ReplaySource[]] => [g.name, [g]]),
  ];
  for (const [name, sources] of groups) {
    // Enough repetitions for a stable rate, bounded by total events; each way runs twice, in the
    // order A B B A, so neither gains from running second (a warm JIT) or loses to a load spike on
    // this shared machine. (Run once each, replay() first, it looked 2-4x slower than the SDK's
    // worker on short histories; interleaved, the two are within a few percent.)
    const events = sources.reduce((a, s) => a + (s.history.events?.length ?? 0), 0);
    const repeat = Math.max(1, Math.min(10, Math.round(10_000 / events)));
    const list = Array.from({ length: repeat }, () => sources).flat();
    const viaReplay = async (): Promise<number> =>
      timed(async () => check(await replay(list, { workflowBundle: bundle })));
    const viaWorker = async (): Promise<number> =>
      timed(async () => {
        const histories = list.map((s) => ({ workflowId: s.workflowId, history: s.history }));
        for await (const result of Worker.runReplayHistories(
          { workflowBundle: bundle, replayName: 'bench' },
          histories,
        ))
          if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
      });
    const a1 = await viaReplay();
    const b1 = await viaWorker();
    const b2 = await viaWorker();
    const a2 = await viaReplay();
    rows.push(row(name, 'replay(), prebuilt bundle', sources, list.length * 2, a1 + a2));
    rows.push(row(name, 'one SDK replay worker (ceiling)', sources, list.length * 2, b1 + b2));
  }
  table(
    'Replay: histories per second by history length',
    rows.map((r) => ({ ...r })),
  );

  // Whole processes over the recorded directory, as a user or CI runs them: `rebound replay` with
  // its bundle cache empty (it bundles and fills it), then again (the cache hit every later run
  // gets), beside one SDK replay worker in a process of its own given a bundle built beforehand.
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-bench-replay-cache-'));
  const processes: Array<{ how: string } & ProcessRun> = [];
  try {
    const bundleFile = path.join(cacheDir, 'prebuilt-bundle.js');
    writeFileSync(bundleFile, bundle.code);
    const cli = ['bin/rebound.js', 'replay', dir];
    const env = { REBOUND_CACHE_DIR: path.join(cacheDir, 'cache') };
    processes.push({ how: CLI_COLD, ...(await runProcess(cli, env)) });
    processes.push({ how: CLI_CACHED, ...(await runProcess(cli, env)) });
    const sdk = ['--import', 'tsx', path.join(__dirname, 'replay-sdk.ts'), '--bundle', bundleFile, dir];
    processes.push({ how: SDK_PROCESS, ...(await runProcess(sdk)) });
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  table(
    `Replay as a process: all ${all.length} recorded histories, wall time from spawn to exit (the SDK process's phases in ms: process start with imports, read, bundle file, replay)`,
    processes.map((p) => ({
      process: p.how,
      exit: p.exitCode,
      seconds: round(p.seconds, 1),
      historiesPerSecond: round(all.length / p.seconds, 2),
      startAndImports: p.phases?.startAndImports ?? '-',
      read: p.phases?.read ?? '-',
      bundle: p.phases?.bundle ?? '-',
      replay: p.phases?.replay ?? '-',
    })),
  );
  const cached = processes.find((p) => p.how === CLI_CACHED);
  const sdkRun = processes.find((p) => p.how === SDK_PROCESS);
  if (cached && sdkRun)
    console.log(
      `rebound replay (bundle cached) / one SDK replay worker process, histories per second: ${round(sdkRun.seconds / cached.seconds, 2)}`,
    );
  if (failures.length > 0)
    console.log(`REPLAY FAILURES while timing (${failures.length}):\n${failures.slice(0, 5).join('\n')}`);
  console.log(
    `(workflow code: ${path.relative(process.cwd(), WORKFLOWS_PATH)} with the code runbooks of runbooks/, as the worker bundles it)`,
  );
  const results = {
    rows,
    processes: processes.map((p) => ({ ...p, seconds: round(p.seconds, 2) })),
    failures,
    diverged: diverged.map((o) => ({ name: path.basename(o.name), error: o.error })),
  };
  console.log(`-> ${writeResults('replay', ctx, results, replayFigures(results))}`);
}

const CLI_COLD = 'rebound replay test/histories, bundle cache empty (bundles, fills it)';
/** The label runs before the bundle cache had, so --compare sets the two side by side. */
const CLI_CACHED = 'rebound replay test/histories (the CLI)';
const SDK_PROCESS = 'one SDK replay worker as a process, bundle built beforehand (baseline)';

/** A generated history's label without its exact event count, which differs from run to run. */
function stableName(histories: string): string {
  const events = /^generated (\d+) events$/.exec(histories)?.[1];
  if (!events) return histories.replace(/ \(\d+ that replay\)$/, '');
  const n = Number(events);
  const bucket = [500, 2000, 8000].reduce((a, b) => (Math.abs(b - n) < Math.abs(a - n) ? b : a));
  return `generated ~${bucket} events`;
}

/** The figures of a replay run, for --compare (also reads results written before they were saved). */
export function replayFigures(results: unknown): Figure[] {
  const r = results as { rows?: Row[]; processes?: Array<{ how: string; seconds: number }> };
  const figures: Figure[] = (r.rows ?? []).map((row) => ({
    figure: `${stableName(row.histories)}, ${row.mode}`,
    value: row.historiesPerSecond,
    unit: 'histories/s',
    better: 'higher',
  }));
  const rate = (mode: string): number | undefined =>
    r.rows?.find(
      (row) => row.histories.startsWith('recorded (') && row.mode === mode && !row.histories.includes('3 of'),
    )?.historiesPerSecond;
  const prebuilt = rate('replay(), prebuilt bundle');
  const ceiling = rate('one SDK replay worker (ceiling)');
  if (prebuilt !== undefined && ceiling !== undefined)
    figures.push({
      figure: 'recorded: replay() / SDK worker',
      value: round(prebuilt / ceiling, 2),
      unit: 'x',
      better: 'higher',
    });
  for (const p of r.processes ?? [])
    figures.push({ figure: `process: ${p.how}`, value: round(p.seconds, 1), unit: 's', better: 'lower' });
  const seconds = (how: string): number | undefined => r.processes?.find((p) => p.how === how)?.seconds;
  const cli = seconds(CLI_CACHED);
  const sdk = seconds(SDK_PROCESS);
  if (cli !== undefined && sdk !== undefined)
    figures.push({
      figure: 'process: rebound replay / SDK replay worker process',
      value: round(sdk / cli, 2),
      unit: 'x',
      better: 'higher',
    });
  return figures;
}
