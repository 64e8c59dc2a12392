// Console: the server time of the console's pages with N incidents (5,000; --quick: 1,000). The list
// reads only Temporal visibility, so most of them are visibility records: incident executions
// started with their search attributes (status, runbook, target, alert) on a task queue no worker
// polls, then terminated, so they cost the server what closed incidents cost. REAL of them are real
// incidents on a worker, waiting for an approval as in the scale benchmark; the approvals page asks
// each of those for its state. Times the incidents list (first page with the counts by status, the
// next page by token, filters), one incident's page, the approvals page and the live-update poll.
// Each figure is the time from request to the last byte over loopback, against a receiver in this
// process; the header's approval count is warmed first, as it is while anyone watches.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { incidentsFingerprint } from '../src/console/live';
import { createOneTimeLogin } from '../src/console/session';
import { startReceiver } from '../src/receiver';
import { ROUTE_MODULES } from '../src/receiver/routes';
import { loadRunbooks } from '../src/runbooks/catalog';
import { SA_ALERTNAME, SA_PHASE, SA_RUNBOOK, SA_STATUS, SA_TARGET } from '../src/workflows/search-attributes';
import {
  INCIDENT_WORKFLOW_TYPE,
  alertSignal,
  incidentWorkflowId,
  type AlertNotification,
  type IncidentInput,
} from '../src/workflows/contract';
import { benchConfig } from './first-action';
import { amAlert, benchRunbookDir } from './intake';
import { CONCURRENCY, SCALE_RUNBOOK, startWorker } from './scale';
import { percentile, pool, round, table, until, writeResults, type BenchContext } from './common';

const SAMPLES = 15;
const REAL = 50;
const STATUSES = ['resolved', 'resolved', 'resolved', 'failed', 'escalated'] as const;

interface Row {
  page: string;
  samples: number;
  firstMs: number;
  p50ms: number;
  p90ms: number;
  bytes: number;
}

export async function consoleBench(ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 1000 : 5000;
  const dir = benchRunbookDir(SCALE_RUNBOOK);
  const snapshot = loadRunbooks(dir).runbooks.find((r) => r.runbook.name === 'bench-approval');
  if (!snapshot) throw new Error('bench-approval runbook did not load');
  const bundleFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'rebound-bench-bundle-')), 'workflows.js');
  writeFileSync(bundleFile, (await ctx.bundle()).code);
  const taskQueue = `bench-console-${randomUUID().slice(0, 8)}`;
  const config = benchConfig(ctx.address, taskQueue, dir, 'unused');
  config.console.roles = { operator: 'operator' };
  const worker = await startWorker({
    TEMPORAL_ADDRESS: ctx.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    REBOUND_LOG_LEVEL: 'error',
    REBOUND_BENCH_WORKFLOW_BUNDLE: bundleFile,
  });
  const receiver = await startReceiver(config, ctx.client, ROUTE_MODULES, { port: 0 });
  try {
    const recordsQueue = `${taskQueue}-records`;
    const records = n - REAL;
    await pool(records, CONCURRENCY, async (i) => {
      const workflowId = incidentWorkflowId('bench-records', `r${i}`);
      const handle = await ctx.client.workflow.start(INCIDENT_WORKFLOW_TYPE, {
        taskQueue: recordsQueue,
        workflowId,
        args: [],
        typedSearchAttributes: [
          { key: SA_RUNBOOK, value: 'bench-records' },
          { key: SA_TARGET, value: `r${i}` },
          { key: SA_ALERTNAME, value: 'BenchRecord' },
          { key: SA_STATUS, value: STATUSES[i % STATUSES.length] as string },
          { key: SA_PHASE, value: 'done' },
        ],
      });
      await handle.terminate('bench: a visibility record only');
    });
    console.log(`  ${records} incident records in visibility`);
    const ids = Array.from({ length: REAL }, (_, i) => incidentWorkflowId('bench-approval', `c${i}`));
    await pool(REAL, CONCURRENCY, async (i) => {
      const workflowId = ids[i] as string;
      const input: IncidentInput = { incidentId: workflowId, targetKey: `c${i}`, snapshot, dryRun: false };
      const notification: AlertNotification = {
        alert: amAlert({ alertname: 'BenchApproval', instance: `c${i}` }),
        source: 'alertmanager',
        receivedAt: new Date().toISOString(),
      };
      await ctx.client.workflow.signalWithStart(INCIDENT_WORKFLOW_TYPE, {
        taskQueue,
        workflowId,
        args: [input],
        signal: alertSignal,
        signalArgs: [notification],
      });
    });
    await until(
      `${REAL} incidents waiting for approval and ${n} in visibility`,
      async () =>
        (
          await ctx.client.workflow.count(
            `TaskQueue = "${taskQueue}" AND ReboundPhase = "assess" AND ExecutionStatus = "Running"`,
          )
        ).count >= REAL && (await ctx.client.workflow.count(`WorkflowType = 'incident'`)).count >= n,
      900_000,
    );
    console.log(`  ${n} incidents in visibility, ${REAL} of them open and waiting for approval`);

    const login = await fetch(`${receiver.url}/login/once/${createOneTimeLogin('operator')}`, {
      redirect: 'manual',
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const get = async (pathAndQuery: string): Promise<{ ms: number; text: string }> => {
      const started = performance.now();
      const response = await fetch(`${receiver.url}${pathAndQuery}`, { headers: { cookie } });
      const text = await response.text();
      if (response.status !== 200)
        throw new Error(`${pathAndQuery}: HTTP ${response.status}: ${text.slice(0, 300)}`);
      return { ms: performance.now() - started, text };
    };
    const measure = async (page: string, pathAndQuery: string, samples = SAMPLES): Promise<string> => {
      const times: number[] = [];
      let text = '';
      for (let i = 0; i < samples; i++) ({ ms: times[i], text } = await get(pathAndQuery));
      const first = times[0] ?? 0;
      const warm = times.length > 1 ? times.slice(1) : times;
      rows.push({
        page,
        samples,
        firstMs: round(first, 1),
        p50ms: round(percentile(warm, 50), 1),
        p90ms: round(percentile(warm, 90), 1),
        bytes: text.length,
      });
      return text;
    };
    const rows: Row[] = [];
    // The approvals page first: it also fills the header's count, as a watched console keeps it.
    await measure(`/approvals (${REAL} open incidents asked for their state)`, '/approvals', 3);
    const list = await measure('/incidents (first 50, counts by status)', '/incidents');
    const next = /href="\/incidents\?page=([^"]+)"/.exec(list)?.[1];
    if (next) await measure('/incidents, next page by token', `/incidents?page=${next}`);
    await measure(
      '/incidents?status=open&runbook=…&since=1h',
      '/incidents?status=open&runbook=bench-approval&since=1h',
    );
    await measure('/incidents?target=c42 (one match)', '/incidents?target=c42');
    await measure(
      '/incidents/<id> (live state, history, audit)',
      `/incidents/${encodeURIComponent(ids[42] as string)}`,
    );
    const polls: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const started = performance.now();
      await incidentsFingerprint(ctx.client);
      polls.push(performance.now() - started);
    }
    rows.push({
      page: 'live-update poll (once per interval, shared)',
      samples: SAMPLES,
      firstMs: round(polls[0] ?? 0, 1),
      p50ms: round(percentile(polls.slice(1), 50), 1),
      p90ms: round(percentile(polls.slice(1), 90), 1),
      bytes: 0,
    });
    table(
      `Console with ${n} incidents (${REAL} open): time to the last byte (ms)`,
      rows.map((r) => ({ ...r })),
    );
    console.log(`-> ${writeResults('console', ctx, { incidents: n, open: REAL, rows })}`);
  } finally {
    await receiver.close();
    // The incidents are left to the throw-away server.
    await worker.stop();
  }
}
