// The compose stack's demo service on a real Docker engine: its own command and health check (from
// docker-compose.yml) in a busybox container, broken the way docs/deployment.md says, and recovered
// by Rebound's real container activities in the order the restart-container runbook runs them.
// Outside Docker's bridge network the containers share the host network, so port 8080 becomes a free
// port, and the health check runs every 300 ms instead of 5 s to keep the test short.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDockerActivities } from '../../src/activities/docker';
import type {
  ContainerState,
  DryRunReport,
  RestartResult,
  StepContext,
  WaitHealthyResult,
} from '../../src/activities/types';
import { asList, readCompose } from '../support/compose';
import { buildBusyboxImage, freePort, startDockerEngine, type DockerEngine } from '../support/docker-engine';

let engine: DockerEngine;
let image: string;

const ms = (n: number): number => n * 1_000_000;

function ctx(stepId: string): StepContext {
  return {
    incidentId: 'restart-container/demo-primary',
    runbook: 'restart-container',
    stepId,
    stepStartedAt: new Date().toISOString(),
    dryRun: false,
  };
}

function activityEnv(): MockActivityEnvironment {
  return new MockActivityEnvironment({
    attempt: 1,
    startToCloseTimeoutMs: 60_000,
    scheduleToCloseTimeoutMs: 0,
    scheduledTimestampMs: Date.now(),
    currentAttemptScheduledTimestampMs: Date.now(),
  });
}

async function health(port: number): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: res.status, body: await res.text() };
}

describe('the demo service', () => {
  before(async () => {
    engine = await startDockerEngine();
    image = await buildBusyboxImage(engine);
  });
  after(async () => {
    await engine?.stop();
  });

  it('serves a health metric, reads as unhealthy when broken, and is recovered by restart', async () => {
    const demo = readCompose().services.demo;
    assert.ok(demo?.container_name);
    const port = await freePort();
    const withPort = (args: string[]): string[] => args.map((a) => a.replaceAll('8080', String(port)));
    const command = withPort(asList(demo.command));
    const test = withPort(asList(demo.healthcheck?.test));
    assert.ok(
      command.length > 0 && test[0] === 'CMD',
      'the demo has a command and an exec-form health check',
    );

    const name = demo.container_name;
    const container = await engine.docker.createContainer({
      name,
      Image: image,
      Cmd: command,
      HostConfig: { NetworkMode: 'host' },
      Healthcheck: { Test: test, Interval: ms(300), Timeout: ms(1000), Retries: 2, StartPeriod: 0 },
    });
    await container.start();

    const docker = createDockerActivities({
      host: engine.host,
      tlsVerify: false,
      timeoutMs: 10_000,
    });
    const waitHealthy = (): Promise<WaitHealthyResult> =>
      activityEnv().run(docker.containerWaitHealthy, {
        params: { container: name, intervalMs: 200 },
        ctx: ctx('wait-healthy'),
      });

    assert.equal((await waitHealthy()).healthy, true);
    const served = await health(port);
    assert.equal(served.status, 200);
    // Prometheus' text format: the page is what the demo scrape job reads as `up`.
    assert.match(served.body, /^[a-zA-Z_:][a-zA-Z0-9_:]* \d+\n$/);

    // Break it as docs/deployment.md does (`rm /www/health`; the test image calls rm through busybox).
    const exec = await container.exec({ Cmd: ['/bin/busybox', 'rm', '/www/health'] });
    const stream = await exec.start({ hijack: false, stdin: false });
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
      stream.resume();
    });
    // The stream can end a moment before Docker records the exec's exit code.
    let execState = await exec.inspect();
    for (let i = 0; i < 50 && execState.Running; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      execState = await exec.inspect();
    }
    assert.equal(execState.ExitCode, 0);
    assert.equal((await health(port)).status, 404);
    let inspected: ContainerState | undefined;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const state: ContainerState = await activityEnv().run(docker.containerInspect, {
        params: { container: name },
        ctx: ctx('inspect'),
      });
      inspected = state;
      if (state.health === 'unhealthy') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(
      inspected?.health,
      'unhealthy',
      'the restart-container runbook restarts only an unhealthy one',
    );
    assert.equal(inspected?.running, true);

    const restarted: RestartResult | DryRunReport = await activityEnv().run(docker.containerRestart, {
      params: { container: name, stopTimeout: 2 },
      ctx: ctx('restart'),
    });
    assert.ok('restarted' in restarted && restarted.restarted, JSON.stringify(restarted));
    assert.equal((await waitHealthy()).healthy, true);
    assert.equal((await health(port)).status, 200);
  });
});
