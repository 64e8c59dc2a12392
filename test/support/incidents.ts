// Starting and driving incidents the way the receiver does (signal-with-start), for workflow tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { loadRunbooks } from '../../src/runbooks/catalog';
import { validateRunbookText } from '../../src/runbooks/validate';
import type { RunbookSnapshot } from '../../src/runbook-lang/types';
import {
  INCIDENT_WORKFLOW_TYPE,
  alertSignal,
  stateQuery,
  type AlertNotification,
  type AlertSnapshot,
  type IncidentState,
} from '../../src/workflows/contract';
import type { incident } from '../../src/workflows/incident';

export const RUNBOOKS_DIR = path.resolve(__dirname, '../../runbooks');

export function sampleRunbook(name: string): RunbookSnapshot {
  const found = loadRunbooks(RUNBOOKS_DIR).runbooks.find((r) => r.runbook.name === name);
  if (!found) throw new Error(`no sample runbook named ${name}`);
  return found;
}

/** A runbook from YAML text, validated like a file in runbooks/. */
export function runbookFromText(text: string, file = 'test.yaml'): RunbookSnapshot {
  const { problems, snapshot } = validateRunbookText(file, text);
  if (!snapshot)
    throw new Error(
      `test runbook invalid:\n${problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('\n')}`,
    );
  return snapshot;
}

export function alert(
  labels: Record<string, string>,
  status: 'firing' | 'resolved' = 'firing',
  annotations: Record<string, string> = {},
): AlertSnapshot {
  return {
    status,
    labels,
    annotations,
    startsAt: '2026-11-23T10:00:00Z',
    endsAt: status === 'resolved' ? '2026-11-23T10:05:00Z' : '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.local/graph',
    fingerprint: Object.entries(labels)
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(',')
      .slice(0, 16),
  };
}

export async function openIncident(
  client: Client,
  taskQueue: string,
  snapshot: RunbookSnapshot,
  firing: AlertSnapshot,
  options: { workflowId?: string; dryRun?: boolean; triggeredBy?: string; targetKey?: string } = {},
): Promise<WorkflowHandle<typeof incident>> {
  const workflowId =
    options.workflowId ?? `test/${snapshot.runbook.name}/${Math.random().toString(36).slice(2)}`;
  return client.workflow.signalWithStart<typeof incident, [AlertNotification]>(INCIDENT_WORKFLOW_TYPE, {
    taskQueue,
    workflowId,
    args: [
      {
        incidentId: workflowId,
        targetKey: options.targetKey ?? 'test-target',
        snapshot,
        dryRun: options.dryRun ?? false,
        safetyScope: taskQueue,
        ...(options.triggeredBy ? { triggeredBy: options.triggeredBy } : {}),
      },
    ],
    signal: alertSignal,
    signalArgs: [{ alert: firing, source: 'test', receivedAt: new Date().toISOString() }],
  });
}

export async function sendAlert(handle: WorkflowHandle, snapshot: AlertSnapshot): Promise<void> {
  await handle.signal(alertSignal, { alert: snapshot, source: 'test', receivedAt: new Date().toISOString() });
}

export async function state(handle: WorkflowHandle): Promise<IncidentState> {
  return handle.query(stateQuery);
}

/** Polls the incident's live state until the predicate holds. */
export async function waitForState(
  handle: WorkflowHandle,
  predicate: (s: IncidentState) => boolean,
  timeoutMs = 30_000,
): Promise<IncidentState> {
  const deadline = Date.now() + timeoutMs;
  let last: IncidentState | undefined;
  while (Date.now() < deadline) {
    last = await state(handle);
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`incident state never matched; last:\n${JSON.stringify(last, null, 2)}`);
}

/** Keeps the run's history under test/histories/ when REBOUND_RECORD_HISTORIES=1, for replay in CI. */
export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.REBOUND_RECORD_HISTORIES !== '1') return;
  const dir = path.resolve(__dirname, '../histories');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${name}.json`), historyToJSON(await handle.fetchHistory()) + '\n');
}
