// Hands each alert of a webhook to Temporal: routed to its runbook, then a signal-with-start of
// the incident (firing) or a signal to the running incident (resolved). The incident id comes from
// the runbook and the target, so repeats, group changes, retries and HA duplicates all land on the
// one running incident. A firing alert for an incident this receiver recently started or joined is
// first tried as a plain signal, falling back to signal-with-start when that incident has closed.
import type { Client } from '@temporalio/client';
import {
  TypedSearchAttributes,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  encodeWorkflowIdConflictPolicy,
  encodeWorkflowIdReusePolicy,
} from '@temporalio/common';
import { encodeUnifiedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config';
import { GRPC, grpcCode } from '../grpc-status';
import { logger } from '../log';
import type { RunbookCatalog } from '../runbooks/catalog';
import {
  INCIDENT_WORKFLOW_TYPE,
  alertSignal,
  incidentWorkflowId,
  type AlertNotification,
  type AlertSnapshot,
  type IncidentInput,
} from '../workflows/contract';
import { identityAttributes, progressAttributes } from '../workflows/search-attributes';
import type { ReceiverMetrics } from './metrics';
import type { WebhookBatch } from './alert-payload';
import { encodeIncidentInput, encodeNotification } from './incident-payloads';
import type { RecentIncidents } from './recent-incidents';

const log = logger('intake');

/**
 * What became of one alert. started: a new incident; joined: a notification to the running one;
 * resolved: the resolution reached the running incident; resolved-no-incident: nothing was open;
 * unmatched: no runbook fits; rejected: it cannot be handled (message says why).
 */
export type AlertOutcome =
  'started' | 'joined' | 'resolved' | 'resolved-no-incident' | 'unmatched' | 'rejected';

export interface AlertResult {
  index: number;
  status: 'firing' | 'resolved';
  fingerprint: string;
  outcome?: AlertOutcome;
  runbook?: string;
  workflowId?: string;
  error?: string;
}

export interface IntakeDeps {
  config: Config;
  client: Client;
  catalog: RunbookCatalog;
  metrics: ReceiverMetrics;
  /** Deadline of each Temporal call. */
  temporalTimeoutMs: number;
  /** Incidents this receiver recently started or joined (one per receiver, kept across webhooks). */
  recent: RecentIncidents;
}

export interface IntakeReport {
  results: AlertResult[];
  /** Set when Temporal could not be reached for at least one alert: the whole webhook must be re-sent. */
  unavailable?: string;
}

// Temporal's default limit on workflow id length; longer targets are refused before the call.
const MAX_WORKFLOW_ID = 1000;
// Keyword search attributes are for finding incidents; a shorter prefix is enough for that.
const MAX_ATTRIBUTE = 256;
// Different incidents are handed over in parallel, up to this many calls at once.
const PARALLEL = 16;

function clip(text: string): string {
  return text.length > MAX_ATTRIBUTE ? text.slice(0, MAX_ATTRIBUTE) : text;
}

async function signalWithStart(
  deps: IntakeDeps,
  workflowId: string,
  input: IncidentInput,
  notification: AlertNotification,
): Promise<boolean> {
  const { client, config } = deps;
  const converter = client.options.loadedDataConverter;
  const attributes = new TypedSearchAttributes([
    ...identityAttributes(
      {
        runbook: input.snapshot.runbook.name,
        targetKey: input.targetKey,
        labels: notification.alert.labels,
        dryRun: input.dryRun,
      },
      clip,
    ),
    ...progressAttributes('detect', 'open'),
  ]);
  const inputPayloads = await encodeIncidentInput(converter, input);
  const signalPayloads = await encodeNotification(converter, notification);
  // The raw call rather than client.workflow.signalWithStart: only the service's response says
  // whether this call started the incident (`started`) or signalled the one already running.
  const response = await client.connection.withDeadline(Date.now() + deps.temporalTimeoutMs, () =>
    client.workflowService.signalWithStartWorkflowExecution({
      namespace: config.temporal.namespace,
      identity: client.options.identity,
      requestId: randomUUID(),
      workflowId,
      workflowType: { name: INCIDENT_WORKFLOW_TYPE },
      taskQueue: { name: config.temporal.taskQueue },
      input: { payloads: inputPayloads },
      signalName: alertSignal.name,
      signalInput: { payloads: signalPayloads },
      // A closed incident (resolved, failed) must not block a new one for the same target.
      workflowIdReusePolicy: encodeWorkflowIdReusePolicy(WorkflowIdReusePolicy.ALLOW_DUPLICATE),
      workflowIdConflictPolicy: encodeWorkflowIdConflictPolicy(WorkflowIdConflictPolicy.USE_EXISTING),
      searchAttributes: { indexedFields: encodeUnifiedSearchAttributes(undefined, attributes) },
    }),
  );
  return response.started === true;
}

/**
 * Signals the incident's current run (no run id: the run signal-with-start would reach too); false
 * when no incident with that id is running. The raw call, as for signal-with-start, spares the
 * SDK's handle and interceptor layers on every alert.
 */
async function signalRunning(
  deps: IntakeDeps,
  workflowId: string,
  notification: AlertNotification,
): Promise<boolean> {
  const { client, config } = deps;
  const payloads = await encodeNotification(client.options.loadedDataConverter, notification);
  try {
    await client.connection.withDeadline(Date.now() + deps.temporalTimeoutMs, () =>
      client.workflowService.signalWorkflowExecution({
        namespace: config.temporal.namespace,
        identity: client.options.identity,
        requestId: randomUUID(),
        workflowExecution: { workflowId },
        signalName: alertSignal.name,
        input: { payloads },
      }),
    );
    return true;
  } catch (error) {
    // Closed or unknown: a resolution never opens an incident; a firing alert falls back.
    if (grpcCode(error) === GRPC.NOT_FOUND) return false;
    throw error;
  }
}

interface Planned {
  result: AlertResult;
  alert: AlertSnapshot;
  workflowId?: string;
  input?: IncidentInput;
}

function plan(
  deps: IntakeDeps,
  alert: AlertSnapshot,
  index: number,
  source: string,
  receiver: string,
): Planned {
  const result: AlertResult = { index, status: alert.status, fingerprint: alert.fingerprint };
  const snapshot = deps.catalog.route(alert.labels);
  if (!snapshot) return { result: { ...result, outcome: 'unmatched' }, alert };
  result.runbook = snapshot.runbook.name;
  let target: string;
  try {
    target = deps.catalog.targetKey(snapshot.runbook, alert);
  } catch (error) {
    return { result: { ...result, outcome: 'rejected', error: (error as Error).message }, alert };
  }
  const workflowId = incidentWorkflowId(snapshot.runbook.name, target);
  if (workflowId.length > MAX_WORKFLOW_ID)
    return {
      result: {
        ...result,
        outcome: 'rejected',
        error: `runbook ${snapshot.runbook.name}: the target key is ${target.length} characters long; incident ids are limited to ${MAX_WORKFLOW_ID}`,
      },
      alert,
    };
  result.workflowId = workflowId;
  return {
    result,
    alert,
    workflowId,
    input: {
      incidentId: workflowId,
      targetKey: target,
      snapshot,
      dryRun: deps.config.runbooks.dryRun,
      triggeredBy: `${source}:${receiver}`,
      safetyScope: deps.config.temporal.taskQueue,
    },
  };
}

/** Hands every alert of the batch to Temporal; never throws for Temporal failures, it reports them. */
export async function deliverBatch(
  deps: IntakeDeps,
  batch: WebhookBatch,
  source: string,
): Promise<IntakeReport> {
  const receivedAt = new Date().toISOString();
  const planned = batch.alerts.map((alert, i) => plan(deps, alert, i, source, batch.receiver));
  // Alerts for the same incident go in payload order, so a firing-then-resolved pair arrives in order.
  const byIncident = new Map<string, Planned[]>();
  for (const p of planned) {
    if (!p.workflowId) continue;
    const list = byIncident.get(p.workflowId) ?? [];
    list.push(p);
    byIncident.set(p.workflowId, list);
  }
  let unavailable: string | undefined;
  const handOver = async (p: Planned): Promise<void> => {
    const workflowId = p.workflowId as string;
    const notification: AlertNotification = {
      alert: p.alert,
      source,
      receiver: batch.receiver,
      ...(batch.groupKey ? { groupKey: batch.groupKey } : {}),
      receivedAt,
    };
    let operation: 'signal' | 'signal_with_start' = 'signal';
    try {
      if (p.alert.status === 'firing') {
        // A repeat for an incident seen running: the notification alone, as signal-with-start
        // would deliver it to the running incident; a closed one falls through to start anew.
        if (deps.recent.has(workflowId)) {
          if (await signalRunning(deps, workflowId, notification)) {
            deps.recent.add(workflowId);
            p.result.outcome = 'joined';
            return;
          }
          deps.recent.delete(workflowId);
        }
        operation = 'signal_with_start';
        const started = await signalWithStart(deps, workflowId, p.input as IncidentInput, notification);
        deps.recent.add(workflowId);
        p.result.outcome = started ? 'started' : 'joined';
      } else {
        const reached = await signalRunning(deps, workflowId, notification);
        // A resolved incident soon closes: its next firing alert goes straight to signal-with-start.
        deps.recent.delete(workflowId);
        p.result.outcome = reached ? 'resolved' : 'resolved-no-incident';
      }
    } catch (error) {
      deps.metrics.temporalErrors.inc({ operation });
      const message = (error as Error).message;
      if (grpcCode(error) === GRPC.INVALID_ARGUMENT) {
        p.result.outcome = 'rejected';
        p.result.error = `Temporal refused the incident: ${message}`;
      } else {
        unavailable ??= message;
        p.result.error = `Temporal did not accept it: ${message}`;
      }
      log.warn('hand-off to Temporal failed', {
        workflowId,
        operation,
        code: grpcCode(error),
        error: message,
      });
    }
  };
  const queues = [...byIncident.values()];
  const workers = Array.from({ length: Math.min(PARALLEL, queues.length) }, async () => {
    for (let queue = queues.shift(); queue; queue = queues.shift()) {
      for (const p of queue) {
        // Once Temporal is unreachable the whole webhook is re-sent anyway (503): waiting out a
        // deadline for every remaining alert would only hold the sender (and a shutdown) longer.
        if (unavailable !== undefined) {
          p.result.error = `not handed over: Temporal is unavailable (${unavailable})`;
          continue;
        }
        await handOver(p);
      }
    }
  });
  await Promise.all(workers);
  for (const p of planned)
    if (p.result.outcome) deps.metrics.alerts.inc({ status: p.alert.status, outcome: p.result.outcome });
  return { results: planned.map((p) => p.result), ...(unavailable ? { unavailable } : {}) };
}
