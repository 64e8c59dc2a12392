// The baseline for "alert to first action": the smallest workflow that calls one activity.
import { proxyActivities } from '@temporalio/workflow';

const { firstAction } = proxyActivities<{ firstAction(id: string): Promise<void> }>({
  startToCloseTimeout: '10s',
});

export async function baseline(id: string): Promise<void> {
  await firstAction(id);
}
