// Scale: N incidents open at once on one worker, each waiting for an approval, then approved (the
// decide update) and resolved. Reports the worker's memory (its own process: rss and V8 heap) with
// all N waiting, and the time to drain them, for N = 100, 1,000 and 5,000 (--quick: 100 and 1,000).
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadRunbooks } from '../src/runbooks/catalog';
import {
  INCIDENT_WORKFLOW_TYPE,
  alertSignal,
  decideUpdate,
  incidentWorkflowId,
  type AlertNotification,
  type IncidentInput,
} from '../src/workflows/contract';
import { benchConfig } from './first-action';
import { amAlert, benchRunbookDir } from './intake';
import { pool, round, table, until, writeResults, type BenchContext } from './common';

export const SCALE_RUNBOOK = `name: bench-approval
description: Scale benchmark; every incident waits for an approval.
matchers: ['alertname = "BenchApproval"']
target: '{{ labels.instance }}'
holdOpen: 1h
steps:
  - id: settle
    phase: detect
    type: sleep
    with: { duration: 1ms }
  - id: approve
    phase: assess
    type: approval
    with: { approvers: [operator], prompt: 'Go on?', timeout: 2h }
`;

export const CONCURRENCY = 64;
const MiB = 2 ** 20;

interface Memory {
  rss: number;
  heapUsed: number;
}

interface WorkerProcess {
  child: ChildProcess;
  latest(): Memory;
  peak(): Memory;
  resetPeak(): void;
  stop(): Promise<void>;
}

export async function startWorker(env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  const child = fork(path.join(__dirname, 'scale-worker.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let latest: Memory = { rss: 0, heapUsed: 0 };
  let peak: Memory = { rss: 0, heapUsed: 0 };
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`scale worker exited (${code})`)));
    child.on('message', (m: { type: string; rss?: number; heapUsed?: number }) => {
      if (m.type === 'ready') resolve();
      if (m.type === 'memory' && m.rss !== undefined && m.heapUsed !== undefined) {
        latest = { rss: m.rss, heapUsed: m.heapUsed };
        peak = { rss: Math.max(peak.rss, m.rss), heapUsed: Math.max(peak.heapUsed, m.heapUsed) };
      }
    });
  });
  await ready;
  return {
    child,
    latest: () => latest,
    peak: () => peak,
    resetPeak: () => (peak = { ...latest }),
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface Row {
  n: number;
  openSeconds: number;
  idleRssMiB: number;
  openRssMiB: number;
  openHeapMiB: number;
  peakRssMiB: number;
  rssPerIncidentKiB: number;
  drainSeconds: number;
  drainPerSecond: number;
}

export async function scaleBench(ctx: BenchContext): Promise<void> {
  const sizes = ctx.quick ? [100, 1000] : [100, 1000, 5000];
  const dir = benchRunbookDir(SCALE_RUNBOOK);
  const snapshot = loadRunbooks(dir).runbooks.find((r) => r.runbook.name === 'bench-approval');
  if (!snapshot) throw new Error('bench-approval runbook did not load');
  const bundleFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'rebound-bench-bundle-')), 'workflows.js');
  writeFileSync(bundleFile, (await ctx.bundle()).code);
  const rows: Row[] = [];
  const mib = (bytes: number): number => round(bytes / MiB, 1);

  for (const n of sizes) {
    const taskQueue = `bench-scale-${n}-${randomUUID().slice(0, 8)}`;
    const config = benchConfig(ctx.address, taskQueue, dir, 'unused');
    const worker = await startWorker({
      TEMPORAL_ADDRESS: ctx.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      REBOUND_LOG_LEVEL: 'error',
      REBOUND_BENCH_WORKFLOW_BUNDLE: bundleFile,
    });
    await new Promise((r) => setTimeout(r, 1000));
    const idle = worker.latest();
    const ids = Array.from({ length: n }, (_, i) => incidentWorkflowId('bench-approval', `t${i}`));
    const count = async (extra: string): Promise<number> =>
      (await ctx.client.workflow.count(`TaskQueue = "${taskQueue}" ${extra}`)).count;

    const opened = performance.now();
    await pool(n, CONCURRENCY, async (i) => {
      const workflowId = ids[i] as string;
      const input: IncidentInput = {
        incidentId: workflowId,
        targetKey: `t${i}`,
        snapshot,
        dryRun: false,
        triggeredBy: 'alertmanager:bench',
      };
      const notification: AlertNotification = {
        alert: amAlert({ alertname: 'BenchApproval', instance: `t${i}` }),
        source: 'alertmanager',
        receivedAt: new Date().toISOString(),
      };
      await ctx.client.workflow.signalWithStart(INCIDENT_WORKFLOW_TYPE, {
        taskQueue: config.temporal.taskQueue,
        workflowId,
        args: [input],
        signal: alertSignal,
        signalArgs: [notification],
      });
    });
    // All N are waiting once each has entered the approval step's phase (a search attribute).
    await until(
      `${n} incidents waiting for approval`,
      async () => (await count('AND ReboundPhase = "assess" AND ExecutionStatus = "Running"')) >= n,
      600_000,
    );
    const openSeconds = (performance.now() - opened) / 1000;
    await new Promise((r) => setTimeout(r, 1500));
    const open = worker.latest();
    const peakOpen = worker.peak();

    const drained = performance.now();
    await pool(n, CONCURRENCY, async (i) => {
      const handle = ctx.client.workflow.getHandle(ids[i] as string);
      await handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', identity: 'operator', channel: 'test', requestId: `bench-${i}` }],
      });
      await handle.signal(alertSignal, {
        alert: amAlert({ alertname: 'BenchApproval', instance: `t${i}` }, 'resolved'),
        source: 'alertmanager',
        receivedAt: new Date().toISOString(),
      });
    });
    await until(
      `${n} incidents to close`,
      async () => (await count('AND ExecutionStatus = "Running"')) === 0,
      600_000,
    );
    const drainSeconds = (performance.now() - drained) / 1000;
    await worker.stop();
    rows.push({
      n,
      openSeconds: round(openSeconds, 1),
      idleRssMiB: mib(idle.rss),
      openRssMiB: mib(open.rss),
      openHeapMiB: mib(open.heapUsed),
      peakRssMiB: mib(Math.max(peakOpen.rss, worker.peak().rss)),
      rssPerIncidentKiB: round((open.rss - idle.rss) / 1024 / n, 1),
      drainSeconds: round(drainSeconds, 1),
      drainPerSecond: round(n / drainSeconds, 0),
    });
    console.log(`  N=${n}: done`);
  }
  table(
    'Scale: N incidents waiting for approval on one worker (worker in its own process)',
    rows.map((r) => ({ ...r })),
  );
  const growth = rows.slice(1).map((r, i) => {
    const prev = rows[i] as Row;
    return {
      from: prev.n,
      to: r.n,
      incidents: round(r.n / prev.n, 1),
      rss: round((r.openRssMiB - r.idleRssMiB) / Math.max(0.1, prev.openRssMiB - prev.idleRssMiB), 1),
      drainTime: round(r.drainSeconds / prev.drainSeconds, 1),
    };
  });
  table('Growth (x) from one N to the next: incidents, worker rss above idle, drain time', growth);
  console.log(`-> ${writeResults('scale', ctx, { concurrency: CONCURRENCY, rows, growth })}`);
}
