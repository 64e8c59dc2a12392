// The step registry derives what used to be listed by hand: these tests pin the derived lists to the
// hand-written ones they replace, and the activity options of every step type to the hand-written
// function every recorded history was made with.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDockerActivities } from '../../src/activities/docker';
import { activityLines } from '../../src/audit/model';
import type { Runbook, Step } from '../../src/runbook-lang/types';
import {
  ACTIVITY_FOR_STEP,
  ACTIVITY_STEP_TYPES,
  CHECK_STEP_TYPES,
  CONTROL_STEP_TYPES,
  DOCKER_HOST_ACTIVITIES,
  MUTATING_STEP_TYPES,
  STEP_DEFINITIONS,
  STEP_TYPES,
  activityOptionsFor,
  mutationTargets,
  routesToDockerHost,
} from '../../src/steps/registry';
import type { ActivityOptions } from '@temporalio/workflow';
import { durationMs } from '../../src/runbook-lang/duration';
import { dockerTaskQueue } from '../../src/task-queues';

const TASK_QUEUE = 'rebound-test';

/**
 * The options the interpreter's hand-written activityOptions() gave every step before the registry
 * took over, kept as the reference: every recorded history was made with them.
 */
function handWrittenOptions(runbook: Runbook, step: Step): ActivityOptions {
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
      ? { taskQueue: dockerTaskQueue(TASK_QUEUE, step.host) }
      : {}),
  };
}

const runbook = (defaults: Runbook['defaults']): Runbook => ({
  name: 'r',
  description: '',
  matchers: [],
  variables: {},
  defaults,
  onResolvedBeforeAction: 'stop',
  holdOpen: '10m',
  steps: [],
});

void describe('step registry', () => {
  void it('schedules every step type exactly as the interpreter does today', () => {
    const runbooks = [
      runbook({ timeout: '30s', retry: { maximumAttempts: 3, initialInterval: '1s' } }),
      runbook({
        timeout: 4000,
        retry: {
          maximumAttempts: 7,
          backoffCoefficient: 3,
          maximumInterval: '2m',
          nonRetryableErrorTypes: ['X'],
        },
      }),
    ];
    const variants: Array<Partial<Step>> = [
      {},
      { host: 'db-host' },
      { timeout: '5s' },
      { timeout: '2m', host: 'web-1', retry: { maximumAttempts: 1, initialInterval: '250ms' } },
    ];
    let compared = 0;
    for (const rb of runbooks)
      for (const type of STEP_TYPES)
        for (const variant of variants) {
          const step: Step = { id: 's', phase: 'remediate', type, with: {}, ...variant };
          assert.deepEqual(
            activityOptionsFor(rb, step, TASK_QUEUE),
            handWrittenOptions(rb, step),
            `${type} ${JSON.stringify(variant)}`,
          );
          compared += 1;
        }
    assert.equal(compared, 2 * STEP_TYPES.length * variants.length);
    const routed = activityOptionsFor(
      runbooks[0] as Runbook,
      { id: 'l', phase: 'detect', type: 'container.logs', with: {}, host: 'h' },
      TASK_QUEUE,
    );
    assert.equal(routed.taskQueue, `${TASK_QUEUE}.docker.h`);
    assert.equal(routed.heartbeatTimeout, undefined);
  });

  void it('derives the lists that used to be written by hand', () => {
    assert.deepEqual(
      [...STEP_TYPES],
      [
        'container.inspect',
        'container.restart',
        'container.start',
        'container.stop',
        'container.failover',
        'container.wait-healthy',
        'container.logs',
        'probe.http',
        'probe.tcp',
        'prometheus.query',
        'impact.assess',
        'http.call',
        'notify',
        'approval',
        'sleep',
        'escalate',
      ],
    );
    assert.deepEqual([...CONTROL_STEP_TYPES], ['approval', 'sleep', 'escalate']);
    assert.deepEqual([...ACTIVITY_STEP_TYPES], STEP_TYPES.slice(0, -3));
    assert.deepEqual(
      [...MUTATING_STEP_TYPES].sort(),
      ['container.failover', 'container.restart', 'container.start', 'container.stop', 'http.call'].sort(),
    );
    assert.deepEqual(
      [...CHECK_STEP_TYPES].sort(),
      ['container.inspect', 'prometheus.query', 'probe.http', 'probe.tcp'].sort(),
    );
    assert.deepEqual(ACTIVITY_FOR_STEP, {
      'container.inspect': 'containerInspect',
      'container.restart': 'containerRestart',
      'container.start': 'containerStart',
      'container.stop': 'containerStop',
      'container.failover': 'containerFailover',
      'container.wait-healthy': 'containerWaitHealthy',
      'container.logs': 'containerLogs',
      'probe.http': 'probeHttp',
      'probe.tcp': 'probeTcp',
      'prometheus.query': 'prometheusQuery',
      'impact.assess': 'impactAssess',
      'http.call': 'httpCall',
      notify: 'notify',
    });
    for (const type of STEP_TYPES)
      assert.equal(routesToDockerHost(type), type.startsWith('container.'), `${type} routes by host`);
  });

  void it('serves exactly the Docker activities on a Docker host worker', () => {
    const docker = createDockerActivities({
      host: 'unix:///nonexistent.sock',
      tlsVerify: false,
      timeoutMs: 1000,
    });
    assert.deepEqual([...DOCKER_HOST_ACTIVITIES].sort(), Object.keys(docker).sort());
  });

  void it('names the targets of mutating steps and refuses empty or over-wide selections', () => {
    const step = (type: Step['type'], host?: string): Step => ({
      id: 'act',
      phase: 'remediate',
      type,
      with: {},
      ...(host ? { host } : {}),
    });
    assert.deepEqual(mutationTargets(step('container.restart', 'h1'), { container: ' api ' }), {
      ok: true,
      resources: ['docker:h1/api'],
      containers: ['api'],
    });
    assert.deepEqual(mutationTargets(step('container.stop'), { container: ['a', 'b'], maxTargets: 2 }), {
      ok: true,
      resources: ['docker:local/a', 'docker:local/b'],
      containers: ['a', 'b'],
    });
    assert.deepEqual(mutationTargets(step('container.failover'), { primary: 'p', standby: 's' }), {
      ok: true,
      resources: ['docker:local/p', 'docker:local/s'],
      containers: [],
    });
    assert.deepEqual(mutationTargets(step('http.call'), { url: 'HTTPS://Api.Example:8443/x?y' }), {
      ok: true,
      resources: ['http:https://api.example:8443'],
      containers: [],
    });
    const wide = mutationTargets(step('container.start'), { container: ['a', 'b'] });
    assert.equal(wide.ok ? '' : wide.type, 'TooManyTargets');
    const empty = mutationTargets(step('container.start'), { container: ['a', ''] });
    assert.equal(empty.ok ? '' : empty.type, 'NoTarget');
    const readOnly = mutationTargets(step('container.logs'), { container: 'a' });
    assert.equal(readOnly.ok ? '' : readOnly.type, 'NoTarget');
  });

  void it('makes every mutating step report instead of act in a dry run', () => {
    for (const type of MUTATING_STEP_TYPES) assert.equal(STEP_DEFINITIONS[type].dryRun, 'reports', type);
    assert.equal(STEP_DEFINITIONS['container.logs'].mutates, undefined);
  });

  void it('shows container.logs output in the audit one log line per line, and other outputs as JSON', () => {
    const audit = (activityType: string, result: unknown) =>
      activityLines({
        activityId: '1',
        activityType,
        stepId: 'logs',
        purpose: 'step',
        scheduledEventId: 5,
        scheduledAt: '2026-11-30T10:00:00Z',
        attempt: 1,
        outcome: 'completed',
        input: {},
        params: { container: 'api', tail: 2 },
        result,
      });
    const lines = audit('containerLogs', {
      container: 'api',
      lines: [
        { stream: 'stdout', text: 'listening on :8080' },
        { stream: 'stderr', text: 'panic: \\x1b[31mout of memory' },
      ],
      truncated: false,
    });
    assert.deepEqual(lines.slice(-3), [
      'log: 2 line(s)',
      '  out| listening on :8080',
      '  err| panic: \\x1b[31mout of memory',
    ]);
    assert.equal(lines.at(-4), 'params: {"container":"api","tail":2}');
    assert.equal(audit('containerInspect', { running: true }).at(-1), 'output: {"running":true}');
  });
});
