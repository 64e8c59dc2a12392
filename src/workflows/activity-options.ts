// Temporal activity options for one runbook step: timeout, heartbeat, retry policy and, for a
// container step on another Docker host, that host's task queue. Kept apart so the step registry
// (src/steps/) can take it over.
import { workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import { durationMs } from '../runbook-lang/duration';
import type { Runbook, Step } from '../runbook-lang/types';
import { dockerTaskQueue } from '../task-queues';

export function activityOptions(runbook: Runbook, step: Step): ActivityOptions {
  const retry = { ...runbook.defaults.retry, ...(step.retry ?? {}) };
  const timeoutMs = durationMs(step.timeout ?? runbook.defaults.timeout);
  const long =
    step.type === 'container.wait-healthy' ||
    step.type === 'container.failover' ||
    step.type === 'container.restart';
  // http.call heartbeats while it waits: a worker that dies mid-call is noticed within 10 s, not the step timeout.
  const heartbeatMs = long ? 30_000 : step.type === 'http.call' ? 10_000 : undefined;
  return {
    startToCloseTimeout: timeoutMs,
    ...(heartbeatMs !== undefined ? { heartbeatTimeout: Math.min(timeoutMs, heartbeatMs) } : {}),
    retry: {
      maximumAttempts: retry.maximumAttempts ?? 3,
      initialInterval: durationMs(retry.initialInterval ?? '1s'),
      backoffCoefficient: retry.backoffCoefficient ?? 2,
      maximumInterval: durationMs(retry.maximumInterval ?? '1m'),
      nonRetryableErrorTypes: retry.nonRetryableErrorTypes ?? [],
    },
    ...(step.host && step.type.startsWith('container.')
      ? { taskQueue: dockerTaskQueue(workflowInfo().taskQueue, step.host) }
      : {}),
  };
}
