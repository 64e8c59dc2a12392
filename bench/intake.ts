// Intake throughput and latency: alerts per second through the real HTTP receiver (auth, schema,
// routing, signal-with-start), against the same number of bare signalWithStart calls from a Temporal
// client with the same input. Nobody polls the task queue, so this measures the hand-off alone. The
// webhooks come from a sender process of their own (intake-sender.ts), as Alertmanager's do; the
// repeated-target run is also shown with the sender inside the benchmark's process, as it was.
// Each run also reports the CPU each process spent per alert (from /proc): on a shared machine a
// short run's rate is mostly noise, its CPU per alert much less so.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { startReceiver } from '../src/receiver';
import { ROUTE_MODULES } from '../src/receiver/routes';
import { loadRunbooks } from '../src/runbooks/catalog';
import {
  INCIDENT_WORKFLOW_TYPE,
  alertSignal,
  incidentWorkflowId,
  type AlertNotification,
  type AlertSnapshot,
  type IncidentInput,
} from '../src/workflows/contract';
import { percentile, pool, round, table, writeResults, type BenchContext, type Figure } from './common';
import { CpuWindow, processTree } from './cpu';
import type { SendRequest, SendResult } from './intake-sender';

const CONCURRENCY = 32;

export function benchRunbookDir(extraYaml = ''): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-bench-runbooks-'));
  writeFileSync(
    path.join(dir, '10-bench.yaml'),
    `name: bench-intake
description: Intake benchmark runbook; one short step, then it holds until resolved.
matchers: ['alertname = "BenchIntake"']
target: '{{ labels.instance }}'
holdOpen: 1h
steps:
  - id: settle
    phase: detect
    type: sleep
    with: { duration: 1s }
`,
  );
  if (extraYaml) writeFileSync(path.join(dir, '20-extra.yaml'), extraYaml);
  return dir;
}

export function amAlert(
  labels: Record<string, string>,
  status: 'firing' | 'resolved' = 'firing',
): AlertSnapshot {
  return {
    status,
    labels,
    annotations: { summary: `${labels.instance ?? ''} is down` },
    startsAt: new Date().toISOString(),
    endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : new Date().toISOString(),
    generatorURL: 'http://prometheus.bench/graph',
    fingerprint: randomUUID().slice(0, 16),
  };
}

export function webhookBody(alerts: AlertSnapshot[]): string {
  return JSON.stringify({
    version: '4',
    receiver: 'rebound',
    status: alerts[0]?.status ?? 'firing',
    groupKey: '{}:{alertname="BenchIntake"}',
    truncatedAlerts: 0,
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.bench',
    alerts,
  });
}

interface Run {
  scenario: string;
  path: 'receiver' | 'bare signalWithStart' | 'receiver, sender in the bench process';
  count: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  /** CPU milliseconds per alert: this process (receiver or bare client), the sender, the server. */
  cpuMsBench?: number;
  cpuMsSender?: number;
  cpuMsServer?: number;
}

/** The Temporal dev server this process started (the bench's), found by its command line. */
function serverPids(): number[] {
  const isServer = (pid: number): boolean => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start-dev');
    } catch {
      return false;
    }
  };
  return processTree(process.pid).filter(isServer).flatMap(processTree);
}

/** Runs one measurement and adds the CPU per alert each process spent while it ran. */
async function withCpu(senderPid: number | undefined, measured: () => Promise<Run>): Promise<Run> {
  const servers = serverPids();
  const window = new CpuWindow({
    bench: () => [process.pid],
    sender: () => (senderPid === undefined ? [] : [senderPid]),
    server: () => servers,
  });
  const run = await measured();
  const { seconds, cores } = window.finish();
  const perAlert = (group: string): number => round(((cores[group] ?? 0) * seconds * 1000) / run.count, 2);
  return {
    ...run,
    cpuMsBench: perAlert('bench'),
    cpuMsSender: perAlert('sender'),
    cpuMsServer: perAlert('server'),
  };
}

function runOf(
  scenario: string,
  kind: Run['path'],
  count: number,
  seconds: number,
  latencies: number[],
  errors: number,
): Run {
  return {
    scenario,
    path: kind,
    count,
    seconds: round(seconds, 2),
    perSecond: round(count / seconds, 0),
    p50ms: round(percentile(latencies, 50)),
    p99ms: round(percentile(latencies, 99)),
    errors,
  };
}

/** The sender process: posts webhooks on request (see intake-sender.ts). */
async function startSender(): Promise<{
  pid: number | undefined;
  send(request: Omit<SendRequest, 'type' | 'id'>): Promise<SendResult>;
  stop(): void;
}> {
  const child = fork(path.join(__dirname, 'intake-sender.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, (result: SendResult) => void>();
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`intake sender exited (${code})`)));
    child.on('message', (m: { type: 'ready' } | SendResult) => {
      if (m.type === 'ready') resolve();
      if (m.type === 'sent') waiting.get(m.id)?.(m);
    });
  });
  let next = 0;
  return {
    pid: child.pid,
    send: (request) =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        child.send({ type: 'send', id, ...request } satisfies SendRequest);
      }),
    stop: () => void child.send('stop'),
  };
}

async function measure(
  scenario: string,
  kind: Run['path'],
  count: number,
  call: (i: number) => Promise<boolean>,
): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  await pool(count, CONCURRENCY, async (i) => {
    const t0 = performance.now();
    const ok = await call(i).catch(() => false);
    latencies.push(performance.now() - t0);
    if (!ok) errors++;
  });
  return runOf(scenario, kind, count, (performance.now() - started) / 1000, latencies, errors);
}

export async function intakeBench(ctx: BenchContext): Promise<void> {
  const count = ctx.quick ? 500 : 2000;
  const taskQueue = `bench-intake-${randomUUID()}`;
  const token = randomUUID();
  const dir = benchRunbookDir();
  const config = loadConfig({
    env: {
      TEMPORAL_ADDRESS: ctx.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      REBOUND_WEBHOOK_TOKEN: token,
      REBOUND_RUNBOOKS: dir,
      REBOUND_PORT: '0',
      REBOUND_LOG_LEVEL: 'error',
    },
  });
  const receiver = await startReceiver(config, ctx.client, ROUTE_MODULES);
  const snapshot = loadRunbooks(dir).runbooks[0];
  if (!snapshot) throw new Error('bench runbook did not load');
  const url = `${receiver.url}/v1/alerts/alertmanager`;
  const post = async (instance: string): Promise<boolean> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: webhookBody([amAlert({ alertname: 'BenchIntake', instance })]),
    });
    await response.arrayBuffer();
    return response.status === 202;
  };
  // The same input and signal the receiver sends, through the SDK's own signalWithStart.
  const bare = async (instance: string): Promise<boolean> => {
    const workflowId = incidentWorkflowId('bench-intake', instance);
    const input: IncidentInput = { incidentId: workflowId, targetKey: instance, snapshot, dryRun: false };
    const notification: AlertNotification = {
      alert: amAlert({ alertname: 'BenchIntake', instance }),
      source: 'bench',
      receivedAt: new Date().toISOString(),
    };
    await ctx.client.workflow.signalWithStart(INCIDENT_WORKFLOW_TYPE, {
      taskQueue,
      workflowId,
      args: [input],
      signal: alertSignal,
      signalArgs: [notification],
    });
    return true;
  };
  const run = randomUUID().slice(0, 6);
  const sender = await startSender();
  const viaSender = async (scenario: string, prefix: string, distinct: boolean): Promise<Run> => {
    const sent = await sender.send({ url, token, count, concurrency: CONCURRENCY, prefix, distinct });
    return runOf(scenario, 'receiver', count, sent.seconds, sent.latencies, sent.errors);
  };
  const runs: Run[] = [];
  try {
    // Warm-up: connections, JIT, the server's caches.
    await sender.send({
      url,
      token,
      count: 100,
      concurrency: CONCURRENCY,
      prefix: `warm-${run}`,
      distinct: true,
    });
    await pool(100, CONCURRENCY, async (i) => void (await post(`warmf-${run}-${i}`)));
    await pool(100, CONCURRENCY, async (i) => void (await bare(`warmb-${run}-${i}`)));

    const cpu = (measured: () => Promise<Run>): Promise<Run> => withCpu(sender.pid, measured);
    runs.push(await cpu(() => viaSender('distinct targets', `r-${run}`, true)));
    runs.push(
      await cpu(() =>
        measure('distinct targets', 'bare signalWithStart', count, (i) => bare(`b-${run}-${i}`)),
      ),
    );
    runs.push(await cpu(() => viaSender('one target repeated', `rone-${run}`, false)));
    runs.push(
      await cpu(() =>
        measure('one target repeated', 'bare signalWithStart', count, () => bare(`bone-${run}`)),
      ),
    );
    runs.push(
      await cpu(() =>
        measure('one target repeated', 'receiver, sender in the bench process', count, () =>
          post(`rfetch-${run}`),
        ),
      ),
    );
  } finally {
    sender.stop();
    await receiver.close();
  }

  const ratio = (scenario: string): number => {
    const r = runs.find((x) => x.scenario === scenario && x.path === 'receiver');
    const b = runs.find((x) => x.scenario === scenario && x.path === 'bare signalWithStart');
    return r && b ? round(r.perSecond / b.perSecond, 2) : NaN;
  };
  table(
    `Intake: ${count} alerts per run, ${CONCURRENCY} in flight, one alert per webhook`,
    runs.map((r) => ({ ...r })),
  );
  const ratios = {
    distinctTargets: ratio('distinct targets'),
    oneTargetRepeated: ratio('one target repeated'),
  };
  console.log(
    `receiver / bare throughput: distinct targets ${ratios.distinctTargets}, one target repeated ${ratios.oneTargetRepeated}`,
  );
  const results = { concurrency: CONCURRENCY, runs, ratios };
  console.log(`-> ${writeResults('intake', ctx, results, intakeFigures(results))}`);
}

/** The figures of an intake run, for --compare (also reads results written before figures were). */
export function intakeFigures(results: unknown): Figure[] {
  const r = results as { runs?: Run[]; ratios?: Record<string, number> };
  const figures: Figure[] = [];
  for (const run of r.runs ?? []) {
    const name = `${run.scenario}, ${run.path}`;
    figures.push({ figure: `${name}: alerts/s`, value: run.perSecond, unit: '/s', better: 'higher' });
    figures.push({ figure: `${name}: p50`, value: run.p50ms, unit: 'ms', better: 'lower' });
    figures.push({ figure: `${name}: p99`, value: run.p99ms, unit: 'ms', better: 'lower' });
    if (run.cpuMsBench !== undefined)
      figures.push({
        figure: `${name}: CPU per alert, all processes`,
        value: round(run.cpuMsBench + (run.cpuMsSender ?? 0) + (run.cpuMsServer ?? 0), 2),
        unit: 'ms',
        better: 'lower',
      });
  }
  for (const [key, label] of [
    ['distinctTargets', 'distinct targets'],
    ['oneTargetRepeated', 'one target repeated'],
  ] as const) {
    const value = r.ratios?.[key];
    if (value !== undefined)
      figures.push({ figure: `${label}: receiver / bare throughput`, value, unit: 'x', better: 'higher' });
  }
  return figures;
}
