// Shared setup of the intake tests: a runbook directory, a receiver configured like `rebound serve`,
// and a real Alertmanager (Debian's prometheus-alertmanager) pointed at it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { loadConfig, type Config } from '../../src/config';
import { freePort } from '../../src/dev-server';
import { startReceiver, type Receiver } from '../../src/receiver';
import { ROUTE_MODULES } from '../../src/receiver/routes';

export const RUNBOOK = 'intake-test';

/** A runbook directory whose one runbook takes IntakeTest alerts, one incident per instance, open until resolved. */
export function runbookDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-intake-runbooks-'));
  writeFileSync(
    path.join(dir, '10-intake.yaml'),
    `name: ${RUNBOOK}
description: Intake test runbook; its one short step done, the incident holds open until the alert resolves.
matchers:
  - alertname = "IntakeTest"
target: "{{ labels.instance }}"
holdOpen: 1h
steps:
  - id: settle
    phase: detect
    type: sleep
    with: { duration: 1s }
`,
  );
  return dir;
}

export function intakeConfig(env: Record<string, string>): Config {
  return loadConfig({ env: { REBOUND_PORT: '0', REBOUND_LOG_LEVEL: 'warn', ...env } });
}

export async function startIntake(
  config: Config,
  client: Client,
  temporalTimeoutMs?: number,
): Promise<Receiver> {
  return startReceiver(config, client, ROUTE_MODULES, temporalTimeoutMs ? { temporalTimeoutMs } : {});
}

/** The value of one sample in Prometheus text format, 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`,
  );
}

/** How many executions (open or closed) the workflow id has had. */
export async function executionCount(client: Client, workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = ${JSON.stringify(workflowId)}` })) n++;
  return n;
}

/** Decoded JSON payloads of the workflow's signals, in order. */
export async function signalsOf(handle: WorkflowHandle): Promise<unknown[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .filter((e: temporal.api.history.v1.IHistoryEvent) => e.workflowExecutionSignaledEventAttributes)
    .map((e: temporal.api.history.v1.IHistoryEvent) => {
      const data = e.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
      return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as unknown) : undefined;
    });
}

export interface Alertmanager {
  url: string;
  output(): string;
  /** Posts alerts through Alertmanager's v2 API, as Prometheus would. */
  post(
    alerts: Array<{ labels: Record<string, string>; annotations?: Record<string, string>; endsAt?: string }>,
  ): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a real, non-clustered Alertmanager on loopback whose only receiver is the given webhook. */
export async function startAlertmanager(options: {
  webhookUrl: string;
  token: string;
  groupInterval?: string;
  repeatInterval?: string;
}): Promise<Alertmanager> {
  const probe = spawnSync('prometheus-alertmanager', ['--version'], { encoding: 'utf8' });
  if (probe.error)
    throw new Error(
      `Alertmanager is not installed (prometheus-alertmanager: ${probe.error.message}); install it with \`apt-get install prometheus-alertmanager\` (scripts/install.sh does).`,
    );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-alertmanager-'));
  mkdirSync(path.join(dir, 'data'));
  const config = path.join(dir, 'alertmanager.yml');
  writeFileSync(
    config,
    JSON.stringify({
      route: {
        receiver: 'rebound',
        group_by: ['alertname'],
        group_wait: '1s',
        group_interval: options.groupInterval ?? '2s',
        repeat_interval: options.repeatInterval ?? '4s',
      },
      receivers: [
        {
          name: 'rebound',
          webhook_configs: [
            {
              url: options.webhookUrl,
              send_resolved: true,
              max_alerts: 50,
              http_config: { authorization: { type: 'Bearer', credentials: options.token } },
            },
          ],
        },
      ],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus-alertmanager',
    [
      `--config.file=${config}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=debug',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitUntil('Alertmanager to be ready', async () => {
      if (child.exitCode !== null) throw new Error(`Alertmanager exited: ${text}`);
      return (await fetch(`${url}/-/ready`)).ok;
    });
  } catch (error) {
    await stop();
    throw new Error(`Alertmanager did not start: ${(error as Error).message}\n${text}`, { cause: error });
  }
  return {
    url,
    output: () => text,
    stop,
    post: async (alerts) => {
      const response = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          alerts.map((a) => ({ generatorURL: 'http://prometheus.test/graph', annotations: {}, ...a })),
        ),
      });
      if (!response.ok)
        throw new Error(`Alertmanager refused the alerts: ${response.status} ${await response.text()}`);
    },
  };
}

/** An Alertmanager v4 webhook body with one firing IntakeTest alert for instance. */
export function webhookBody(
  instance: string,
  options: { receiver?: string; fingerprint?: string } = {},
): string {
  return JSON.stringify({
    version: '4',
    receiver: options.receiver ?? 'intake-test',
    status: 'firing',
    groupKey: 'g',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: '',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'IntakeTest', instance },
        annotations: {},
        startsAt: new Date().toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: options.fingerprint ?? instance,
      },
    ],
  });
}
