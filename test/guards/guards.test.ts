// The guards against real parts: the Temporal dev server (locks, budgets, breaker and pause live there)
// and, for the notification storm, a real Docker engine and container.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WithStartWorkflowOperation, type Client, type WorkflowHandle } from '@temporalio/client';
import { createDockerActivities } from '../../src/activities/docker';
import type { StepInput } from '../../src/activities/types';
import {
  BUDGET_WORKFLOW_TYPE,
  budgetStatusQuery,
  budgetWorkflowId,
  consumeBudgetUpdate,
  controlStatusQuery,
  controlWorkflowId,
  refundBudgetUpdate,
  type BudgetRequest,
} from '../../src/workflows/guard-contract';
import type { IncidentState } from '../../src/workflows/contract';
import type { targetBudget } from '../../src/workflows/guard-workflows';
import type { incident } from '../../src/workflows/incident';
import {
  buildBusyboxImage,
  freePort,
  runHealthContainer,
  startDockerEngine,
  type DockerEngine,
} from '../support/docker-engine';
import { alert, openIncident, runbookFromText, sendAlert, waitForState } from '../support/incidents';
import { runRebound } from '../support/processes';
import { TestActivities } from '../support/test-activities';
import { temporalAddress, testClient, uniqueTaskQueue, withWorker } from '../support/temporal';

let client: Client;
before(async () => {
  client = await testClient();
});
after(async () => {
  await client.connection.close();
});

const restartRunbook = (name: string, holdOpen = '1m'): string => `
name: ${name}
description: restart a container that is down
matchers: ['alertname = "Down"']
holdOpen: ${holdOpen}
steps:
  - id: inspect
    phase: detect
    type: container.inspect
    with: { container: "{{ labels.container }}" }
  - id: restart
    phase: remediate
    type: container.restart
    when: "!steps.inspect.output.running"
    with: { container: "{{ labels.container }}", stopTimeout: 1 }
  - id: tell
    phase: escalate
    type: notify
    with: { channel: slack, text: "{{ labels.container }} needs a human: {{ incident.target }}" }
`;

const down = (container: string): ReturnType<typeof alert> => alert({ alertname: 'Down', container });

describe('no remediation storms', () => {
  let engine: DockerEngine;
  let image: string;

  before(async () => {
    engine = await startDockerEngine();
    image = await buildBusyboxImage(engine);
  });
  after(async () => {
    await engine?.stop();
  });

  it('500 notifications for one target within seconds cause exactly one restart of the real container', async () => {
    const port = await freePort();
    await runHealthContainer(engine, { name: 'web-1', image, port, healthcheck: true });
    await engine.docker.getContainer('web-1').kill();
    const docker = createDockerActivities({ host: engine.host, tlsVerify: false, timeoutMs: 20_000 });
    let restarts = 0;
    const acts = new TestActivities();
    const activities = {
      ...acts.activities(),
      containerInspect: (input: StepInput<{ container: string }>) => docker.containerInspect(input),
      containerRestart: async (input: StepInput<{ container: string; stopTimeout?: number }>) => {
        restarts += 1;
        return docker.containerRestart(input);
      },
    };
    const taskQueue = uniqueTaskQueue('storm');
    const snapshot = runbookFromText(restartRunbook('restart-web'));
    const before = (await engine.docker.getContainer('web-1').inspect()).State.StartedAt;
    await withWorker({ taskQueue, activities }, async () => {
      const workflowId = `incident/restart-web/web-1/${taskQueue}`;
      const started = Date.now();
      const sends: Array<Promise<unknown>> = [];
      for (let i = 0; i < 500; i += 1)
        sends.push(openIncident(client, taskQueue, snapshot, down('web-1'), { workflowId }));
      await Promise.all(sends);
      const elapsed = Date.now() - started;
      const handle = client.workflow.getHandle<typeof incident>(workflowId);
      const holding = await waitForState(
        handle,
        (s) => s.timeline.some((t) => t.kind === 'hold') && s.notifications === 500,
        60_000,
      );
      assert.ok(elapsed < 30_000, `the 500 notifications went out within seconds (${elapsed} ms)`);
      assert.equal(holding.steps.find((s) => s.id === 'restart')?.status, 'succeeded');
      assert.equal(restarts, 1, 'exactly one restart');
      const after = (await engine.docker.getContainer('web-1').inspect()).State;
      assert.equal(after.Running, true);
      assert.notEqual(after.StartedAt, before);
      await sendAlert(handle, { ...down('web-1'), status: 'resolved' });
      assert.equal((await handle.result()).resolution, 'remediated');
    });
  });
});

describe('remediation budget', () => {
  it('restarts a target that keeps failing up to its budget, with growing backoff, then escalates and says why', async () => {
    const acts = new TestActivities({ budgetMax: 3, backoff: 300, backoffCoefficient: 2 }).on(
      'containerInspect',
      () => ({
        exists: true,
        running: false,
      }),
    );
    const taskQueue = uniqueTaskQueue('budget');
    const snapshot = runbookFromText(restartRunbook('restart-flappy'));
    await withWorker({ taskQueue, activities: acts.activities() }, async () => {
      const outcomes: IncidentState[] = [];
      for (let i = 0; i < 4; i += 1) {
        // Each time the alert fires again after the previous incident closed: a new incident.
        const handle = await openIncident(client, taskQueue, snapshot, down('flappy'), {
          workflowId: `incident/restart-flappy/flappy/${taskQueue}`,
        });
        const settled = await waitForState(handle, (s) => s.timeline.some((t) => t.kind === 'hold'), 30_000);
        outcomes.push(settled);
        await sendAlert(handle, { ...down('flappy'), status: 'resolved' });
        await handle.result();
      }
      assert.deepEqual(
        outcomes.map((o) => o.steps.find((s) => s.id === 'restart')?.status),
        ['succeeded', 'succeeded', 'succeeded', 'skipped'],
      );
      const restarts = acts.callsOf('containerRestart').map((c) => c.at);
      assert.equal(restarts.length, 3, 'three restarts, then the budget is used up');
      const [a, b, c] = restarts as [number, number, number];
      assert.ok(b - a >= 250, `second restart waited the backoff (${b - a} ms)`);
      assert.ok(c - b >= 550, `third restart waited longer (${c - b} ms)`);
      const fourth = outcomes[3] as IncidentState;
      assert.equal(fourth.status, 'escalated');
      assert.match(
        fourth.escalationReason ?? '',
        /remediation budget for docker:local\/flappy is used up \(3 of 3 actions in the last 1h\)/,
      );
      assert.ok(
        acts
          .callsOf('notify')
          .some((call) => String((call.params as { text: string }).text).includes('flappy needs a human')),
      );
    });
  });
});

/** How many times an incident asked the budget, from its history. */
async function budgetQuestions(
  handle: WorkflowHandle<typeof incident>,
): Promise<{ events: number; asks: number }> {
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const asks = events.filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'budgetConsume',
  ).length;
  return { events: events.length, asks };
}

describe('budget counts asked alongside admission', () => {
  it('a count is re-stamped to when the step acts, and a refund that empties the budget ends it', async () => {
    const taskQueue = uniqueTaskQueue('budget-refund');
    const policy = {
      max: 3,
      windowMs: 3_600_000,
      backoffMs: 60_000,
      backoffCoefficient: 2,
      maxBackoffMs: 600_000,
    };
    const workflowId = budgetWorkflowId(taskQueue, 'docker:local/web');
    const ask = (key: string, extra: Partial<BudgetRequest> = {}, updateId = `${key}-${Math.random()}`) =>
      client.workflow.executeUpdateWithStart(consumeBudgetUpdate, {
        args: [{ key, incidentId: 'i1', stepId: 'restart', action: 'container.restart', policy, ...extra }],
        updateId,
        startWorkflowOperation: new WithStartWorkflowOperation(BUDGET_WORKFLOW_TYPE, {
          workflowId,
          taskQueue,
          workflowIdConflictPolicy: 'USE_EXISTING',
          args: [{ resource: 'docker:local/web' }],
        }),
      });
    await withWorker({ taskQueue, activities: new TestActivities().activities() }, async () => {
      const first = await ask('k1', { requestedAtMs: Date.now() });
      assert.equal(first.allowed, true);
      const handle = client.workflow.getHandle<typeof targetBudget>(workflowId);
      const before = (await handle.query(budgetStatusQuery)).actions;
      assert.equal(before.length, 1);
      // Asked again for the same key with restamp: still one action, its time moved to the asker's
      // (a clock 2 minutes ahead here, so the move cannot be mistaken for the time a test takes).
      const again = await ask('k1', { restamp: true, requestedAtMs: Date.now() + 120_000 });
      assert.deepEqual(again, { allowed: true, remaining: 2, used: 1 });
      const after = (await handle.query(budgetStatusQuery)).actions;
      assert.equal(after.length, 1);
      assert.ok(
        Date.parse(after[0]?.at ?? '') >= Date.parse(before[0]?.at ?? '') + 100_000,
        `re-stamped: ${before[0]?.at} -> ${after[0]?.at}`,
      );
      // Without restamp a repeat of the key changes nothing.
      await ask('k1', { requestedAtMs: Date.now() + 500_000 });
      assert.equal((await handle.query(budgetStatusQuery)).actions[0]?.at, after[0]?.at);

      // A refund of another key takes nothing; the key's own refund empties the budget, which ends.
      assert.deepEqual(await handle.executeUpdate(refundBudgetUpdate, { args: [{ key: 'other' }] }), {
        refunded: false,
      });
      assert.deepEqual(await handle.executeUpdate(refundBudgetUpdate, { args: [{ key: 'k1' }] }), {
        refunded: true,
      });
      const ended = await handle.result();
      assert.deepEqual(ended.actions, []);
      assert.equal(ended.remaining, 3);
    });
  });
});

describe('budget backoff ends', () => {
  it('three alerts for one target within the backoff: each later incident waits its backoff once, then acts', async () => {
    const acts = new TestActivities({
      budgetMax: 5,
      // Longer than an incident takes from its alert to its first question, even on a loaded machine.
      backoff: 40_000,
      backoffCoefficient: 1,
      maxBackoff: 40_000,
      lockWait: 300_000,
    });
    const taskQueue = uniqueTaskQueue('backoff');
    // Straight to the restart: each incident asks the budget moments after it opens.
    const restartOnly = (name: string): string => `
name: ${name}
description: restart a container that flaps
matchers: ['alertname = "Down"']
holdOpen: 1m
steps:
  - id: restart
    phase: remediate
    type: container.restart
    with: { container: "{{ labels.container }}", stopTimeout: 1 }
`;
    await withWorker({ taskQueue, activities: acts.activities() }, async () => {
      // Three runbooks for the one container, each alert arriving just after the previous incident
      // acted: well within the backoff, as with a flapping container.
      const states: IncidentState[] = [];
      const handles: Array<WorkflowHandle<typeof incident>> = [];
      for (const name of ['flap-a', 'flap-b', 'flap-c']) {
        const handle = await openIncident(
          client,
          taskQueue,
          runbookFromText(restartOnly(name)),
          down('flap'),
        );
        handles.push(handle);
        states.push(
          await waitForState(
            handle,
            (s) => s.steps.find((x) => x.id === 'restart')?.status === 'succeeded',
            120_000,
          ),
        );
      }
      assert.equal(acts.callsOf('containerRestart').length, 3);
      const backedOff = states.map((o) => o.timeline.filter((t) => /backing off/.test(t.message)).length);
      assert.equal(backedOff[0], 0, 'the first acts at once');
      assert.deepEqual(backedOff.slice(1), [1, 1], 'each later one backs off once, then acts');
      const [a, b, c] = acts.callsOf('containerRestart').map((x) => x.at) as [number, number, number];
      assert.ok(b - a >= 30_000 && c - b >= 30_000, `restarts waited the backoff (${b - a} ms, ${c - b} ms)`);
      for (const [i, handle] of handles.entries()) {
        const usage = await budgetQuestions(handle);
        assert.equal(usage.asks, i === 0 ? 1 : 2, `incident ${i} asked the budget ${usage.asks} times`);
        assert.ok(usage.events < 150, `incident ${i} history has ${usage.events} events`);
      }
      await Promise.all(handles.map((h) => h.terminate('test done')));
    });
  });

  it('a budget that keeps saying back off: a bounded number of durable waits, then escalation with the reason', async () => {
    const acts = new TestActivities().on('containerInspect', () => ({ exists: true, running: false }));
    const rounds: number[] = [];
    const activities = {
      ...acts.activities(),
      // Stands in for a target others keep acting on (or a budget whose clock is far ahead).
      // eslint-disable-next-line @typescript-eslint/require-await -- an activity is async
      budgetConsume: async (input: { round?: number }) => {
        rounds.push(input.round ?? -1);
        return {
          allowed: false,
          reason: 'backoff',
          retryAt: new Date(Date.now() + 300).toISOString(),
          used: 2,
          remaining: 1,
        };
      },
    };
    const taskQueue = uniqueTaskQueue('backoff-bound');
    const snapshot = runbookFromText(restartRunbook('restart-stuck'));
    await withWorker({ taskQueue, activities }, async () => {
      const handle = await openIncident(client, taskQueue, snapshot, down('stuck'));
      const settled = await waitForState(handle, (s) => s.status === 'escalated', 60_000);
      assert.match(
        settled.escalationReason ?? '',
        /remediation budget for docker:local\/stuck still says to back off after 5 waits/,
      );
      assert.equal(settled.steps.find((s) => s.id === 'restart')?.status, 'skipped');
      assert.equal(acts.callsOf('containerRestart').length, 0);
      assert.deepEqual([...new Set(rounds)], [0, 1, 2, 3, 4, 5], 'each question is a new round');
      const { events } = await budgetQuestions(handle);
      assert.ok(events < 200, `history stays small (${events} events)`);
      await handle.terminate('test done');
    });
  });
});

describe('global breaker', () => {
  it('a storm over 20 targets trips the breaker: automation stops and one summary goes out instead of 20 messages', async () => {
    const acts = new TestActivities({
      breakerMaxActive: 5,
      breakerMaxPercent: 0,
      summarySlackChannel: '#ops-summary',
    })
      .on('containerInspect', () => ({ exists: true, running: false }))
      .on('containerRestart', async (input) => {
        await new Promise((r) => setTimeout(r, 4000));
        return { container: input.params.container, restarted: true };
      });
    const taskQueue = uniqueTaskQueue('breaker');
    const snapshot = runbookFromText(restartRunbook('restart-any'));
    await withWorker({ taskQueue, activities: acts.activities() }, async () => {
      const handles: Array<WorkflowHandle<typeof incident>> = [];
      for (let i = 0; i < 20; i += 1) {
        handles.push(
          await openIncident(client, taskQueue, snapshot, down(`svc-${i}`), {
            workflowId: `storm/${taskQueue}/${i}`,
          }),
        );
      }
      const states = await Promise.all(
        handles.map((h) => waitForState(h, (s) => s.timeline.some((t) => t.kind === 'hold'), 60_000)),
      );
      const acted = states.filter((s) => s.steps.find((x) => x.id === 'restart')?.status === 'succeeded');
      const heldBack = states.filter((s) => s.status === 'escalated');
      assert.equal(acted.length, 5, 'only as many as the breaker allows act');
      assert.equal(heldBack.length, 15);
      assert.ok(heldBack.every((s) => /automation stopped by the breaker/.test(s.escalationReason ?? '')));
      const incidentMessages = acts.callsOf('notify').filter((c) => !c.stepId.startsWith('breaker-'));
      assert.equal(incidentMessages.length, 0, 'held-back incidents send no messages of their own');
      const summaries = acts.callsOf('notify').filter((c) => c.stepId.startsWith('breaker-'));
      assert.equal(summaries.length, 1, 'one summary');
      assert.match(
        String((summaries[0]?.params as { text: string }).text),
        /breaker OPEN: 6 targets would be remediated at once, more than the limit of 5/,
      );
      const control = await client.workflow.getHandle(controlWorkflowId(taskQueue)).query(controlStatusQuery);
      assert.equal(control.breaker.open, true);
      assert.equal(control.breaker.refused.length, 15);

      // Closed by command: the next incident acts again.
      const resumed = await runRebound(['resume', '--breaker', '--as', 'sre-lead'], {
        TEMPORAL_ADDRESS: temporalAddress(),
        TEMPORAL_TASK_QUEUE: taskQueue,
      });
      assert.equal(resumed.code, 0, resumed.stderr);
      const next = await openIncident(client, taskQueue, snapshot, down('svc-after'));
      const nextState = await waitForState(next, (s) => s.timeline.some((t) => t.kind === 'hold'), 30_000);
      assert.equal(nextState.steps.find((x) => x.id === 'restart')?.status, 'succeeded');
      await Promise.all([...handles, next].map((h) => h.terminate('test done')));
    });
  });
});

describe('kill switch', () => {
  it('while paused, incidents open and record what they would do but change nothing; after resume they act', async () => {
    const acts = new TestActivities().on('containerInspect', () => ({ exists: true, running: false }));
    const taskQueue = uniqueTaskQueue('pause');
    const snapshot = runbookFromText(restartRunbook('restart-paused'));
    const env = { TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_TASK_QUEUE: taskQueue };
    await withWorker({ taskQueue, activities: acts.activities() }, async () => {
      const paused = await runRebound(['pause', '--as', 'alice', '--reason', 'maintenance window'], env);
      assert.equal(paused.code, 0, paused.stderr);
      assert.match(paused.stdout, /Paused all automation/);
      const status = await runRebound(['status'], env);
      assert.match(status.stdout, /PAUSED: all automation, by alice .*\(maintenance window\)/);

      const first = await openIncident(client, taskQueue, snapshot, down('db-1'));
      const firstState = await waitForState(first, (s) => s.timeline.some((t) => t.kind === 'hold'));
      const restart = firstState.steps.find((s) => s.id === 'restart');
      assert.match(
        restart?.note ?? '',
        /^paused \(automation paused by alice .*\); would have done: containerRestart/,
      );
      assert.ok(
        acts.callsOf('containerRestart').every((c) => c.dryRun),
        'only dry runs while paused',
      );
      // The budget is asked alongside admission; a paused step's count is taken back.
      assert.ok(
        firstState.timeline.some(
          (t) =>
            t.message === 'budget for docker:local/db-1: the count for restart taken back, it does not act',
        ),
        JSON.stringify(firstState.timeline),
      );

      const resumed = await runRebound(['resume', '--as', 'alice', '--reason', 'window over'], env);
      assert.equal(resumed.code, 0, resumed.stderr);
      const control = await runRebound(['status', '--json'], env);
      const { log } = (JSON.parse(control.stdout) as { control: { log: Array<{ message: string }> } })
        .control;
      assert.ok(
        log.some((entry) => entry.message === 'resumed all automation by alice: window over'),
        JSON.stringify(log),
      );
      const second = await openIncident(client, taskQueue, snapshot, down('db-2'));
      await waitForState(second, (s) => s.timeline.some((t) => t.kind === 'hold'));
      const real = acts.callsOf('containerRestart').filter((c) => !c.dryRun);
      assert.equal(real.length, 1);
      assert.deepEqual(real[0]?.params, { container: 'db-2', stopTimeout: 1 });
      const after = await runRebound(['status', '--json'], env);
      const parsed = JSON.parse(after.stdout) as {
        control: { pausedAll?: unknown };
        budgets: Array<{ resource: string; remaining: number }>;
      };
      assert.equal(parsed.control.pausedAll, undefined);
      assert.deepEqual(
        parsed.budgets.map((b) => [b.resource, b.remaining]),
        [['docker:local/db-2', 2]],
      );
      await Promise.all([first, second].map((h) => h.terminate('test done')));
    });
  });
});

describe('one remediation at a time per target', () => {
  it('a second runbook waits for the target; a lock held by an incident that died is released and the next proceeds', async () => {
    let releaseFirst: () => void = () => {};
    const firstBlocked = new Promise<void>((resolve) => (releaseFirst = resolve));
    const acts = new TestActivities()
      .on('containerInspect', () => ({ exists: true, running: false }))
      .on('containerRestart', async (input) => {
        if (input.ctx.incidentId.includes('runbook-a')) await firstBlocked;
        return { container: input.params.container, restarted: true };
      });
    const taskQueue = uniqueTaskQueue('lock');
    await withWorker({ taskQueue, activities: acts.activities() }, async () => {
      const a = await openIncident(
        client,
        taskQueue,
        runbookFromText(restartRunbook('runbook-a')),
        down('shared'),
        {
          workflowId: `incident/runbook-a/shared/${taskQueue}`,
        },
      );
      await waitForState(a, (s) => s.steps.find((x) => x.id === 'restart')?.status === 'running');
      const b = await openIncident(
        client,
        taskQueue,
        runbookFromText(restartRunbook('runbook-b')),
        down('shared'),
        {
          workflowId: `incident/runbook-b/shared/${taskQueue}`,
        },
      );
      await waitForState(b, (s) =>
        s.timeline.some((t) => t.kind === 'lock' && /waiting for docker:local\/shared/.test(t.message)),
      );
      assert.equal(acts.callsOf('containerRestart').length, 1, 'b does not act while a holds the target');

      // a dies for good (as if its worker and every retry were gone): Temporal ends its lock with it.
      await a.terminate('simulated crash');
      const bDone = await waitForState(
        b,
        (s) => s.steps.find((x) => x.id === 'restart')?.status === 'succeeded',
        30_000,
      );
      assert.ok(
        bDone.timeline.some((t) => t.kind === 'lock' && /acquired docker:local\/shared/.test(t.message)),
      );
      releaseFirst();
      await b.terminate('test done');
    });
  });

  it('an over-wide or empty target selection fails before acting', async () => {
    const acts = new TestActivities();
    const taskQueue = uniqueTaskQueue('targets');
    const snapshot = runbookFromText(`
name: restart-many
description: restart a list of containers
matchers: ['alertname = "Down"']
holdOpen: 1m
steps:
  - id: restart
    phase: remediate
    type: container.restart
    with: { container: ["a", "b", "c"], maxTargets: 2 }
  - id: restart-none
    phase: remediate
    type: container.restart
    with: { container: "{{ has(labels.missing) ? labels.missing : '' }}" }
    onFailure: continue
  - id: tell
    phase: escalate
    type: notify
    with: { channel: slack, text: "{{ steps.restart.error.message }}" }
`);
    await withWorker({ taskQueue, activities: acts.activities() }, async () => {
      const handle = await openIncident(client, taskQueue, snapshot, down('x'));
      const state = await waitForState(
        handle,
        (s) => s.steps.find((x) => x.id === 'tell')?.status === 'succeeded',
      );
      assert.equal(state.steps[0]?.error?.type, 'TooManyTargets');
      assert.match(
        state.steps[0]?.error?.message ?? '',
        /would touch 3 targets \(docker:local\/a, docker:local\/b, docker:local\/c\), more than maxTargets 2; nothing was done/,
      );
      assert.equal(acts.callsOf('containerRestart').length, 0);
      await handle.terminate('test done');
    });
  });

  it('a list of containers within maxTargets restarts each, and an empty one is refused', async () => {
    const acts = new TestActivities();
    const taskQueue = uniqueTaskQueue('targets');
    const snapshot = runbookFromText(`
name: restart-pair
description: restart two containers, then one that names nothing
matchers: ['alertname = "Down"']
holdOpen: 1m
steps:
  - id: pair
    phase: remediate
    type: container.restart
    with: { container: ["a", "b"], maxTargets: 2 }
  - id: none
    phase: remediate
    type: container.restart
    with: { container: "{{ has(labels.missing) ? labels.missing : '' }}" }
    onFailure: continue
`);
    await withWorker({ taskQueue, activities: acts.activities() }, async () => {
      const handle = await openIncident(client, taskQueue, snapshot, down('x'));
      const state = await waitForState(handle, (s) => s.timeline.some((t) => t.kind === 'hold'));
      assert.deepEqual(
        acts.callsOf('containerRestart').map((c) => (c.params as { container: string }).container),
        ['a', 'b'],
      );
      assert.equal(state.steps[1]?.error?.type, 'NoTarget');
      await handle.terminate('test done');
    });
  });
});
