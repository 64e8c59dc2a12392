// Scale: N incidents open at once on one worker, each waiting for an approval, then approved (the
// decide update) and resolved. Reports the worker's memory (its own process: rss and V8 heap) with
// all N waiting, and the time to drain them, for N = 100, 1,000, 5,000 and 10,000 (--quick: 100 and
// 1,000; --sizes chooses), with the worker's workflow cache size in effect (maxCachedWorkflows: past
// it, incidents are evicted and replay their history on their next event). Then what such a cache
// miss costs: the same approvals delivered to incidents a worker keeps cached and to incidents a
// worker with a tiny cache has evicted.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowUpdateRPCTimeoutOrCancelledError, type WorkflowHandle } from '@temporalio/client';
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
import {
  percentile,
  pool,
  round,
  table,
  until,
  writeResults,
  type BenchContext,
  type Figure,
} from './common';

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

/**
 * Approves an incident, asking again under the same update id when the call's deadline passes
 * before the worker has run the update (a loaded machine): the same id joins the same update.
 */
async function approve(handle: WorkflowHandle, requestId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await handle.executeUpdate(decideUpdate, {
        updateId: requestId,
        args: [{ decision: 'approve', identity: 'operator', channel: 'test', requestId }],
      });
      return;
    } catch (error) {
      if (!(error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) || attempt >= 10) throw error;
    }
  }
}
const MiB = 2 ** 20;

interface Memory {
  rss: number;
  heapUsed: number;
}

interface WorkerProcess {
  child: ChildProcess;
  /** The SDK's maxCachedWorkflows in effect in that worker. */
  maxCachedWorkflows: number | undefined;
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
  let maxCachedWorkflows: number | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`scale worker exited (${code})`)));
    child.on(
      'message',
      (m: { type: string; rss?: number; heapUsed?: number; maxCachedWorkflows?: number }) => {
        if (m.type === 'ready') {
          maxCachedWorkflows = m.maxCachedWorkflows;
          resolve();
        }
        if (m.type === 'memory' && m.rss !== undefined && m.heapUsed !== undefined) {
          latest = { rss: m.rss, heapUsed: m.heapUsed };
          peak = { rss: Math.max(peak.rss, m.rss), heapUsed: Math.max(peak.heapUsed, m.heapUsed) };
        }
      },
    );
  });
  await ready;
  return {
    child,
    maxCachedWorkflows,
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

/** How long opening or draining N incidents may take: 10 minutes, or 120 ms per incident past 5,000. */
function waitLimitMs(n: number): number {
  return Math.max(600_000, n * 120);
}

interface Row {
  n: number;
  /** The worker's workflow cache size (maxCachedWorkflows) in effect. */
  cache: number | string;
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
  const sizes = ctx.sizes ?? (ctx.quick ? [100, 1000] : [100, 1000, 5000, 10000]);
  const dir = benchRunbookDir(SCALE_RUNBOOK);
  const found = loadRunbooks(dir).runbooks.find((r) => r.runbook.name === 'bench-approval');
  if (!found) throw new Error('bench-approval runbook did not load');
  const snapshot = found;
  const bundleFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'rebound-bench-bundle-')), 'workflows.js');
  writeFileSync(bundleFile, (await ctx.bundle()).code);
  const rows: Row[] = [];
  const failed: Array<{ n: number; error: string }> = [];
  const mib = (bytes: number): number => round(bytes / MiB, 1);

  for (const n of sizes) {
    // A size that cannot finish on this machine (a timeout at 10,000 under load) is reported with
    // the sizes measured before it, not lost with them; larger sizes are not tried after it.
    try {
      rows.push(await scaleOnce(n));
    } catch (error) {
      failed.push({ n, error: (error as Error).message });
      console.log(`  N=${n}: not measured: ${(error as Error).message}`);
      break;
    }
  }

  async function scaleOnce(n: number): Promise<Row> {
    const taskQueue = `bench-scale-${n}-${randomUUID().slice(0, 8)}`;
    const config = benchConfig(ctx.address, taskQueue, dir, 'unused');
    const worker = await startWorker({
      TEMPORAL_ADDRESS: ctx.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      REBOUND_LOG_LEVEL: 'error',
      REBOUND_BENCH_WORKFLOW_BUNDLE: bundleFile,
    });
    try {
      return await measure(n, taskQueue, config, worker);
    } catch (error) {
      await worker.stop().catch(() => undefined);
      throw error;
    }
  }

  async function measure(
    n: number,
    taskQueue: string,
    config: ReturnType<typeof benchConfig>,
    worker: Awaited<ReturnType<typeof startWorker>>,
  ): Promise<Row> {
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
      waitLimitMs(n),
    );
    const openSeconds = (performance.now() - opened) / 1000;
    await new Promise((r) => setTimeout(r, 1500));
    const open = worker.latest();
    const peakOpen = worker.peak();

    const drained = performance.now();
    await pool(n, CONCURRENCY, async (i) => {
      const handle = ctx.client.workflow.getHandle(ids[i] as string);
      await approve(handle, `bench-${i}`);
      await handle.signal(alertSignal, {
        alert: amAlert({ alertname: 'BenchApproval', instance: `t${i}` }, 'resolved'),
        source: 'alertmanager',
        receivedAt: new Date().toISOString(),
      });
    });
    await until(
      `${n} incidents to close`,
      async () => (await count('AND ExecutionStatus = "Running"')) === 0,
      waitLimitMs(n),
    );
    const drainSeconds = (performance.now() - drained) / 1000;
    await worker.stop();
    const row: Row = {
      n,
      cache: worker.maxCachedWorkflows ?? '?',
      openSeconds: round(openSeconds, 1),
      idleRssMiB: mib(idle.rss),
      openRssMiB: mib(open.rss),
      openHeapMiB: mib(open.heapUsed),
      peakRssMiB: mib(Math.max(peakOpen.rss, worker.peak().rss)),
      rssPerIncidentKiB: round((open.rss - idle.rss) / 1024 / n, 1),
      drainSeconds: round(drainSeconds, 1),
      drainPerSecond: round(n / drainSeconds, 0),
    };
    console.log(`  N=${n}: done ${JSON.stringify(row)}`);
    return row;
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
  const cacheMiss = await cacheMissBench(ctx, dir, bundleFile);
  const results = { concurrency: CONCURRENCY, rows, growth, cacheMiss, failed };
  console.log(`-> ${writeResults('scale', ctx, results, scaleFigures(results))}`);
}

interface CacheMissRow {
  cache: string;
  maxCachedWorkflows: number | string;
  incidents: number;
  historyEvents: number;
  updates: number;
  p50ms: number;
  p99ms: number;
  meanMs: number;
}

/**
 * What a workflow cache miss costs: `n` incidents wait for approval, then each gets its approval
 * (the decide Update, one at a time, oldest first), once on a worker whose cache holds them all
 * and once on a worker whose cache holds CACHE_MISS_SIZE, so nearly every Update meets an evicted
 * incident that must fetch and replay its history first.
 */
const CACHE_MISS_SIZE = 10;
async function cacheMissBench(ctx: BenchContext, dir: string, bundleFile: string): Promise<CacheMissRow[]> {
  const n = ctx.quick ? 100 : 300;
  const snapshot = loadRunbooks(dir).runbooks.find((r) => r.runbook.name === 'bench-approval');
  if (!snapshot) throw new Error('bench-approval runbook did not load');
  const rows: CacheMissRow[] = [];
  for (const [label, size] of [
    ['large: holds every incident', String(Math.max(1000, n * 4))],
    [`tiny: ${CACHE_MISS_SIZE} workflows`, String(CACHE_MISS_SIZE)],
  ] as const) {
    const taskQueue = `bench-cache-${size}-${randomUUID().slice(0, 8)}`;
    const worker = await startWorker({
      TEMPORAL_ADDRESS: ctx.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      REBOUND_LOG_LEVEL: 'error',
      REBOUND_BENCH_WORKFLOW_BUNDLE: bundleFile,
      REBOUND_BENCH_MAX_CACHED_WORKFLOWS: size,
      // Loosened like benchConfig: every incident is admitted.
      REBOUND_BUDGET_MAX: '1000000',
      REBOUND_BREAKER_MAX_ACTIVE: '1000000',
      REBOUND_BREAKER_MAX_PERCENT: '100',
    });
    const ids = Array.from({ length: n }, (_, i) =>
      incidentWorkflowId('bench-approval', `cache${size}-${i}`),
    );
    await pool(n, CONCURRENCY, async (i) => {
      const workflowId = ids[i] as string;
      await ctx.client.workflow.signalWithStart(INCIDENT_WORKFLOW_TYPE, {
        taskQueue,
        workflowId,
        args: [
          {
            incidentId: workflowId,
            targetKey: `cache${size}-${i}`,
            snapshot,
            dryRun: false,
          } satisfies IncidentInput,
        ],
        signal: alertSignal,
        signalArgs: [
          {
            alert: amAlert({ alertname: 'BenchApproval', instance: `cache${size}-${i}` }),
            source: 'alertmanager',
            receivedAt: new Date().toISOString(),
          } satisfies AlertNotification,
        ],
      });
    });
    await until(
      `${n} incidents waiting for approval`,
      async () =>
        (
          await ctx.client.workflow.count(
            `TaskQueue = "${taskQueue}" AND ReboundPhase = "assess" AND ExecutionStatus = "Running"`,
          )
        ).count >= n,
      600_000,
    );
    const historyEvents = Number(
      (await ctx.client.workflow.getHandle(ids[0] as string).describe()).historyLength,
    );
    const latencies: number[] = [];
    for (const [i, id] of ids.entries()) {
      const t0 = performance.now();
      await approve(ctx.client.workflow.getHandle(id), `cache-${i}`);
      latencies.push(performance.now() - t0);
    }
    await pool(n, CONCURRENCY, async (i) => {
      await ctx.client.workflow.getHandle(ids[i] as string).signal(alertSignal, {
        alert: amAlert({ alertname: 'BenchApproval', instance: `cache${size}-${i}` }, 'resolved'),
        source: 'alertmanager',
        receivedAt: new Date().toISOString(),
      });
    });
    await until(
      `${n} incidents to close`,
      async () =>
        (await ctx.client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`))
          .count === 0,
      600_000,
    );
    await worker.stop();
    rows.push({
      cache: label,
      maxCachedWorkflows: worker.maxCachedWorkflows ?? '?',
      incidents: n,
      historyEvents,
      updates: latencies.length,
      p50ms: round(percentile(latencies, 50)),
      p99ms: round(percentile(latencies, 99)),
      meanMs: round(latencies.reduce((a, b) => a + b, 0) / latencies.length),
    });
  }
  table(
    'Cache miss: approval Update latency, one at a time, oldest incident first (a miss replays the history first)',
    rows.map((r) => ({ ...r })),
  );
  const [hit, miss] = rows;
  if (hit && miss)
    console.log(
      `cache miss costs about ${round(miss.p50ms - hit.p50ms)} ms at p50 (${round(miss.p50ms / hit.p50ms, 2)}x) for a ${miss.historyEvents}-event history`,
    );
  return rows;
}

/** The figures of a scale run, for --compare (also reads results written before they were saved). */
export function scaleFigures(results: unknown): Figure[] {
  const r = results as { rows?: Row[]; cacheMiss?: CacheMissRow[] };
  const figures: Figure[] = [];
  for (const row of r.rows ?? []) {
    figures.push({ figure: `N=${row.n}: open rss`, value: row.openRssMiB, unit: 'MiB', better: 'lower' });
    figures.push({ figure: `N=${row.n}: peak rss`, value: row.peakRssMiB, unit: 'MiB', better: 'lower' });
    figures.push({ figure: `N=${row.n}: drain`, value: row.drainSeconds, unit: 's', better: 'lower' });
  }
  for (const row of r.cacheMiss ?? []) {
    const name = row.cache.startsWith('tiny') ? 'evicted' : 'cached';
    figures.push({
      figure: `approval Update to a ${name} incident: p50`,
      value: row.p50ms,
      unit: 'ms',
      better: 'lower',
    });
    figures.push({
      figure: `approval Update to a ${name} incident: p99`,
      value: row.p99ms,
      unit: 'ms',
      better: 'lower',
    });
  }
  return figures;
}
