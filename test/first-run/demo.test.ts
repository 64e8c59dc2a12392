// `rebound demo` as a new user runs it, against a real (private) Docker engine: the container is
// killed and comes back, the incident resolves, and nothing is left running — no container, no dev
// server. Run twice (once starting `rebound dev` itself, once with it already running, on the same
// data), as the safety budget and breaker must not stop a second run. Without Docker it says what is
// missing and exits 3.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEMO_LABEL } from '../../src/demo/service';
import { freePort, startDockerEngine, type DockerEngine } from '../support/docker-engine';
import { runRebound, startRebound, DEV_READY_TIMEOUT_MS } from '../support/processes';
import { temporalCliPath } from '../support/temporal';

const ROOT = path.resolve(__dirname, '../..');

function processesUsing(dataDir: string): string {
  try {
    return execFileSync('pgrep', ['-af', dataDir], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function demoEnv(engineHost: string): Promise<Record<string, string>> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-demo-'));
  return {
    DOCKER_HOST: engineHost,
    TEMPORAL_CLI_PATH: temporalCliPath(),
    REBOUND_DATA_DIR: dataDir,
    REBOUND_TEMPORAL_PORT: String(await freePort()),
    REBOUND_UI_PORT: '0',
    REBOUND_PORT: String(await freePort()),
    REBOUND_LOG_LEVEL: 'warn',
  };
}

async function assertNothingLeft(engine: DockerEngine, env: Record<string, string>): Promise<void> {
  const containers = await engine.docker.listContainers({ all: true, filters: { label: [DEMO_LABEL] } });
  assert.deepEqual(
    containers.map((c) => c.Names),
    [],
    'the demo container is removed',
  );
  assert.equal(processesUsing(env.REBOUND_DATA_DIR!), '', 'no rebound dev or Temporal process is left');
  assert.equal(await listening(Number(env.REBOUND_TEMPORAL_PORT)), false, 'Temporal is stopped');
  assert.equal(await listening(Number(env.REBOUND_PORT)), false, 'the receiver is stopped');
}

/** The narration a user sees, in order: each pattern after the one before. */
function assertInOrder(output: string, patterns: RegExp[]): void {
  let from = 0;
  for (const pattern of patterns) {
    const match = pattern.exec(output.slice(from));
    assert.ok(match, `expected ${pattern} after position ${from} in:\n${output}`);
    from += match.index + match[0].length;
  }
}

const NARRATION = [
  /Docker engine +unix:\/\/\S+ \(Docker /,
  /started container (rebound-demo-[0-9a-f]{6})/,
  /is healthy\n/,
  /broke it: docker kill rebound-demo-[0-9a-f]{6} → exited \(exit code 137\)/,
  /alert sent as Alertmanager would: ContainerUnhealthy\{container="rebound-demo-[0-9a-f]{6}"\} firing → started/,
  /incident opened: incident\/restart-container\/localhost\/rebound-demo-[0-9a-f]{6} \(runbook restart-container\)/,
  /inspect: rebound-demo-[0-9a-f]{6} is exited \(exit code 137\)/,
  /restart: docker restart rebound-demo-[0-9a-f]{6}: started again/,
  /wait-healthy: healthy again/,
  /probe: answered 200/,
  /is running and healthy: the alert resolves/,
  /alert sent as Alertmanager would: resolved → resolved/,
  /incident resolved: remediated/,
  /Recovered: rebound-demo-[0-9a-f]{6} was killed and was healthy again within [\d.]+ s/,
  /rebound audit /,
];

describe('rebound demo', () => {
  let engine: DockerEngine;

  before(async () => {
    engine = await startDockerEngine();
  });
  after(async () => {
    await engine?.stop();
  });

  it('breaks a real container, narrates its recovery, cleans up, and works again right after', async () => {
    const env = await demoEnv(engine.host);

    // First run: nothing is running, so the demo starts `rebound dev` and stops it afterwards.
    const first = await runRebound(['demo'], env, 8 * 60_000);
    const firstOut = first.stdout + first.stderr;
    assert.equal(first.code, 0, firstOut);
    assert.match(firstOut, /starting `rebound dev` for the demo/);
    assertInOrder(firstOut, NARRATION);
    assert.match(firstOut, /cleaned up: removed container rebound-demo-/);
    assert.match(firstOut, /cleaned up: stopped the `rebound dev` the demo started/);
    assert.doesNotMatch(firstOut, /cleaned up: sent the resolved alert/, 'it was already sent');
    // The history was exported before the server stopped, and audits offline.
    const exported = readdirSync(path.join(env.REBOUND_DATA_DIR!, 'demo'));
    assert.equal(exported.length, 1);
    const audit = await runRebound(['audit', path.join(env.REBOUND_DATA_DIR!, 'demo', exported[0]!)], env);
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /restart/);
    await assertNothingLeft(engine, env);
    // The image it built is kept for next time.
    const images = await engine.docker.listImages();
    assert.ok(images.some((i) => (i.RepoTags ?? []).includes('rebound-demo:busybox')));

    // Second run, against a `rebound dev` that is already running on the same data: the first run's
    // budget and breaker state are there, and the demo still recovers its (new) container.
    const dev = startRebound(['dev'], env, ROOT);
    try {
      await dev.waitFor(/Press Ctrl-C to stop/, DEV_READY_TIMEOUT_MS);
      const second = await runRebound(['demo'], env, 8 * 60_000);
      const secondOut = second.stdout + second.stderr;
      assert.equal(second.code, 0, secondOut);
      assert.match(secondOut, /Rebound +running at http:\/\/127\.0\.0\.1:/);
      assertInOrder(secondOut, NARRATION);
      assert.doesNotMatch(secondOut, /stopped the `rebound dev`/, 'a dev it did not start keeps running');
      assert.equal(await listening(Number(env.REBOUND_PORT)), true);
    } finally {
      assert.equal(await dev.stop('SIGTERM'), 0, dev.output());
    }
    await assertNothingLeft(engine, env);
  });

  it('cleans up the container and the dev server it started on Ctrl-C', async () => {
    const env = await demoEnv(engine.host);
    const demo = startRebound(['demo'], env, ROOT);
    // In the middle of an incident: the alert went out and the incident is open.
    await demo.waitFor(/incident opened: /, 5 * 60_000);
    const code = await demo.stop('SIGINT');
    assert.equal(code, 130, demo.output());
    assert.match(demo.output(), /SIGINT: stopping the demo and cleaning up/);
    assert.match(demo.output(), /cleaned up: sent the resolved alert/);
    assert.match(demo.output(), /cleaned up: removed container rebound-demo-/);
    assert.match(demo.output(), /cleaned up: stopped the `rebound dev` the demo started/);
    await assertNothingLeft(engine, env);
  });

  it('says what is missing, and exits 3, when no Docker engine answers', async () => {
    const env = await demoEnv('unix:///nonexistent/rebound-demo/docker.sock');
    // A bound for the process, not a timing claim: a loaded machine takes tens of seconds to start node.
    const result = await runRebound(['demo'], env, 180_000);
    assert.equal(result.code, 3, result.stdout + result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0]!,
      /^rebound: no Docker engine answers at unix:\/\/\/nonexistent\/rebound-demo\/docker\.sock \(.*\); start Docker \(systemctl start docker\) or point DOCKER_HOST at one/,
    );
    // It stopped before starting anything.
    assert.equal(existsSync(path.join(env.REBOUND_DATA_DIR!, 'demo-dev.log')), false);
    assert.equal(processesUsing(env.REBOUND_DATA_DIR!), '');
  });
});
