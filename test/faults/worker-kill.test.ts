// The worker is SIGKILLed at many points of a real restart runbook (real `rebound worker` child
// processes, real Docker activities against a real dockerd and busybox containers). A new worker
// takes over each time; every incident must finish, and each container must be (re)started exactly
// once per incident: the restart activity promises not to repeat a restart that already happened.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import {
  INCIDENT_WORKFLOW_TYPE,
  alertSignal,
  incidentWorkflowId,
  type AlertNotification,
  type IncidentInput,
} from '../../src/workflows/contract';
import type { incident } from '../../src/workflows/incident';
import {
  buildBusyboxImage,
  freePort,
  runHealthContainer,
  startDockerEngine,
  type DockerEngine,
} from '../support/docker-engine';
import { alert, runbookFromText } from '../support/incidents';
import type { RunningProcess } from '../support/processes';
import { temporalAddress, testClient, uniqueTaskQueue } from '../support/temporal';
import {
  activityOutcomes,
  completedActivities,
  historyEvents,
  killWorker,
  scheduledActivities,
  startWorkerProcess,
  workflowBundleFile,
  until,
  type HistoryEvent,
} from './helpers';

const RUNBOOK_NAME = 'kill-test';
// Short timeouts so an activity lost with its worker is retried quickly on the next one; the
// restart's stop timeout is short because busybox httpd as PID 1 ignores SIGTERM.
const RUNBOOK_TEXT = `name: ${RUNBOOK_NAME}
description: Restart a container and wait until it is healthy; the worker is killed along the way.
matchers: ['alertname = "KillTest"']
target: '{{ labels.container }}'
variables: { container: '{{ labels.container }}' }
defaults:
  timeout: 4s
  retry: { maximumAttempts: 30, initialInterval: 200ms, backoffCoefficient: 1.5, maximumInterval: 1s }
holdOpen: 10m
steps:
  - id: inspect
    phase: detect
    type: container.inspect
    with: { container: '{{ vars.container }}' }
  - id: restart
    phase: remediate
    type: container.restart
    with: { container: '{{ vars.container }}', stopTimeout: 1 }
  - id: wait-healthy
    phase: validate
    type: container.wait-healthy
    with: { container: '{{ vars.container }}', intervalMs: 200 }
    # Docker checks health once a second; on a busy machine the first check after the restart can
    # take seconds, and this step gives up (not retried) when its attempt's time is up.
    timeout: 20s
`;

interface DockerEvent {
  Action?: string;
  status?: string;
  Actor?: { Attributes?: Record<string, string> };
  timeNano?: number;
}

/** Where in the runbook the worker dies: a condition on what has happened so far. */
interface KillPoint {
  name: string;
  /** Resolves once the incident has reached the point; the worker is killed right after. */
  reached(ctx: PointContext): Promise<void>;
  /** Sent just before the kill (the resolution arriving while the worker dies). */
  resolveBeforeKill?: boolean;
}

interface PointContext {
  workflowId: string;
  container: string;
  history(): Promise<HistoryEvent[]>;
  dockerEvents(): DockerEvent[];
}

const WAIT = 60_000;

function afterScheduled(activity: string): KillPoint['reached'] {
  return async (ctx) => {
    await until(
      `${activity} scheduled`,
      async () => scheduledActivities(await ctx.history()).includes(activity),
      WAIT,
    );
  };
}

function afterDockerEvent(action: string): KillPoint['reached'] {
  return async (ctx) => {
    await until(
      `docker ${action} of ${ctx.container}`,
      () => ctx.dockerEvents().some((e) => actionOf(e) === action && nameOf(e) === ctx.container),
      WAIT,
      5,
    );
  };
}

function randomDelay(maxMs: number): KillPoint['reached'] {
  return () => new Promise((r) => setTimeout(r, Math.floor(Math.random() * maxMs)));
}

const actionOf = (e: DockerEvent): string => e.Action ?? e.status ?? '';
const nameOf = (e: DockerEvent): string => e.Actor?.Attributes?.name ?? '';

const POINTS: KillPoint[] = [
  { name: 'right after the incident opened', reached: () => Promise.resolve() },
  { name: 'inspect scheduled', reached: afterScheduled('containerInspect') },
  { name: 'random, early (0-1.5 s)', reached: randomDelay(1500) },
  { name: 'safety admission scheduled', reached: afterScheduled('safetyAdmit') },
  {
    name: 'target lock being taken',
    reached: async (ctx) => {
      await until(
        'lock child started',
        async () => (await ctx.history()).some((e) => e.startChildWorkflowExecutionInitiatedEventAttributes),
        WAIT,
      );
    },
  },
  { name: 'budget scheduled', reached: afterScheduled('budgetConsume') },
  { name: 'restart scheduled', reached: afterScheduled('containerRestart') },
  { name: 'mid-restart (container being stopped)', reached: afterDockerEvent('kill') },
  { name: 'restarted, not yet reported', reached: afterDockerEvent('start') },
  { name: 'wait-healthy scheduled', reached: afterScheduled('containerWaitHealthy') },
  {
    name: 'holding open after remediation',
    reached: async (ctx) => {
      await until(
        'wait-healthy completed',
        async () => completedActivities(await ctx.history()).includes('containerWaitHealthy'),
        WAIT,
      );
    },
  },
  {
    name: 'resolution arriving as the worker dies',
    reached: async (ctx) => {
      await until(
        'wait-healthy completed',
        async () => completedActivities(await ctx.history()).includes('containerWaitHealthy'),
        WAIT,
      );
    },
    resolveBeforeKill: true,
  },
  { name: 'random, late (0-4 s)', reached: randomDelay(4000) },
];

describe('worker killed with SIGKILL at points of a restart runbook', () => {
  let engine: DockerEngine;
  let image: string;
  let client: Client;
  let worker: RunningProcess | undefined;
  const events: DockerEvent[] = [];
  let eventStream: Readable | undefined;
  const taskQueue = uniqueTaskQueue('fault-kill');
  const runbooksDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-kill-runbooks-'));
  writeFileSync(path.join(runbooksDir, '10-kill.yaml'), RUNBOOK_TEXT);
  const snapshot = runbookFromText(RUNBOOK_TEXT, '10-kill.yaml');

  before(async () => {
    engine = await startDockerEngine();
    image = await buildBusyboxImage(engine);
    client = await testClient();
    // dockerode hands back the HTTP response stream, typed loosely.
    eventStream = (await engine.docker.getEvents({ filters: { type: ['container'] } })) as Readable;
    let buffered = '';
    eventStream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as DockerEvent);
    });
  });
  after(async () => {
    await worker?.stop('SIGKILL');
    eventStream?.destroy();
    await client?.connection.close();
    await engine?.stop();
  });

  it('finishes every incident, restarting each container exactly once', async () => {
    const env = {
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_TASK_QUEUE: taskQueue,
      DOCKER_HOST: engine.host,
      REBOUND_RUNBOOKS: runbooksDir,
      // One action per container here; keep the budget and breaker out of the way of the test.
      REBOUND_BUDGET_MAX: '100',
      REBOUND_BREAKER_MAX_PERCENT: '100',
      REBOUND_BREAKER_MAX_ACTIVE: '100',
      REBOUND_TEST_WORKFLOW_BUNDLE: await workflowBundleFile(),
    };
    worker = await startWorkerProcess(env);
    const suffix = randomUUID().slice(0, 6);
    const handles: Array<{ point: KillPoint; container: string; workflowId: string; startedBefore: string }> =
      [];
    const finishing: Array<Promise<void>> = [];
    const finish = async (point: KillPoint, workflowId: string, labels: Record<string, string>) => {
      // Read from the history, not a query: it needs no live worker.
      if (!point.resolveBeforeKill) {
        await until(
          `${point.name}: wait-healthy to complete`,
          async () =>
            completedActivities(await historyEvents(client, workflowId)).includes('containerWaitHealthy'),
          // A bound on real work, not a performance claim: 13 incidents, each with a worker killed
          // under it, on a busy two-core machine took over 120 s twice.
          300_000,
          200,
        ).catch(async (error: Error) => {
          throw new Error(`${error.message} (${activityOutcomes(await historyEvents(client, workflowId))})`);
        });
        await resolve(client, workflowId, labels);
      }
      const final = await client.workflow.getHandle<typeof incident>(workflowId).result();
      assert.equal(final.status, 'resolved', `${point.name}: ${JSON.stringify(final.timeline)}`);
      assert.equal(final.resolution, 'remediated', point.name);
    };

    for (const [i, point] of POINTS.entries()) {
      const container = `victim-${i}-${suffix}`;
      const c = await runHealthContainer(engine, {
        name: container,
        image,
        port: await freePort(),
        healthcheck: true,
      });
      const startedBefore = (await c.inspect()).State.StartedAt;
      // Docker's StartedAt has a 1 s-or-better resolution; keep the restart clearly after it.
      await new Promise((r) => setTimeout(r, 50));
      const labels = { alertname: 'KillTest', container };
      const workflowId = incidentWorkflowId(RUNBOOK_NAME, container);
      const input: IncidentInput = {
        incidentId: workflowId,
        targetKey: container,
        snapshot,
        dryRun: false,
        triggeredBy: 'alertmanager:faults',
      };
      const notification: AlertNotification = {
        alert: alert(labels),
        source: 'alertmanager',
        receivedAt: new Date().toISOString(),
      };
      await client.workflow.signalWithStart<typeof incident, [AlertNotification]>(INCIDENT_WORKFLOW_TYPE, {
        taskQueue,
        workflowId,
        args: [input],
        signal: alertSignal,
        signalArgs: [notification],
      });
      await point
        .reached({
          workflowId,
          container,
          history: () => historyEvents(client, workflowId),
          dockerEvents: () => events,
        })
        .catch(async (error: Error) => {
          const outcomes = activityOutcomes(await historyEvents(client, workflowId));
          throw new Error(`${point.name}: ${error.message} (${outcomes})`);
        });
      if (point.resolveBeforeKill) await resolve(client, workflowId, labels);
      await killWorker(worker);
      worker = await startWorkerProcess(env);
      handles.push({ point, container, workflowId, startedBefore });
      // The incident finishes on later workers while the next points kill them again: it may be
      // interrupted more than once, which the guarantees must survive too.
      finishing.push(finish(point, workflowId, labels));
    }
    await Promise.all(finishing);

    for (const h of handles) {
      const starts = events.filter((e) => nameOf(e) === h.container && actionOf(e) === 'start');
      // One start when the test created it, one from the incident's restart: never a second restart.
      assert.equal(
        starts.length,
        2,
        `${h.point.name}: container started ${starts.length - 1} time(s) by the incident`,
      );
      const restarts = events.filter((e) => nameOf(e) === h.container && actionOf(e) === 'restart');
      assert.ok(restarts.length <= 1, `${h.point.name}: ${restarts.length} docker restarts`);
      const now = (await engine.docker.getContainer(h.container).inspect()).State;
      assert.ok(now.Running, `${h.point.name}: container running`);
      assert.notEqual(now.StartedAt, h.startedBefore, `${h.point.name}: the container was restarted`);
      const final = await client.workflow.getHandle<typeof incident>(h.workflowId).result();
      const restart = final.steps.find((s) => s.id === 'restart');
      assert.equal(restart?.status, 'succeeded', h.point.name);
    }
  });
});

async function resolve(client: Client, workflowId: string, labels: Record<string, string>): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(alertSignal, {
    alert: alert(labels, 'resolved'),
    source: 'alertmanager',
    receivedAt: new Date().toISOString(),
  });
}
