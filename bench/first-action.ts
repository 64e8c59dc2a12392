// Alert to first action: from the webhook's POST to the moment the restart activity starts (after
// routing, signal-with-start, the interpreter's detect step and the safety guards: fresh check,
// admission, target lock, budget), against an empty workflow's start-to-first-activity time.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { ActivityInterface } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../src/activities';
import type { StepInput } from '../src/activities/types';
import { loadConfig } from '../src/config';
import { startReceiver } from '../src/receiver';
import { ROUTE_MODULES } from '../src/receiver/routes';
import { bundleOf, percentile, pool, round, table, until, writeResults, type BenchContext } from './common';
import { amAlert, benchRunbookDir, webhookBody } from './intake';

const RUNBOOK = `name: bench-restart
description: First-action benchmark; restarts a (stand-in) stopped container.
matchers: ['alertname = "BenchRestart"']
target: '{{ labels.instance }}'
holdOpen: 1h
steps:
  - id: inspect
    phase: detect
    type: container.inspect
    with: { container: '{{ labels.instance }}' }
  - id: restart
    phase: remediate
    type: container.restart
    when: '!steps.inspect.output.running'
    with: { container: '{{ labels.instance }}' }
`;

const CONCURRENCY = 4;

/** Every Rebound setting the guards read, loosened so a benchmark measures speed, not refusals. */
export function benchConfig(address: string, taskQueue: string, runbooksDir: string, token: string) {
  return loadConfig({
    env: {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      REBOUND_WEBHOOK_TOKEN: token,
      REBOUND_RUNBOOKS: runbooksDir,
      REBOUND_PORT: '0',
      REBOUND_LOG_LEVEL: 'error',
      REBOUND_BUDGET_MAX: '1000000',
      REBOUND_BREAKER_MAX_ACTIVE: '1000000',
      REBOUND_BREAKER_MAX_PERCENT: '100',
    },
  });
}

interface Stats {
  path: string;
  count: number;
  p50ms: number;
  p99ms: number;
  meanMs: number;
}

function stats(name: string, values: number[]): Stats {
  return {
    path: name,
    count: values.length,
    p50ms: round(percentile(values, 50)),
    p99ms: round(percentile(values, 99)),
    meanMs: round(values.reduce((a, b) => a + b, 0) / values.length),
  };
}

export async function firstActionBench(ctx: BenchContext): Promise<void> {
  const count = ctx.quick ? 60 : 200;
  const taskQueue = `bench-first-${randomUUID()}`;
  const token = randomUUID();
  const config = benchConfig(ctx.address, taskQueue, benchRunbookDir(RUNBOOK), token);
  const receiver = await startReceiver(config, ctx.client, ROUTE_MODULES);
  const url = `${receiver.url}/v1/alerts/alertmanager`;
  const firstAction = new Map<string, (at: number) => void>();
  const real = createActivities(config, ctx.client);
  const activities = {
    ...real,
    // Stand-ins for Docker: the container is stopped, and the restart records when it started.
    containerInspect: () => Promise.resolve({ exists: true, running: false }),
    containerRestart: (input: StepInput<{ container: string }>) => {
      firstAction.get(input.params.container)?.(Date.now());
      return Promise.resolve({ container: input.params.container, restarted: true });
    },
  } as unknown as ActivityInterface; // the stand-ins' looser types are fine for the worker
  const connection = await NativeConnection.connect({ address: ctx.address });
  const run = randomUUID().slice(0, 6);
  const measureOnce = async (instance: string, trigger: () => Promise<void>): Promise<number> => {
    const acted = new Promise<number>((resolve) => firstAction.set(instance, resolve));
    const t0 = Date.now();
    await trigger();
    const at = await acted;
    firstAction.delete(instance);
    return at - t0;
  };
  const postAlert = async (instance: string): Promise<void> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: webhookBody([amAlert({ alertname: 'BenchRestart', instance })]),
    });
    await response.arrayBuffer();
    if (response.status !== 202) throw new Error(`receiver answered ${response.status}`);
  };

  const incident: number[] = [];
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: await ctx.bundle(),
    activities,
  });
  await worker.runUntil(async () => {
    for (let i = 0; i < 10; i++) await measureOnce(`warm-${run}-${i}`, () => postAlert(`warm-${run}-${i}`));
    await pool(count, CONCURRENCY, async (i) => {
      const instance = `c-${run}-${i}`;
      incident.push(await measureOnce(instance, () => postAlert(instance)));
    });
    // Let the incidents' last safety activities (safetyLeave) finish before the worker stops: they
    // wait on an Update of the control workflow this same worker serves, and do not heed
    // cancellation, so a shutdown with one in flight never completes.
    const ids = [
      ...Array.from({ length: 10 }, (_, i) => `warm-${run}-${i}`),
      ...Array.from({ length: count }, (_, i) => `c-${run}-${i}`),
    ];
    await until(
      'the incidents to settle',
      async () => {
        for (const instance of ids) {
          const d = await ctx.client.workflow.getHandle(`incident/bench-restart/${instance}`).describe();
          if ((d.raw.pendingActivities?.length ?? 0) > 0) return false;
        }
        return true;
      },
      120_000,
    );
  });
  await receiver.close();

  const baseline: number[] = [];
  const baselineQueue = `bench-baseline-${randomUUID()}`;
  const baselineWorker = await Worker.create({
    connection,
    taskQueue: baselineQueue,
    workflowBundle: await bundleOf(path.join(__dirname, 'workflows', 'baseline.ts')),
    activities: {
      firstAction: (id: string) => {
        firstAction.get(id)?.(Date.now());
        return Promise.resolve();
      },
    },
  });
  await baselineWorker.runUntil(async () => {
    const start = async (id: string): Promise<void> => {
      await ctx.client.workflow.start('baseline', { taskQueue: baselineQueue, workflowId: id, args: [id] });
    };
    for (let i = 0; i < 10; i++) await measureOnce(`bwarm-${run}-${i}`, () => start(`bwarm-${run}-${i}`));
    await pool(count, CONCURRENCY, async (i) => {
      const id = `b-${run}-${i}`;
      baseline.push(await measureOnce(id, () => start(id)));
    });
  });
  await connection.close();

  const rows = [
    stats('webhook POST -> restart activity starts (real receiver, interpreter, guards)', incident),
    stats('workflow start -> its one activity starts (empty baseline workflow)', baseline),
  ];
  table(
    `Alert to first action: ${count} incidents, ${CONCURRENCY} at a time, one in-process worker`,
    rows.map((r) => ({ ...r })),
  );
  const ratios = {
    p50: round((rows[0]?.p50ms ?? NaN) / (rows[1]?.p50ms ?? NaN), 2),
    p99: round((rows[0]?.p99ms ?? NaN) / (rows[1]?.p99ms ?? NaN), 2),
  };
  console.log(`incident / baseline: p50 ${ratios.p50}x, p99 ${ratios.p99}x`);
  console.log(`-> ${writeResults('first-action', ctx, { concurrency: CONCURRENCY, rows, ratios })}`);
}
