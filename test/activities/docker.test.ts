// Container activities against a real Docker engine with real busybox containers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDockerActivities, dockerOptions, type DockerIntegration } from '../../src/activities/docker';
import { createSecretStore } from '../../src/activities/secrets';
import type {
  ContainerLogsResult,
  ContainerState,
  DryRunReport,
  RestartResult,
  StepContext,
  WaitHealthyResult,
} from '../../src/activities/types';
import { dockerTaskQueue } from '../../src/task-queues';
import {
  buildBusyboxImage,
  freePort,
  runHealthContainer,
  startDockerEngine,
  type DockerEngine,
} from '../support/docker-engine';
import { expectFailure } from '../support/failures';

let engine: DockerEngine;
let image: string;
let activities: DockerIntegration;

function ctx(overrides: Partial<StepContext> = {}): StepContext {
  return {
    incidentId: 'incident/test/x',
    runbook: 'test',
    stepId: 'step',
    stepStartedAt: new Date().toISOString(),
    dryRun: false,
    ...overrides,
  };
}

function env(
  info: { attempt?: number; startToCloseTimeoutMs?: number; heartbeatDetails?: unknown } = {},
): MockActivityEnvironment {
  return new MockActivityEnvironment({
    attempt: 1,
    startToCloseTimeoutMs: 30_000,
    scheduleToCloseTimeoutMs: 0,
    scheduledTimestampMs: Date.now(),
    currentAttemptScheduledTimestampMs: Date.now(),
    ...info,
  });
}

/** Runs one activity in a real activity Context (heartbeats, cancellation, attempt number). */
function run<P, R>(fn: (input: P) => Promise<R>, input: P, e: MockActivityEnvironment = env()): Promise<R> {
  return e.run(fn, input);
}

async function startedAt(name: string): Promise<string> {
  return (await engine.docker.getContainer(name).inspect()).State.StartedAt;
}

/** Docker "start" events of a container from `since` (unix seconds) until now. */
async function startsSince(name: string, since: number): Promise<number> {
  const stream = await engine.docker.getEvents({
    since,
    until: Math.ceil(Date.now() / 1000) + 1,
    filters: { container: [name], event: ['start'] },
  });
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text.split('\n').filter((line) => line.trim()).length;
}

void before(async () => {
  engine = await startDockerEngine();
  image = await buildBusyboxImage(engine);
  activities = createDockerActivities({
    host: engine.host,
    tlsVerify: false,
    hostName: 'test-host',
    timeoutMs: 20_000,
  });
});

void after(async () => {
  await engine?.stop();
});

void describe('container activities on a real Docker engine', () => {
  void it('restarts a killed container and finds it healthy through its Docker health check', async () => {
    const port = await freePort();
    await runHealthContainer(engine, { name: 'api-1', image, port, healthcheck: true });
    const first = await run(activities.containerWaitHealthy, {
      params: { container: 'api-1', intervalMs: 200 },
      ctx: ctx(),
    });
    assert.equal(first.healthy, true);
    assert.equal(first.last.health, 'healthy');

    await engine.docker.getContainer('api-1').kill();
    const dead = await run(activities.containerInspect, { params: { container: 'api-1' }, ctx: ctx() });
    assert.equal(dead.exists, true);
    assert.equal(dead.running, false);

    const heartbeats: unknown[] = [];
    const e = env();
    e.on('heartbeat', (d: unknown) => heartbeats.push(d));
    const result = (await run(
      activities.containerRestart,
      {
        params: { container: 'api-1', stopTimeout: 1 },
        ctx: ctx(),
      },
      e,
    )) as RestartResult;
    assert.equal(result.restarted, true);
    assert.ok(heartbeats.length >= 1, 'restart heartbeats');

    const w = env();
    const observed: unknown[] = [];
    w.on('heartbeat', (d: unknown) => observed.push(d));
    const healthy = await run(
      activities.containerWaitHealthy,
      {
        params: { container: 'api-1', intervalMs: 200 },
        ctx: ctx(),
      },
      w,
    );
    assert.equal(healthy.healthy, true);
    assert.equal(healthy.last.running, true);
    assert.equal(observed.length, healthy.observations, 'one heartbeat per observation');
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(response.status, 200);
  });

  void it('does not restart twice when a retried attempt finds the restart already done', async () => {
    const port = await freePort();
    await runHealthContainer(engine, { name: 'api-2', image, port });
    await new Promise((r) => setTimeout(r, 1100));
    const stepStartedAt = new Date().toISOString();
    const before = await startedAt('api-2');
    const first = (await run(activities.containerRestart, {
      params: { container: 'api-2', stopTimeout: 1 },
      ctx: ctx({ stepStartedAt }),
    })) as RestartResult;
    assert.equal(first.restarted, true);
    const afterFirst = await startedAt('api-2');
    assert.notEqual(afterFirst, before);

    const retry = (await run(
      activities.containerRestart,
      {
        params: { container: 'api-2', stopTimeout: 1 },
        ctx: ctx({ stepStartedAt }),
      },
      env({ attempt: 2 }),
    )) as RestartResult;
    assert.equal(retry.restarted, false);
    assert.equal(await startedAt('api-2'), afterFirst, 'StartedAt unchanged: no second restart');
  });

  void it("waits for an earlier attempt's restart still under way instead of restarting a second time", async () => {
    const port = await freePort();
    await runHealthContainer(engine, { name: 'api-4', image, port });
    await new Promise((r) => setTimeout(r, 1100));
    const since = Math.floor(Date.now() / 1000);
    const stepStartedAt = new Date().toISOString();
    // Attempt 1: a restart that takes its 3 s stop timeout (busybox httpd ignores SIGTERM). Temporal
    // gave up on it (timed out), but Docker goes on with it.
    const first = run(activities.containerRestart, {
      params: { container: 'api-4', stopTimeout: 3 },
      ctx: ctx({ stepStartedAt }),
    });
    await new Promise((r) => setTimeout(r, 500));
    // Attempt 2 gets attempt 1's last heartbeat, as Temporal delivers it to the next attempt.
    const retryEnv = env({
      attempt: 2,
      heartbeatDetails: { restarting: 'api-4', waitingSince: Date.now() - 500 },
    });
    const retry = (await run(
      activities.containerRestart,
      { params: { container: 'api-4', stopTimeout: 3 }, ctx: ctx({ stepStartedAt }) },
      retryEnv,
    )) as RestartResult;
    assert.equal(retry.restarted, false, 'the retry waited for the restart already under way');
    await first;
    assert.equal(await startsSince('api-4', since), 1, 'Docker started the container once');
  });

  void it('finishes a restart an earlier attempt left half done: stopped after the step began, never started', async () => {
    const port = await freePort();
    const container = await runHealthContainer(engine, { name: 'api-5', image, port });
    await new Promise((r) => setTimeout(r, 1100));
    const stepStartedAt = new Date().toISOString();
    await container.stop({ t: 0 });
    const result = (await run(activities.containerRestart, {
      params: { container: 'api-5', stopTimeout: 1 },
      ctx: ctx({ stepStartedAt }),
    })) as RestartResult;
    assert.equal(result.restarted, true);
    assert.equal((await container.inspect()).State.Running, true);
  });

  void it('restarts when the earlier attempt said it was restarting but nothing happened within the grace', async () => {
    const port = await freePort();
    await runHealthContainer(engine, { name: 'api-6', image, port });
    await new Promise((r) => setTimeout(r, 1100));
    const before = await startedAt('api-6');
    const stepStartedAt = new Date().toISOString();
    const retryEnv = env({
      attempt: 2,
      heartbeatDetails: { restarting: 'api-6', waitingSince: Date.now() - 60_000 },
    });
    const result = (await run(
      activities.containerRestart,
      { params: { container: 'api-6', stopTimeout: 1 }, ctx: ctx({ stepStartedAt }) },
      retryEnv,
    )) as RestartResult;
    assert.equal(result.restarted, true);
    assert.notEqual(await startedAt('api-6'), before);
  });

  void it('treats 304 from start and stop as success', async () => {
    const port = await freePort();
    const container = await runHealthContainer(engine, { name: 'api-3', image, port });
    // The engine really answers 304 for a start of a running container.
    await assert.rejects(container.start(), (e: { statusCode?: number }) => e.statusCode === 304);
    const started = (await run(activities.containerStart, {
      params: { container: 'api-3' },
      ctx: ctx(),
    })) as ContainerState;
    assert.equal(started.running, true);

    const stopped = (await run(activities.containerStop, {
      params: { container: 'api-3', stopTimeout: 1 },
      ctx: ctx(),
    })) as ContainerState;
    assert.equal(stopped.running, false);
    await assert.rejects(container.stop({ t: 1 }), (e: { statusCode?: number }) => e.statusCode === 304);
    const again = (await run(activities.containerStop, {
      params: { container: 'api-3', stopTimeout: 1 },
      ctx: ctx(),
    })) as ContainerState;
    assert.equal(again.running, false);
  });

  void it('fails a missing container with non-retryable ContainerNotFound naming the container and host', async () => {
    for (const attempt of [
      () => run(activities.containerRestart, { params: { container: 'nope' }, ctx: ctx() }),
      () => run(activities.containerStart, { params: { container: 'nope' }, ctx: ctx() }),
      () => run(activities.containerStop, { params: { container: 'nope' }, ctx: ctx() }),
      () => run(activities.containerWaitHealthy, { params: { container: 'nope' }, ctx: ctx() }),
    ]) {
      const failure = await expectFailure(attempt(), 'ContainerNotFound', true);
      assert.match(failure.message, /"nope"/);
      assert.match(failure.message, /test-host/);
    }
    const state = await run(activities.containerInspect, { params: { container: 'nope' }, ctx: ctx() });
    assert.deepEqual(state, { exists: false, running: false });
  });

  void it('fails over from primary to standby and verifies the standby healthy', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    await runHealthContainer(engine, { name: 'db-primary', image, port: p1, healthcheck: true });
    await runHealthContainer(engine, {
      name: 'db-standby',
      image,
      port: p2,
      healthcheck: true,
      start: false,
    });
    const result = await run(activities.containerFailover, {
      params: { primary: 'db-primary', standby: 'db-standby', stopTimeout: 1 },
      ctx: ctx(),
    });
    assert.ok(!('dryRun' in result));
    assert.equal(result.primary.running, false);
    assert.equal(result.standby.running, true);
    assert.equal(result.standby.health, 'healthy');
    // Retried: both calls are already done (304) and it still succeeds.
    const retry = await run(
      activities.containerFailover,
      {
        params: { primary: 'db-primary', standby: 'db-standby', stopTimeout: 1 },
        ctx: ctx(),
      },
      env({ attempt: 2 }),
    );
    assert.ok(!('dryRun' in retry));
    assert.equal(retry.standby.running, true);
  });

  void it('gives up just before the attempt timeout with the last observed state', async () => {
    const port = await freePort();
    await runHealthContainer(engine, { name: 'sick', image, port, failingHealthcheck: true });
    const started = Date.now();
    const failure = await expectFailure(
      run(
        activities.containerWaitHealthy,
        {
          params: { container: 'sick', intervalMs: 200 },
          ctx: ctx(),
        },
        env({ startToCloseTimeoutMs: 4000 }),
      ),
      'ContainerNotHealthy',
      true,
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 4000 && elapsed > 2500, `gave up after ${elapsed}ms`);
    const details = failure.details?.[0] as WaitHealthyResult;
    assert.equal(details.healthy, false);
    assert.equal(details.last.running, true);
    assert.equal(details.last.health, 'unhealthy');
    assert.ok(details.observations > 3);
  });

  void it('probes a URL when the container has no health check, and honours cancellation', async () => {
    const port = await freePort();
    await runHealthContainer(engine, { name: 'web', image, port });
    const ok = await run(activities.containerWaitHealthy, {
      params: { container: 'web', url: `http://127.0.0.1:${port}/health`, intervalMs: 200 },
      ctx: ctx(),
    });
    assert.equal(ok.healthy, true);
    assert.equal(ok.last.health, undefined);

    const e = env();
    const waiting = run(
      activities.containerWaitHealthy,
      {
        params: { container: 'web', url: `http://127.0.0.1:${port}/missing`, intervalMs: 200 },
        ctx: ctx(),
      },
      e,
    );
    setTimeout(() => e.cancel(), 700);
    await assert.rejects(waiting, (error) => error instanceof CancelledFailure);
  });

  void it('dry run changes nothing and reports what it would do', async () => {
    const port = await freePort();
    await runHealthContainer(engine, { name: 'api-dry', image, port });
    const before = await startedAt('api-dry');
    const report = (await run(activities.containerRestart, {
      params: { container: 'api-dry', stopTimeout: 10 },
      ctx: ctx({ dryRun: true, stepStartedAt: new Date(Date.now() + 60_000).toISOString() }),
    })) as DryRunReport;
    assert.equal(report.dryRun, true);
    assert.equal(report.wouldDo, 'restart container api-dry on host test-host (stop timeout 10s)');
    assert.equal((report.observed as ContainerState).running, true);
    const stop = (await run(activities.containerStop, {
      params: { container: 'api-dry' },
      ctx: ctx({ dryRun: true }),
    })) as DryRunReport;
    assert.equal(stop.dryRun, true);
    const failover = (await run(activities.containerFailover, {
      params: { primary: 'api-dry', standby: 'api-3' },
      ctx: ctx({ dryRun: true }),
    })) as DryRunReport;
    assert.match(failover.wouldDo, /stop container api-dry .* start container api-3/);
    assert.equal(await startedAt('api-dry'), before);
    assert.equal((await engine.docker.getContainer('api-dry').inspect()).State.Running, true);
  });
});

/** Runs a busybox script to completion in a new container; its output stays in the container's log. */
async function runToExit(name: string, script: string, tty = false): Promise<void> {
  const container = await engine.docker.createContainer({
    name,
    Image: image,
    Cmd: ['/bin/sh', '-c', script],
    Tty: tty,
    HostConfig: { NetworkMode: 'host' },
  });
  await container.start();
  const exit = (await container.wait()) as { StatusCode: number };
  assert.equal(exit.StatusCode, 0, `${name} exited with ${exit.StatusCode}`);
}

const logs = (params: Record<string, unknown>): Promise<ContainerLogsResult> =>
  run(activities.containerLogs, { params: params as { container: string }, ctx: ctx() });

const textOf = (result: ContainerLogsResult, stream: 'stdout' | 'stderr'): string[] =>
  result.lines.filter((l) => l.stream === stream).map((l) => l.text);

void describe('container.logs on a real Docker engine', () => {
  void it('separates stdout from stderr and escapes terminal control characters', async () => {
    await runToExit(
      'logger-1',
      "echo out-1; echo err-1 >&2; echo out-2; printf 'evil \\033]0;title\\007 \\342\\200\\256rtl\\r\\n'; echo err-2 >&2; printf 'no newline at end'",
    );
    const result = await logs({ container: 'logger-1' });
    assert.equal(result.container, 'logger-1');
    assert.deepEqual(textOf(result, 'stdout'), [
      'out-1',
      'out-2',
      'evil \\x1b]0;title\\x07 \\u202ertl',
      'no newline at end',
    ]);
    assert.deepEqual(textOf(result, 'stderr'), ['err-1', 'err-2']);
    assert.equal(result.truncated, false);
    // eslint-disable-next-line no-control-regex -- no raw control character may reach the history
    for (const line of result.lines) assert.doesNotMatch(line.text, /[\u0000-\u001f\u202e]/);
    // since: everything here was written in the last hour.
    assert.equal((await logs({ container: 'logger-1', since: '1h' })).lines.length, 6);
  });

  void it('returns the newest tail lines, 100 by default', async () => {
    await runToExit('logger-many', 'i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo n-$i; done');
    const five = await logs({ container: 'logger-many', tail: 5 });
    assert.deepEqual(textOf(five, 'stdout'), ['n-296', 'n-297', 'n-298', 'n-299', 'n-300']);
    const standard = await logs({ container: 'logger-many' });
    assert.equal(standard.lines.length, 100);
    assert.equal(standard.lines[0]?.text, 'n-201');
    assert.equal(standard.truncated, false);
  });

  void it('caps long lines and the total size, keeping the newest lines', async () => {
    const line400 = 's=0123456789; s=$s$s$s$s; s=$s$s$s$s$s$s$s$s$s$s';
    // stdout and stderr reach Docker's log through separate pipes, so each container writes to one.
    await runToExit('logger-big', `${line400}; i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo $i-$s; done`);
    const result = await logs({ container: 'logger-big', tail: 1000 });
    assert.equal(result.truncated, true);
    const bytes = result.lines.reduce((n, l) => n + Buffer.byteLength(l.text) + 1, 0);
    assert.ok(bytes <= 16 * 1024, `${bytes} bytes kept`);
    const out = textOf(result, 'stdout');
    assert.ok(out.length > 10 && out.length < 200, `${out.length} stdout lines kept`);
    assert.match(out[0] ?? '', new RegExp(`^${201 - out.length}-0123`));
    assert.match(out[out.length - 1] ?? '', /^200-0123/);

    await runToExit('logger-long', `${line400}; echo $s$s$s$s$s >&2; echo short >&2`);
    const long = await logs({ container: 'logger-long' });
    assert.equal(long.truncated, true);
    const [cut = '', short] = textOf(long, 'stderr');
    assert.ok(cut.startsWith('0123456789') && cut.endsWith(' …'), cut);
    assert.equal(Buffer.byteLength(cut.replace(/ …$/, '')), 500);
    assert.equal(short, 'short');
  });

  void it('reads a TTY container raw, as stdout', async () => {
    await runToExit('logger-tty', 'echo tty-1; echo tty-2 >&2', true);
    const result = await logs({ container: 'logger-tty' });
    assert.deepEqual(result.lines, [
      { stream: 'stdout', text: 'tty-1' },
      { stream: 'stdout', text: 'tty-2' },
    ]);
  });

  void it('masks the secrets this worker knows and credential-shaped values, even across the cut', async () => {
    const secret = 'sup3r-s3cret-value-42';
    const fileDir = mkdtempSync(join(tmpdir(), 'rebound-secrets-'));
    const file = join(fileDir, 'secrets');
    writeFileSync(file, 'SMTP_PASS: mail-pa55-from-file\n', { mode: 0o600 });
    const store = createSecretStore({ env: { REBOUND_SECRET_DB: secret }, file });
    const masking = createDockerActivities(
      { host: engine.host, tlsVerify: false, hostName: 'test-host', timeoutMs: 20_000 },
      undefined,
      () => store.values(),
    );
    // 490 bytes of padding, so the secret straddles the 500-byte cut of the last line.
    const pad = 's=0123456789; s=$s$s$s$s$s$s$s; s=$s$s$s$s$s$s$s';
    await runToExit(
      'logger-secrets',
      `${pad}; echo "connecting with ${secret} now"; echo "smtp login mail-pa55-from-file"; ` +
        `echo "DB_PASSWORD=hunter22 user=app"; echo '{"client_secret": "cs-123456", "n": 1}'; ` +
        `echo "GET / Authorization: Bearer abcdefghijklmnop"; echo "dsn postgres://app:pa55word@db:5432/x"; ` +
        `echo "\${s}${secret}"`,
    );
    const result = await run(masking.containerLogs, { params: { container: 'logger-secrets' }, ctx: ctx() });
    const out = textOf(result, 'stdout');
    assert.deepEqual(out.slice(0, 6), [
      'connecting with *** now',
      'smtp login ***',
      'DB_PASSWORD=*** user=app',
      '{"client_secret": "***", "n": 1}',
      'GET / Authorization: Bearer ***',
      'dsn postgres://app:***@db:5432/x',
    ]);
    assert.match(out[6] ?? '', /\*\*\* …$/);
    const stored = JSON.stringify(result);
    for (const leaked of [
      secret,
      secret.slice(0, 8),
      'mail-pa55-from-file',
      'hunter22',
      'cs-123456',
      'abcdefghijklmnop',
      'pa55word',
    ])
      assert.ok(!stored.includes(leaked), `${leaked} is in ${stored}`);
    rmSync(fileDir, { recursive: true, force: true });
  });

  void it('refuses a missing container and bad parameters without retrying', async () => {
    const missing = await expectFailure(logs({ container: 'nope' }), 'ContainerNotFound', true);
    assert.match(missing.message, /"nope".*test-host/);
    await expectFailure(logs({ container: 'logger-1', tail: 0 }), 'BadParameters', true);
    await expectFailure(logs({ container: 'logger-1', tail: 1001 }), 'BadParameters', true);
    await expectFailure(logs({ container: 'logger-1', since: 'yesterday' }), 'BadParameters', true);
    await expectFailure(logs({ container: '../etc' }), 'BadParameters', true);
  });
});

void describe('docker connection settings', () => {
  void it('reads unix and tcp hosts', () => {
    assert.deepEqual(dockerOptions({ host: 'unix:///run/x.sock', tlsVerify: false, timeoutMs: 5 }), {
      socketPath: '/run/x.sock',
      timeout: 5,
    });
    assert.deepEqual(dockerOptions({ host: 'tcp://10.0.0.1:2375', tlsVerify: false, timeoutMs: 5 }), {
      host: '10.0.0.1',
      port: '2375',
      protocol: 'http',
      timeout: 5,
    });
    const tls = dockerOptions({ host: 'tcp://10.0.0.1:2376', tlsVerify: true, timeoutMs: 5 });
    assert.equal(tls.protocol, 'https');
    assert.throws(() => dockerOptions({ host: 'ssh://x', tlsVerify: false, timeoutMs: 5 }), /DOCKER_HOST/);
  });

  void it('names the task queue of a Docker host', () => {
    assert.equal(dockerTaskQueue('rebound', 'edge-1'), 'rebound.docker.edge-1');
  });
});
