// Shared by the fault tests: a `rebound worker` child process, and the history of an incident read
// straight from Temporal (which needs no worker, unlike a query).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { startRebound, type RunningProcess } from '../support/processes';
import { workflowBundle } from '../support/temporal';

/** The real workflow bundle in a file, built once per test process, for worker-child.ts. */
export async function workflowBundleFile(): Promise<string> {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'rebound-bundle-')), 'workflows.js');
  writeFileSync(file, (await workflowBundle()).code);
  return file;
}

/**
 * Starts a worker process (worker-child.ts: `rebound worker` with a prebuilt bundle) with this
 * environment and waits until it polls.
 */
export async function startWorkerProcess(env: NodeJS.ProcessEnv): Promise<RunningProcess> {
  const worker = startRebound([], { REBOUND_LOG_LEVEL: 'info', ...env }, undefined, [
    '--import',
    'tsx',
    path.join(__dirname, 'worker-child.ts'),
  ]);
  await worker.waitFor(/worker polling/, 90_000);
  return worker;
}

/** SIGKILLs the worker: no shutdown, no activity completion, exactly as a crashed host. */
export async function killWorker(worker: RunningProcess): Promise<void> {
  await worker.stop('SIGKILL');
}

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export async function historyEvents(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  try {
    return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  } catch {
    // Not visible yet right after the start.
    return [];
  }
}

/** Activity types scheduled so far, in order. */
export function scheduledActivities(events: HistoryEvent[]): string[] {
  return events
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((n): n is string => typeof n === 'string');
}

export function completedActivities(events: HistoryEvent[]): string[] {
  const byId = new Map<string, string>();
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) byId.set(String(e.eventId), name);
  }
  return events
    .map((e) => e.activityTaskCompletedEventAttributes?.scheduledEventId)
    .filter((id) => id !== undefined && id !== null)
    .map((id) => byId.get(String(id)) ?? '?');
}

export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The activities of a history with how each ended, for a failure message a reader can act on. */
export function activityOutcomes(events: HistoryEvent[]): string {
  const names = new Map<string, string>();
  const lines: string[] = [];
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (scheduled) names.set(String(e.eventId), scheduled);
    const failed = e.activityTaskFailedEventAttributes;
    if (failed)
      lines.push(
        `${names.get(String(failed.scheduledEventId)) ?? '?'} failed: ${failed.failure?.message ?? ''}`,
      );
    const timedOut = e.activityTaskTimedOutEventAttributes;
    if (timedOut) lines.push(`${names.get(String(timedOut.scheduledEventId)) ?? '?'} timed out`);
    const done = e.activityTaskCompletedEventAttributes;
    if (done) lines.push(`${names.get(String(done.scheduledEventId)) ?? '?'} completed`);
  }
  return lines.join('; ') || 'no activity has ended';
}
