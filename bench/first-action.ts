// Alert to first action: from the webhook's POST to the moment the restart activity starts (after
// routing, signal-with-start, the interpreter's detect step and the guards: fresh check,
// switch guard, target lock, budget), beside three baselines measured in the same run: the same
// runbook hand-written as a plain Temporal workflow behind a minimal webhook handler, that handler
// restarting directly without Temporal (the floor), and an empty workflow's start to first
// activity. Then where Rebound's time goes, leg by leg, read from the incidents' histories.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { ActivityInterface } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../src/activities';
import type { StepInput } from '../src/activities/types';
import { loadConfig } from '../src/config';
import { startReceiver } from '../src/receiver';
import { ROUTE_MODULES } from '../src/receiver/routes';
import {
  bundleOf,
  percentile,
  pool,
  round,
  table,
  until,
  writeResults,
  type BenchContext,
  type Figure,
} from './common';
import { amAlert, benchRunbookDir, webhookBody } from './intake';
import { legTable, legsOf, timeline, type LegRow, type LegSpec } from './legs';
import { startMinimalReceiver } from './minimal-receiver';

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

type PathKey = 'rebound' | 'hand-written' | 'direct' | 'empty';

interface Stats {
  key: PathKey;
  path: string;
  count: number;
  p50ms: number;
  p99ms: number;
  meanMs: number;
}

const PATHS: Record<PathKey, string> = {
  rebound: 'Rebound: webhook POST -> restart activity starts (receiver, interpreter, guards)',
  'hand-written': 'hand-written: webhook POST -> restart activity starts (minimal handler, plain workflow)',
  direct: 'direct: webhook POST -> restart called (minimal handler, no Temporal)',
  empty: 'empty: workflow start -> its one activity starts (client start, empty workflow)',
};

function stats(key: PathKey, values: number[]): Stats {
  return {
    key,
    path: PATHS[key],
    count: values.length,
    p50ms: round(percentile(values, 50)),
    p99ms: round(percentile(values, 99)),
    meanMs: round(values.reduce((a, b) => a + b, 0) / values.length),
  };
}

/** The milestones of the benchmark runbook, by the activity and child workflow types of its history. */
function legSpecs(inspect: string, restart: string): LegSpec[] {
  return [
    { leg: 'detect step (inspect)', kind: 'activity', type: inspect, nth: 1, at: 'closedAt' },
    { leg: 'fresh re-check (inspect again)', kind: 'activity', type: inspect, nth: 2, at: 'closedAt' },
    {
      leg: 'switch guard (safetyAdmit: kill-switch workflow)',
      kind: 'activity',
      type: 'safetyAdmit',
      nth: 1,
      at: 'closedAt',
    },
    {
      leg: 'target lock (targetLock child started)',
      kind: 'child',
      type: 'targetLock',
      nth: 1,
      at: 'closedAt',
    },
    { leg: 'budget (budgetConsume)', kind: 'activity', type: 'budgetConsume', nth: 1, at: 'closedAt' },
    { leg: '-> restart scheduled', kind: 'activity', type: restart, nth: 1, at: 'scheduledAt' },
    { leg: 'restart scheduled -> started', kind: 'activity', type: restart, nth: 1, at: 'startedAt' },
  ];
}
const LEG_LABELS = ['webhook POST -> workflow started', ...legSpecs('', '').map((s) => s.leg)];

export async function firstActionBench(ctx: BenchContext): Promise<void> {
  const count = ctx.quick ? 60 : 200;
  const taskQueue = `bench-first-${randomUUID()}`;
  const token = randomUUID();
  const config = benchConfig(ctx.address, taskQueue, benchRunbookDir(RUNBOOK), token);
  const firstAction = new Map<string, (at: number) => void>();
  const sentAt = new Map<string, number>();
  // Stand-ins for Docker, the same for Rebound and every baseline: the container is stopped, and
  // the restart records when it started.
  const inspectStub = (_container: string) => Promise.resolve({ exists: true, running: false });
  const restartStub = (container: string) => {
    firstAction.get(container)?.(Date.now());
    return Promise.resolve({ container, restarted: true });
  };
  const activities = {
    ...createActivities(config, ctx.client),
    containerInspect: (input: StepInput<{ container: string }>) => inspectStub(input.params.container),
    containerRestart: (input: StepInput<{ container: string }>) => restartStub(input.params.container),
  } as unknown as ActivityInterface; // the stand-ins' looser types are fine for the worker
  const connection = await NativeConnection.connect({ address: ctx.address });
  const run = randomUUID().slice(0, 6);
  const measureOnce = async (instance: string, trigger: () => Promise<void>): Promise<number> => {
    const acted = new Promise<number>((resolve) => firstAction.set(instance, resolve));
    const t0 = Date.now();
    sentAt.set(instance, t0);
    await trigger();
    const at = await acted;
    firstAction.delete(instance);
    return at - t0;
  };
  const poster =
    (url: string) =>
    async (instance: string): Promise<void> => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: webhookBody([amAlert({ alertname: 'BenchRestart', instance })]),
      });
      await response.arrayBuffer();
      if (response.status !== 202) throw new Error(`receiver answered ${response.status}`);
    };
  /** Warm-up, then `count` measured triggers, CONCURRENCY at a time; instance names by prefix. */
  const series = async (prefix: string, trigger: (instance: string) => Promise<void>): Promise<number[]> => {
    for (let i = 0; i < 10; i++)
      await measureOnce(`${prefix}warm-${run}-${i}`, () => trigger(`${prefix}warm-${run}-${i}`));
    const values: number[] = [];
    await pool(count, CONCURRENCY, async (i) => {
      const instance = `${prefix}-${run}-${i}`;
      values.push(await measureOnce(instance, () => trigger(instance)));
    });
    return values;
  };
  const legsFor = async (prefix: string, workflowId: (instance: string) => string, specs: LegSpec[]) => {
    const perIncident: ReturnType<typeof legsOf>[] = [];
    await pool(count, 8, async (i) => {
      const instance = `${prefix}-${run}-${i}`;
      const history = await ctx.client.workflow.getHandle(workflowId(instance)).fetchHistory();
      perIncident.push(legsOf(sentAt.get(instance) ?? NaN, timeline(history), specs));
    });
    return legTable(LEG_LABELS, perIncident);
  };

  // Rebound: the real receiver and the real workflows.
  const receiver = await startReceiver(config, ctx.client, ROUTE_MODULES);
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: await ctx.bundle(),
    activities,
  });
  let incident: number[] = [];
  await worker.runUntil(async () => {
    incident = await series('c', poster(`${receiver.url}/v1/alerts/alertmanager`));
    // Let the incidents' last guard activities (safetyLeave) finish before the worker stops: they
    // wait on an Update of the control workflow this same worker serves, and do not heed
    // cancellation, so a shutdown with one in flight never completes.
    const ids = [
      ...Array.from({ length: 10 }, (_, i) => `cwarm-${run}-${i}`),
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
  const reboundLegs = await legsFor(
    'c',
    (i) => `incident/bench-restart/${i}`,
    legSpecs('containerInspect', 'containerRestart'),
  );

  // Hand-written: the same steps as a plain workflow, behind a minimal webhook handler; and the
  // empty workflow, started straight from the client. One worker, one bundle for both.
  const baselineQueue = `bench-baseline-${randomUUID()}`;
  const handId = (instance: string): string => `hand/BenchRestart/${instance}`;
  const handReceiver = await startMinimalReceiver(token, async (alert) => {
    const instance = alert.labels.instance ?? '';
    await ctx.client.workflow.signalWithStart('handWritten', {
      taskQueue: baselineQueue,
      workflowId: handId(instance),
      args: [instance],
      signal: 'alert',
      signalArgs: [{ status: alert.status }],
    });
  });
  const baselineWorker = await Worker.create({
    connection,
    taskQueue: baselineQueue,
    workflowBundle: await bundleOf(path.join(__dirname, 'workflows', 'index.ts')),
    activities: {
      inspect: inspectStub,
      restart: restartStub,
      firstAction: (id: string) => {
        firstAction.get(id)?.(Date.now());
        return Promise.resolve();
      },
    },
  });
  let handWritten: number[] = [];
  let baseline: number[] = [];
  await baselineWorker.runUntil(async () => {
    handWritten = await series('h', poster(handReceiver.url));
    baseline = await series('b', async (id) => {
      await ctx.client.workflow.start('baseline', { taskQueue: baselineQueue, workflowId: id, args: [id] });
    });
  });
  await handReceiver.close();
  const handLegs = await legsFor('h', handId, legSpecs('inspect', 'restart'));
  await connection.close();

  // Direct: the same handler calling the same inspect and restart itself, no Temporal.
  const directReceiver = await startMinimalReceiver(token, async (alert) => {
    const container = alert.labels.instance ?? '';
    const state = await inspectStub(container);
    if (!state.running) await restartStub(container);
  });
  const direct = await series('d', poster(directReceiver.url));
  await directReceiver.close();

  const rows = [
    stats('rebound', incident),
    stats('hand-written', handWritten),
    stats('direct', direct),
    stats('empty', baseline),
  ];
  table(
    `Alert to first action: ${count} incidents per path, ${CONCURRENCY} at a time, one in-process worker`,
    rows.map((r) => ({ ...r })),
  );
  const results = {
    concurrency: CONCURRENCY,
    count,
    rows,
    ratios: ratiosOf(rows),
    legs: reboundLegs,
    handLegs,
  };
  const r = results.ratios;
  console.log(
    `Rebound / hand-written: p50 ${r.reboundOverHandWritten.p50}x, p99 ${r.reboundOverHandWritten.p99}x (goal <= 1.2)`,
  );
  console.log(`Rebound / empty workflow: p50 ${r.reboundOverEmpty.p50}x, p99 ${r.reboundOverEmpty.p99}x`);
  console.log(
    `price of durability (hand-written - direct): p50 ${r.durabilityMs.p50} ms, p99 ${r.durabilityMs.p99} ms; Rebound - direct: p50 ${r.reboundOverDirectMs.p50} ms, p99 ${r.reboundOverDirectMs.p99} ms`,
  );
  table(
    "Where Rebound's time goes: legs from each incident's history (a leg ends at its milestone; 'in it' = scheduled -> end, the rest is workflow tasks)",
    reboundLegs.map((l, i) => ({
      leg: l.leg,
      found: l.found,
      p50ms: l.p50ms,
      p99ms: l.p99ms,
      meanMs: l.meanMs,
      share: l.share,
      inItP50ms: l.ownP50ms,
      handWrittenP50ms: handLegs[i]?.found ? (handLegs[i]?.p50ms ?? '-') : '-',
      handWrittenP99ms: handLegs[i]?.found ? (handLegs[i]?.p99ms ?? '-') : '-',
    })),
  );
  console.log(`-> ${writeResults('first-action', ctx, results, firstActionFigures(results))}`);
}

function ratiosOf(rows: Stats[]) {
  const get = (key: PathKey): Stats | undefined => rows.find((r) => r.key === key);
  const ratio = (a: PathKey, b: PathKey) => ({
    p50: round((get(a)?.p50ms ?? NaN) / (get(b)?.p50ms ?? NaN), 2),
    p99: round((get(a)?.p99ms ?? NaN) / (get(b)?.p99ms ?? NaN), 2),
  });
  const minus = (a: PathKey, b: PathKey) => ({
    p50: round((get(a)?.p50ms ?? NaN) - (get(b)?.p50ms ?? NaN)),
    p99: round((get(a)?.p99ms ?? NaN) - (get(b)?.p99ms ?? NaN)),
  });
  return {
    reboundOverHandWritten: ratio('rebound', 'hand-written'),
    reboundOverEmpty: ratio('rebound', 'empty'),
    durabilityMs: minus('hand-written', 'direct'),
    reboundOverDirectMs: minus('rebound', 'direct'),
  };
}

/** The figures of a first-action run, for --compare (also reads results written before the baselines). */
export function firstActionFigures(results: unknown): Figure[] {
  const r = results as { rows?: Array<Partial<Stats>>; legs?: LegRow[] };
  // Earlier runs had two unkeyed rows: the incident, then the empty workflow.
  const rows = (r.rows ?? []).map((row): Stats | undefined => {
    const key =
      row.key ??
      (row.path?.startsWith('webhook POST')
        ? 'rebound'
        : row.path?.startsWith('workflow start')
          ? 'empty'
          : undefined);
    return key ? ({ ...row, key } as Stats) : undefined;
  });
  const known = rows.filter((x): x is Stats => x !== undefined);
  const figures: Figure[] = [];
  for (const row of known) {
    figures.push({ figure: `${row.key}: p50`, value: row.p50ms, unit: 'ms', better: 'lower' });
    figures.push({ figure: `${row.key}: p99`, value: row.p99ms, unit: 'ms', better: 'lower' });
  }
  const ratios = ratiosOf(known);
  for (const [name, value, unit] of [
    ['Rebound / hand-written p50', ratios.reboundOverHandWritten.p50, 'x'],
    ['Rebound / hand-written p99', ratios.reboundOverHandWritten.p99, 'x'],
    ['Rebound / empty workflow p50', ratios.reboundOverEmpty.p50, 'x'],
    ['Rebound / empty workflow p99', ratios.reboundOverEmpty.p99, 'x'],
    ['durability (hand-written - direct) p50', ratios.durabilityMs.p50, 'ms'],
    ['Rebound - direct p50', ratios.reboundOverDirectMs.p50, 'ms'],
  ] as const)
    if (Number.isFinite(value)) figures.push({ figure: name, value, unit, better: 'lower' });
  for (const leg of r.legs ?? [])
    if (leg.found > 0)
      figures.push({ figure: `leg ${leg.leg}: p50`, value: leg.p50ms, unit: 'ms', better: 'lower' });
  return figures;
}
