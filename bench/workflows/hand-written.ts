// The "hand-written" baseline for alert to first action: what the benchmark runbook does (inspect
// the container, restart it when it is not running), written as a Temporal user would without
// Rebound: proxyActivities, no guards, open until the alert resolves.
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

export interface HandWrittenActivities {
  inspect(container: string): Promise<{ exists: boolean; running: boolean }>;
  restart(container: string): Promise<{ container: string; restarted: boolean }>;
}

export const handWrittenAlert = defineSignal<[{ status: string }]>('alert');

const { inspect, restart } = proxyActivities<HandWrittenActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});

export async function handWritten(container: string): Promise<void> {
  let resolved = false;
  setHandler(handWrittenAlert, (alert) => {
    if (alert.status === 'resolved') resolved = true;
  });
  const state = await inspect(container);
  if (!state.running) await restart(container);
  await condition(() => resolved, '1 hour');
}
