// `npm run bench:scale-out [-- --quick] [--server cluster|dev]`: incidents per second and alert ->
// first action with 1, 2 and 4 worker processes, on the native Temporal cluster (PostgreSQL, four
// services; deploy/native/temporal-cluster.sh) and on the CLI dev server (SQLite in memory). Each
// incident's first action is an HTTP probe of a server in this process, which notes when it
// arrives. Alerts go in through a real receiver, a fixed number at a time. While each row runs,
// the CPU time of every process taking part is read from /proc, to show what bounds the curve.
// Prints tables and writes bench/results/scale-out.json. Reports only: nothing here asserts a timing.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { freePort, startDevServer } from '../src/dev-server';
import { startReceiver } from '../src/receiver';
import { ROUTE_MODULES } from '../src/receiver/routes';
import { locateTemporalCli } from '../src/temporal-cli';
import { startNativeCluster, type NativeCluster } from '../test/support/native-cluster';
import { benchConfig } from './first-action';
import { amAlert, benchRunbookDir, webhookBody } from './intake';
import { CpuWindow, processTree } from './cpu';
import {
  machine,
  percentile,
  pool,
  realWorkflowBundle,
  round,
  table,
  until,
  writeResults,
  type BenchContext,
} from './common';

const WORKER_COUNTS = [1, 2, 4];
const CONCURRENCY = 16;
/** An incident whose probe has not arrived by then is reported as lost, not waited for forever. */
const FIRST_ACTION_TIMEOUT_MS = 120_000;

function runbook(probeUrl: string): string {
  return `name: bench-scale-out
description: Scale-out benchmark; one probe, the first action, then hold until resolved.
matchers: ['alertname = "BenchScaleOut"']
target: '{{ labels.instance }}'
holdOpen: 1h
steps:
  - id: probe
    phase: detect
    type: probe.http
    with: { url: '${probeUrl}/{{ labels.instance }}', expectStatus: [200], timeoutMs: 5000 }
`;
}

interface WorkerChild {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** `rebound worker` as test/faults/worker-child.ts runs it: the same code, a prebuilt bundle. */
function startWorker(env: NodeJS.ProcessEnv): WorkerChild {
  const child = fork(path.join(__dirname, '../test/faults/worker-child.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let text = '';
  // Drained all along (a full pipe would stall the worker); only the end is kept, for errors.
  child.stderr?.on('data', (d: Buffer) => {
    text = (text + d.toString()).slice(-8000);
  });
  return {
    child,
    output: () => text,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        // An activity that ignores cancellation can hold a graceful shutdown; the bench does not wait.
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => {
          clearTimeout(kill);
          done();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Waits until every worker process polls the queue for workflow and activity tasks. */
async function pollingAll(connection: Connection, taskQueue: string, workers: WorkerChild[]): Promise<void> {
  await until(
    `${workers.length} worker(s) to poll ${taskQueue}`,
    async () => {
      for (const w of workers)
        if (w.child.exitCode !== null) throw new Error(`a worker exited ${w.child.exitCode}:\n${w.output()}`);
      for (const taskQueueType of [1, 2]) {
        // TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY (@temporalio/proto is not a direct dependency)
        const described = await connection.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: taskQueue },
          taskQueueType,
        });
        const identities = (described.pollers ?? []).map((p) => p.identity ?? '');
        for (const w of workers) if (!identities.some((id) => id.startsWith(`${w.child.pid}@`))) return false;
      }
      return true;
    },
    300_000,
  );
}

interface Server {
  name: string;
  address: string;
  /** The server's processes now: the cluster's four services and PostgreSQL, or the dev server. */
  processes(): Record<string, number[]>;
}

interface Row {
  server: string;
  workers: number;
  incidents: number;
  seconds: number;
  'incidents/s': number;
  'p50 ms': number;
  'p99 ms': number;
  /** Incidents whose first action had not come FIRST_ACTION_TIMEOUT_MS after the alert. */
  'no action': number;
}

interface CpuRow {
  server: string;
  workers: number;
  /** Average cores busy in each group over the measured window. */
  cores: Record<string, number>;
  machineBusy: number;
  machineCores: number;
}

async function measure(
  server: Server,
  workers: number,
  count: number,
  bundleFile: string,
): Promise<{ row: Row; cpu: CpuRow }> {
  const taskQueue = `bench-scale-${randomUUID().slice(0, 8)}`;
  const arrived = new Map<string, (at: number) => void>();
  const probe = http.createServer((req, res) => {
    arrived.get(decodeURIComponent((req.url ?? '').split('/').pop() ?? ''))?.(Date.now());
    res.end('ok');
  });
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const probeUrl = `http://127.0.0.1:${(probe.address() as { port: number }).port}/p`;
  const token = randomUUID();
  const config = benchConfig(server.address, taskQueue, benchRunbookDir(runbook(probeUrl)), token);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  const receiver = await startReceiver(config, client, ROUTE_MODULES);
  const env = {
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    REBOUND_TEST_WORKFLOW_BUNDLE: bundleFile,
    REBOUND_LOG_LEVEL: 'warn',
    REBOUND_BUDGET_MAX: '1000000',
    REBOUND_BREAKER_MAX_ACTIVE: '1000000',
    REBOUND_BREAKER_MAX_PERCENT: '100',
  };
  const children = Array.from({ length: workers }, () => startWorker(env));
  const post = async (instance: string): Promise<void> => {
    const response = await fetch(`${receiver.url}/v1/alerts/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: webhookBody([amAlert({ alertname: 'BenchScaleOut', instance })]),
    });
    await response.arrayBuffer();
    if (response.status !== 202) throw new Error(`receiver answered ${response.status}`);
  };
  const missing: string[] = [];
  /** The alert -> first action time, or undefined (noted in `missing`) when it never came. */
  const once = async (instance: string): Promise<number | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const acted = new Promise<number | undefined>((resolve) => {
      arrived.set(instance, resolve);
      timer = setTimeout(() => {
        missing.push(instance);
        resolve(undefined);
      }, FIRST_ACTION_TIMEOUT_MS);
    });
    const t0 = Date.now();
    try {
      await post(instance);
      const at = await acted;
      return at === undefined ? undefined : at - t0;
    } finally {
      clearTimeout(timer);
      arrived.delete(instance);
    }
  };
  /** An incident without a first action is reported with where its workflow stands, not hidden. */
  const explain = async (instances: string[], phase: string): Promise<void> => {
    for (const instance of instances.slice(0, 3)) {
      const handle = client.workflow.getHandle(`incident/bench-scale-out/${instance}`);
      const d = await handle.describe().catch((e: unknown) => ({ status: { name: String(e) } }));
      const history = await handle.fetchHistory().catch(() => undefined);
      const events = history
        ? (JSON.parse(historyToJSON(history)) as { events: Array<{ eventType: string }> }).events.map((e) =>
            e.eventType.replace('EVENT_TYPE_', ''),
          )
        : [];
      console.log(
        `  ${phase}: no first action for ${instance} in ${FIRST_ACTION_TIMEOUT_MS / 1000} s: ${d.status.name}; last events ${events.slice(-6).join(', ')}`,
      );
    }
  };
  try {
    await pollingAll(connection, taskQueue, children);
    const run = randomUUID().slice(0, 6);
    // Warm-up: every worker's caches and connections, the server's task queue partitions.
    await pool(8 * workers, CONCURRENCY, async (i) => void (await once(`warm-${run}-${i}`)));
    await explain(missing.splice(0), 'warm-up');
    const latencies: number[] = [];
    const cpu = new CpuWindow({
      'bench (receiver, load)': () => [process.pid],
      'rebound workers': () => children.flatMap((c) => (c.child.pid ? [c.child.pid] : [])),
      ...Object.fromEntries(Object.entries(server.processes()).map(([name, pids]) => [name, () => pids])),
    });
    const started = Date.now();
    await pool(count, CONCURRENCY, async (i) => {
      const latency = await once(`m-${run}-${i}`);
      if (latency !== undefined) latencies.push(latency);
    });
    const seconds = (Date.now() - started) / 1000;
    const used = cpu.finish();
    await explain(missing, 'measured');
    return {
      row: {
        server: server.name,
        workers,
        incidents: count,
        seconds: round(seconds),
        'incidents/s': round(count / seconds),
        'p50 ms': round(percentile(latencies, 50)),
        'p99 ms': round(percentile(latencies, 99)),
        'no action': missing.length,
      },
      cpu: {
        server: server.name,
        workers,
        cores: used.cores,
        machineBusy: used.machineBusy,
        machineCores: used.machineCores,
      },
    };
  } catch (error) {
    throw new Error(
      `${server.name}, ${workers} worker(s): ${error instanceof Error ? error.message : String(error)}\n${children.map((c) => c.output()).join('\n')}`,
      { cause: error },
    );
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await receiver.close();
    await connection.close();
    await new Promise((r) => probe.close(r));
  }
}

/** The cluster's processes: each Temporal service by its pid file, PostgreSQL with its backends. */
function clusterProcesses(cluster: NativeCluster): Record<string, number[]> {
  const pidFile = (file: string): number[] => {
    try {
      const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? [pid] : [];
    } catch {
      return [];
    }
  };
  const services = ['frontend', 'history', 'matching', 'worker'].flatMap((s) =>
    pidFile(path.join(cluster.dir, 'run', `${s}.pid`)),
  );
  const postmaster = pidFile(path.join(cluster.dir, 'postgresql', 'postmaster.pid'));
  return {
    'temporal services': services,
    postgresql: postmaster.flatMap((pid) => processTree(pid)),
  };
}

function parseArgs(argv: string[]): { quick: boolean; servers: Array<'cluster' | 'dev'> } {
  const quick = argv.includes('--quick');
  const at = argv.indexOf('--server');
  const wanted = at >= 0 ? argv[at + 1] : undefined;
  if (wanted !== undefined && wanted !== 'cluster' && wanted !== 'dev')
    throw new Error(`--server takes cluster or dev, not ${wanted}`);
  return { quick, servers: wanted ? [wanted] : ['cluster', 'dev'] };
}

async function main(): Promise<void> {
  const { quick, servers } = parseArgs(process.argv.slice(2));
  const count = quick ? 100 : 200;
  const m = machine();
  console.log(`Machine: ${m.cores} cores, ${m.memoryGiB} GiB memory (${m.cpu}); Node ${m.node}`);
  console.log(
    `Load average before: ${os
      .loadavg()
      .map((l) => round(l, 2))
      .join(' ')}`,
  );
  process.env.REBOUND_LOG_LEVEL ??= 'error';
  const root = path.resolve(__dirname, '..');
  const cli = await locateTemporalCli({ cacheDir: path.join(root, '.rebound'), log: (l) => console.log(l) });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rebound-scale-out-'));
  const bundleFile = path.join(tmp, 'workflows.js');
  writeFileSync(bundleFile, (await realWorkflowBundle()).code);
  const rows: Row[] = [];
  const cpuRows: CpuRow[] = [];
  const runAll = async (server: Server): Promise<void> => {
    for (const n of WORKER_COUNTS) {
      const { row, cpu } = await measure(server, n, count, bundleFile);
      console.log(`${server.name}, ${n} worker(s): ${row['incidents/s']}/s, p50 ${row['p50 ms']} ms`);
      rows.push(row);
      cpuRows.push(cpu);
    }
  };
  const startedAt = Date.now();
  try {
    if (servers.includes('cluster')) {
      const t0 = Date.now();
      const cluster = await startNativeCluster({ cli });
      console.log(`Cluster at ${cluster.address}, up in ${Math.round((Date.now() - t0) / 1000)} s`);
      try {
        await runAll({
          name: 'cluster',
          address: cluster.address,
          processes: () => clusterProcesses(cluster),
        });
      } finally {
        await cluster.stop();
      }
    }
    if (servers.includes('dev')) {
      const dev = await startDevServer({
        cli,
        port: await freePort(),
        uiPort: 0,
        retentionMs: 86_400_000,
        logFile: path.join(tmp, 'dev.log'),
      });
      try {
        await runAll({
          name: 'dev server',
          address: dev.address,
          processes: () => ({ 'temporal services': processTree(dev.pid) }),
        });
      } finally {
        await dev.stop();
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const base = (server: string): Row | undefined => rows.find((r) => r.server === server && r.workers === 1);
  table(
    `Scale-out: ${count} incidents per row, ${CONCURRENCY} alerts in flight, worker processes on this machine` +
      `\n(cluster: PostgreSQL 15 + Temporal 1.29.1 frontend, history, matching, worker; dev server: temporal server start-dev, SQLite in memory)`,
    rows.map((r) => ({
      ...r,
      'x 1 worker': round(r['incidents/s'] / (base(r.server)?.['incidents/s'] ?? NaN), 2),
    })),
  );
  const paired = WORKER_COUNTS.flatMap((n) => {
    const c = rows.find((r) => r.server === 'cluster' && r.workers === n);
    const d = rows.find((r) => r.server === 'dev server' && r.workers === n);
    return c && d
      ? [
          {
            workers: n,
            'incidents/s cluster / dev': round(c['incidents/s'] / d['incidents/s'], 2),
            'p50 cluster / dev': round(c['p50 ms'] / d['p50 ms'], 2),
            'p99 cluster / dev': round(c['p99 ms'] / d['p99 ms'], 2),
          },
        ]
      : [];
  });
  if (paired.length > 0) table('Cluster against dev server', paired);
  const groups = [...new Set(cpuRows.flatMap((r) => Object.keys(r.cores)))];
  table(
    `CPU while measuring, in cores busy on average (${m.cores} cores; "others" is everything else on the machine)`,
    cpuRows.map((r) => {
      const ours = Object.values(r.cores).reduce((a, b) => a + b, 0);
      return {
        server: r.server,
        workers: r.workers,
        ...Object.fromEntries(groups.map((g) => [g, round(r.cores[g] ?? 0, 2)])),
        'all of these': round(ours, 2),
        machine: round(r.machineBusy, 2),
        others: round(Math.max(0, r.machineBusy - ours), 2),
      };
    }),
  );
  // CPU per incident does not depend on how busy the rest of the machine was: it is the cost, and
  // cores / (sum of it) is the most this machine could do with nothing else running.
  table(
    'CPU milliseconds per incident (CPU time over the window / incidents), and the ceiling it implies',
    cpuRows.map((r) => {
      const rate = rows.find((x) => x.server === r.server && x.workers === r.workers)?.['incidents/s'] ?? NaN;
      const perIncident = Object.fromEntries(
        groups.map((g) => [g, round(((r.cores[g] ?? 0) / rate) * 1000)]),
      );
      const sum = Object.values(perIncident).reduce((a, b) => a + b, 0);
      return {
        server: r.server,
        workers: r.workers,
        ...perIncident,
        total: round(sum),
        [`${m.cores} cores / total, incidents/s`]: round((m.cores * 1000) / sum),
      };
    }),
  );
  console.log(
    `\nLoad average after: ${os
      .loadavg()
      .map((l) => round(l, 2))
      .join(' ')}`,
  );
  console.log(`Took ${Math.round((Date.now() - startedAt) / 1000)} s`);
  const ctx = { server: 'native cluster and dev server', quick } as unknown as BenchContext; // writeResults reads only these two
  console.log(
    `-> ${writeResults('scale-out', ctx, { concurrency: CONCURRENCY, count, rows, cpu: cpuRows })}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
