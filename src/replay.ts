// Replays recorded incident histories against the current workflow code: the check a team runs in
// CI before deploying runbook or interpreter changes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { workflowSource } from './runbooks/code-bundle';
import { workflowBundle as cachedWorkflowBundle } from './workflow-bundle';

type History = temporal.api.history.v1.IHistory;

export interface ReplaySource {
  /** File path or workflow id, as given. */
  name: string;
  workflowId: string;
  history: History;
}

export interface ReplayOutcome {
  name: string;
  workflowId: string;
  events: number;
  ok: boolean;
  /** What diverged (the SDK's message), and the first event the current code disagrees with. */
  error?: string;
  divergingEventId?: number;
  divergingEvent?: string;
  ms: number;
}

/** Reads a history exported by `rebound history export` or `temporal workflow show --output json`. */
export function readHistoryFile(file: string): ReplaySource {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not a JSON history (${(error as Error).message})`, { cause: error });
  }
  const history = historyFromJSON(parsed);
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started)
    throw new Error(`${file}: the first event is not WorkflowExecutionStarted; is this an exported history?`);
  const workflowId = inputWorkflowId(started) ?? path.basename(file, '.json');
  return { name: file, workflowId, history };
}

function inputWorkflowId(
  started: temporal.api.history.v1.IWorkflowExecutionStartedEventAttributes,
): string | undefined {
  const payload = started.input?.payloads?.[0];
  if (!payload?.data) return undefined;
  try {
    const input = JSON.parse(Buffer.from(payload.data).toString('utf8')) as { incidentId?: unknown };
    return typeof input.incidentId === 'string' ? input.incidentId : undefined;
  } catch {
    return undefined;
  }
}

export async function fetchHistory(client: Client, workflowId: string): Promise<ReplaySource> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return { name: workflowId, workflowId, history };
}

function eventName(history: History, id: number): string | undefined {
  const event = history.events?.find((e) => Number(e.eventId) === id);
  if (!event) return undefined;
  const attributes = Object.keys(event).find(
    (k) => k.endsWith('EventAttributes') && (event as Record<string, unknown>)[k],
  );
  return attributes
    ? attributes.replace(/EventAttributes$/, '').replace(/^./, (c) => c.toUpperCase())
    : undefined;
}

let runtimeReady = false;

/** Replays one history on a running replay worker; resolves with the replay's error, if any. */
type ReplayOne = (history: History, workflowId: string) => Promise<Error | undefined>;

/**
 * Runs fn with one replay worker for every history it replays: starting a worker costs more than
 * replaying a history, and finding a divergence replays the same history several times.
 */
async function withReplayWorker<T>(
  options: ReplayWorkerOptions,
  fn: (replayOne: ReplayOne) => Promise<T>,
): Promise<T> {
  // The worker pulls the next history only when asked for the next result, so one queued history
  // is always there when it pulls.
  const queue: Array<{ history: History; workflowId: string }> = [];
  async function* feed(): AsyncGenerator<{ history: History; workflowId: string }> {
    for (let next = queue.shift(); next; next = queue.shift()) yield await Promise.resolve(next);
  }
  const results = Worker.runReplayHistories(options, feed());
  let started = false;
  const replayOne: ReplayOne = async (history, workflowId) => {
    queue.push({ history, workflowId });
    started = true;
    const next = await results.next();
    if (next.done) throw new Error('the replay worker stopped before replaying every history');
    return next.value.error;
  };
  try {
    return await fn(replayOne);
  } finally {
    if (started) await results.return?.(undefined);
  }
}

/**
 * The first event the current code disagrees with, found by replaying the history itself: the
 * shortest prefix of the history that fails to replay ends with it. Works for every kind of
 * divergence (activity, timer, child workflow, signal, a missing or an extra command), whatever the
 * SDK's message says. A prefix replays as a workflow still running at that point would.
 */
async function firstDivergingEvent(replayOne: ReplayOne, source: ReplaySource): Promise<number | undefined> {
  const events = source.history.events ?? [];
  // Invariant: the prefix of `high` events fails (the whole history did); every prefix shorter
  // than `low` events replayed cleanly.
  let low = 1;
  let high = events.length;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const error = await replayOne({ events: events.slice(0, middle) }, source.workflowId);
    if (error) high = middle;
    else low = middle + 1;
  }
  const event = events[high - 1];
  if (!event) return undefined;
  const id = Number(event.eventId);
  return Number.isFinite(id) && id > 0 ? id : high;
}

export interface ReplayOptions extends Partial<ReplayWorkerOptions> {
  /** Where the bundled workflow code is cached between runs (see workflow-bundle.ts); unset: no cache. */
  bundleCacheDir?: string;
  /** Bundle this directory's code runbooks with the workflows, as the worker does. */
  runbooksDir?: string;
}

export async function replay(
  sources: ReplaySource[],
  options: ReplayOptions = {},
  /** Called before each history is replayed (index from 0), for progress on a terminal. */
  onNext?: (index: number, source: ReplaySource) => void,
): Promise<ReplayOutcome[]> {
  if (!runtimeReady) {
    try {
      // Core logs every divergence as a WARN on stderr; the outcome already reports it.
      Runtime.install({
        logger: new DefaultLogger('ERROR'),
        shutdownSignals: [],
        telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
      });
    } catch {
      // Already installed by this process (a worker or a test): use that one.
    }
    runtimeReady = true;
  }
  if (sources.length === 0) return [];
  // Bundle the workflow code once for all histories (bundling costs far more than replaying one),
  // or reuse the bundle an earlier run cached for the same sources. The code runbooks of
  // runbooksDir are bundled with the workflows, as the worker bundles them.
  const { workflowsPath, bundleCacheDir, runbooksDir, ...rest } = options;
  const workflowBundle =
    options.workflowBundle ??
    (await cachedWorkflowBundle({
      dir: bundleCacheDir,
      ...(workflowsPath ? { workflowsPath } : workflowSource(runbooksDir)),
    }));
  const workerOptions: ReplayWorkerOptions = { ...rest, workflowBundle, replayName: 'rebound-replay' };
  return withReplayWorker(workerOptions, async (replayOne) => {
    const outcomes: ReplayOutcome[] = [];
    for (const [index, source] of sources.entries()) {
      onNext?.(index, source);
      const started = Date.now();
      const events = source.history.events?.length ?? 0;
      const error = await replayOne(source.history, source.workflowId);
      if (!error) {
        outcomes.push({
          name: source.name,
          workflowId: source.workflowId,
          events,
          ok: true,
          ms: Date.now() - started,
        });
        continue;
      }
      const divergingEventId = await firstDivergingEvent(replayOne, source);
      outcomes.push({
        name: source.name,
        workflowId: source.workflowId,
        events,
        ok: false,
        error: error.message,
        ...(divergingEventId !== undefined
          ? { divergingEventId, divergingEvent: eventName(source.history, divergingEventId) ?? 'unknown' }
          : {}),
        ms: Date.now() - started,
      });
    }
    return outcomes;
  });
}
