// `npm run bench:scale-out [-- --quick]`: incidents per second and alert -> first action with 1, 2
// and 4 worker processes, on the native Temporal cluster (PostgreSQL, four services;
// deploy/native/temporal-cluster.sh) and on the CLI dev server (SQLite in memory). Each incident's
// first action is an HTTP probe of a server in this process, which notes when it arrives. Alerts
// go in through a real receiver, a fixed number at a time. Prints a table and writes
// bench/results/scale-out.json. Reports only: nothing here asserts a timing.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort, startDevServer } from '../src/dev-server';
import { startReceiver } from '../src/receiver';
import { ROUTE_MODULES } from '../src/receiver/routes';
import { locateTemporalCli } from '../src/temporal-cli';
import { startNativeCluster } from '../test/support/native-cluster';
import { benchConfig } from './first-action';
import { amAlert, benchRunbookDir, webhookBody } from './intake';
import {
  machine,
  percentile,
  pool,
  realWorkflowBundle,
  round,
  table,
  writeResults,
  type BenchContext,
} from './common';

const WORKER_COUNTS = [1, 2, 4];
const CONCURRENCY = 16;

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
  stop(): Promise<void>;
}

/** `rebound worker` as test/faults/worker-child.ts runs it: the same code, a prebuilt bundle. */
function startWorker(env: NodeJS.ProcessEnv): Promise<WorkerChild> {
  const child = fork(path.join(__dirname, '../test/faults/worker-child.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, REBOUND_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${text}`)), 180_000);
    child.stderr?.on('data', (d: Buffer) => {
      text += d.toString();
      if (/worker polling/.test(text)) {
        clearTimeout(timer);
        resolve({
          child,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited ${code}:\n${text}`)));
  });
}

interface Row {
  server: string;
  workers: number;
  incidents: number;
  'incidents/s': number;
  'first action p50 ms': number;
  'first action p99 ms': number;
}

async function measure(
  serverName: string,
  address: string,
  workers: number,
  count: number,
  bundleFile: string,
): Promise<Row> {
  const taskQueue = `bench-scale-${randomUUID().slice(0, 8)}`;
  const arrived = new Map<string, (at: number) => void>();
  const probe = http.createServer((req, res) => {
    arrived.get(decodeURIComponent((req.url ?? '').split('/').pop() ?? ''))?.(Date.now());
    res.end('ok');
  });
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const probeUrl = `http://127.0.0.1:${(probe.address() as { port: number }).port}/p`;
  const token = randomUUID();
  const config = benchConfig(address, taskQueue, benchRunbookDir(runbook(probeUrl)), token);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const receiver = await startReceiver(config, client, ROUTE_MODULES);
  const env = {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    REBOUND_TEST_WORKFLOW_BUNDLE: bundleFile,
    REBOUND_BUDGET_MAX: '1000000',
    REBOUND_BREAKER_MAX_ACTIVE: '1000000',
    REBOUND_BREAKER_MAX_PERCENT: '100',
  };
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker(env)));
  const post = async (instance: string): Promise<void> => {
    const response = await fetch(`${receiver.url}/v1/alerts/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: webhookBody([amAlert({ alertname: 'BenchScaleOut', instance })]),
    });
    await response.arrayBuffer();
    if (response.status !== 202) throw new Error(`receiver answered ${response.status}`);
  };
  const once = async (instance: string): Promise<number> => {
    const acted = new Promise<number>((resolve) => arrived.set(instance, resolve));
    const t0 = Date.now();
    await post(instance);
    return (await acted) - t0;
  };
  try {
    const run = randomUUID().slice(0, 6);
    // Warm-up: every worker's caches and connections, the server's task queue partitions.
    await pool(8 * workers, CONCURRENCY, async (i) => void (await once(`warm-${run}-${i}`)));
    const latencies: number[] = [];
    const started = Date.now();
    await pool(count, CONCURRENCY, async (i) => void latencies.push(await once(`m-${run}-${i}`)));
    const seconds = (Date.now() - started) / 1000;
    return {
      server: serverName,
      workers,
      incidents: count,
      'incidents/s': round(count / seconds),
      'first action p50 ms': round(percentile(latencies, 50)),
      'first action p99 ms': round(percentile(latencies, 99)),
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await receiver.close();
    await connection.close();
    await new Promise((r) => probe.close(r));
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const count = quick ? 100 : 300;
  const m = machine();
  console.log(`Machine: ${m.cores} cores, ${m.memoryGiB} GiB memory (${m.cpu}); Node ${m.node}`);
  process.env.REBOUND_LOG_LEVEL ??= 'error';
  const root = path.resolve(__dirname, '..');
  const cli = await locateTemporalCli({ cacheDir: path.join(root, '.rebound'), log: (l) => console.log(l) });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rebound-scale-out-'));
  const bundleFile = path.join(tmp, 'workflows.js');
  writeFileSync(bundleFile, (await realWorkflowBundle()).code);
  const rows: Row[] = [];
  try {
    const cluster = await startNativeCluster({ cli });
    try {
      console.log(`Cluster at ${cluster.address}`);
      for (const n of WORKER_COUNTS)
        rows.push(await measure('cluster (PostgreSQL, 4 services)', cluster.address, n, count, bundleFile));
    } finally {
      await cluster.stop();
    }
    const dev = await startDevServer({
      cli,
      port: await freePort(),
      uiPort: 0,
      retentionMs: 86_400_000,
      logFile: path.join(tmp, 'dev.log'),
    });
    try {
      for (const n of WORKER_COUNTS)
        rows.push(await measure('dev server (SQLite in memory)', dev.address, n, count, bundleFile));
    } finally {
      await dev.stop();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  table(
    `Scale-out: ${count} incidents per row, ${CONCURRENCY} alerts in flight, worker processes on this machine`,
    rows.map((r) => ({ ...r })),
  );
  const ctx = { server: 'native cluster and dev server', quick } as unknown as BenchContext; // writeResults reads only these two
  console.log(`-> ${writeResults('scale-out', ctx, { concurrency: CONCURRENCY, rows })}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
