// What every approvals test needs: the run's real Temporal server, a worker with test activities,
// the real receiver in-process on a free port, and a configuration with tokens, groups and Slack.
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { loadConfig, type Config } from '../../src/config';
import { startReceiver, type Receiver } from '../../src/receiver';
import { ROUTE_MODULES } from '../../src/receiver/routes';
import type { incident } from '../../src/workflows/incident';
import { alert, openIncident, runbookFromText, waitForState } from '../support/incidents';
import { TestActivities } from '../support/test-activities';
import { temporalAddress, testClient, uniqueTaskQueue, workflowBundle } from '../support/temporal';
import { WORKFLOW_SANDBOX_OPTIONS } from '../../src/workflow-sandbox';

export const TOKENS = {
  alice: 'tok-alice-0123456789',
  bob: 'tok-bob-0123456789',
  carol: 'tok-carol-0123456789',
  mallory: 'tok-mallory-0123456789',
} as const;
export const SIGNING_SECRET = 'slack-signing-secret-for-tests';
export const SLACK_TOKEN = 'xoxb-approvals-test';

export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: 'default',
    REBOUND_API_TOKENS: Object.entries(TOKENS)
      .map(([who, token]) => `${token}=${who}`)
      .join(','),
    REBOUND_GROUPS: 'sre=carol|dave',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    REBOUND_SLACK_USERS: 'UALICE=alice,UMALLORY=mallory,UBOB=bob',
    ...extra,
  };
}

/** An approval step, then an action that only runs once it is approved. */
export function approvalRunbook(
  options: {
    name?: string;
    minApprovers?: number;
    timeout?: string;
    onTimeout?: 'escalate' | 'reject' | 'proceed';
    onFailure?: string;
  } = {},
): ReturnType<typeof runbookFromText> {
  return runbookFromText(`
name: ${options.name ?? 'approval-test'}
description: approvals end to end
matchers: ['alertname = "NeedsHuman"']
holdOpen: 1m
steps:
  - id: approve
    phase: remediate
    type: approval
    with:
      approvers: [alice, bob]
      groups: [sre]
      minApprovers: ${options.minApprovers ?? 1}
      prompt: 'Restart <b>api</b> & co?'
      timeout: ${options.timeout ?? '10m'}
      onTimeout: ${options.onTimeout ?? 'escalate'}
${options.onFailure ? `    onFailure: ${options.onFailure}\n` : ''}  - id: act
    phase: remediate
    type: http.call
    with: { url: "http://127.0.0.1:1/restart" }
`);
}

export interface Harness {
  client: Client;
  taskQueue: string;
  activities: TestActivities;
  config: Config;
  receiver: Receiver;
  /** Opens an incident and waits until it asks for approval. */
  open(
    options?: Parameters<typeof approvalRunbook>[0] & { triggeredBy?: string; wait?: boolean },
  ): Promise<WorkflowHandle<typeof incident>>;
  close(): Promise<void>;
}

export async function startHarness(extraEnv: Record<string, string> = {}): Promise<Harness> {
  const client = await testClient();
  const taskQueue = uniqueTaskQueue('approvals');
  const activities = new TestActivities();
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    ...WORKFLOW_SANDBOX_OPTIONS,
    activities: activities.activities(),
    // Incidents left open by a test must not hold up the file's end.
    shutdownGraceTime: '1s',
    shutdownForceTime: '5s',
  });
  const running = worker.run();
  const config = loadConfig({ env: testEnv(extraEnv) });
  const receiver = await startReceiver(config, client, ROUTE_MODULES, { port: 0 });
  return {
    client,
    taskQueue,
    activities,
    config,
    receiver,
    async open(options = {}) {
      const handle = await openIncident(
        client,
        taskQueue,
        approvalRunbook(options),
        alert({ alertname: 'NeedsHuman', service: 'api' }),
        {
          workflowId: `incident/approval-test/${Math.random().toString(36).slice(2)}`,
          ...(options.triggeredBy ? { triggeredBy: options.triggeredBy } : {}),
        },
      );
      if (options.wait !== false) await waitForState(handle, (s) => s.pendingApproval !== undefined);
      return handle;
    },
    async close() {
      await receiver.close();
      worker.shutdown();
      await running;
      await connection.close();
      await client.connection.close();
    },
  };
}

/** POSTs JSON to the receiver with an optional bearer token. */
export async function post(
  receiver: Receiver,
  path: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${receiver.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

export function decidePath(incidentId: string, decision: 'approve' | 'reject'): string {
  return `/v1/incidents/${encodeURIComponent(incidentId)}/${decision}`;
}
