// Replays recorded incident histories against the current workflow code: the check a team runs in
// CI before deploying runbook or interpreter changes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import {
  DefaultLogger,
  Runtime,
  Worker,
  bundleWorkflowCode,
  type ReplayWorkerOptions,
} from '@temporalio/worker';
import { WORKFLOWS_PATH } from './worker';

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
  /** What diverged, with the first diverging event when the SDK names it. */
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

export async function replay(
  sources: ReplaySource[],
  options: Partial<ReplayWorkerOptions> = {},
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
  const outcomes: ReplayOutcome[] = [];
  // Bundle the workflow code once for all histories (bundling costs far more than replaying one).
  const { workflowsPath, ...rest } = options;
  const workflowBundle =
    options.workflowBundle ??
    (await bundleWorkflowCode({
      workflowsPath: workflowsPath ?? WORKFLOWS_PATH,
      logger: new DefaultLogger('ERROR'),
    }));
  const workerOptions: ReplayWorkerOptions = { ...rest, workflowBundle, replayName: 'rebound-replay' };
  for (const [index, source] of sources.entries()) {
    onNext?.(index, source);
    const started = Date.now();
    const events = source.history.events?.length ?? 0;
    try {
      await Worker.runReplayHistory(workerOptions, source.history, source.workflowId);
      outcomes.push({
        name: source.name,
        workflowId: source.workflowId,
        events,
        ok: true,
        ms: Date.now() - started,
      });
    } catch (error) {
      const message = (error as Error).message;
      const idMatch = /(?:event[_ ]?id|eventId|HistoryEvent\(id: )[:= ]*(\d+)/i.exec(message);
      const divergingEventId = idMatch ? Number(idMatch[1]) : undefined;
      outcomes.push({
        name: source.name,
        workflowId: source.workflowId,
        events,
        ok: false,
        error: message,
        ...(divergingEventId !== undefined
          ? { divergingEventId, divergingEvent: eventName(source.history, divergingEventId) ?? 'unknown' }
          : {}),
        ms: Date.now() - started,
      });
    }
  }
  return outcomes;
}
