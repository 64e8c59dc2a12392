// Issue 13: container names from alert labels go into Docker API paths (`/containers/<name>/json`). A
// name outside Docker's rules must fail before any request reaches the engine. The engine is real; a
// recording proxy on its socket shows which requests were made.
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createDockerActivities, type DockerIntegration } from '../../src/activities/docker';
import type { StepContext } from '../../src/activities/types';
import { validateRunbookText } from '../../src/runbooks/validate';
import {
  buildBusyboxImage,
  runHealthContainer,
  startDockerEngine,
  type DockerEngine,
} from '../support/docker-engine';

const ctx: StepContext = {
  incidentId: 'incident/t/x',
  runbook: 't',
  stepId: 's',
  stepStartedAt: new Date().toISOString(),
  dryRun: false,
};

describe('container names are checked before Docker is called', () => {
  let engine: DockerEngine;
  let proxy: net.Server;
  const requests: string[] = [];
  let activities: DockerIntegration;

  before(async () => {
    engine = await startDockerEngine();
    const image = await buildBusyboxImage(engine);
    await runHealthContainer(engine, { name: 'web-1', image, port: 18081 });
    const proxySocket = path.join(engine.dir, 'p.sock');
    // Every request line that reaches the engine through the proxy is recorded.
    proxy = net.createServer((client) => {
      const upstream = net.connect(engine.socketPath);
      client.on('data', (chunk: Buffer) => {
        const text = chunk.toString('latin1');
        for (const line of text.split('\r\n'))
          if (/^(GET|POST|PUT|DELETE|HEAD) \//.test(line)) requests.push(line);
      });
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(proxySocket, resolve));
    activities = createDockerActivities({
      host: `unix://${proxySocket}`,
      tlsVerify: false,
      timeoutMs: 10_000,
    });
  });

  after(async () => {
    proxy?.close();
    await engine?.stop();
  });

  it('inspects a good name through the proxy (the recording works)', async () => {
    const state = await activities.containerInspect({ params: { container: 'web-1' }, ctx });
    assert.equal(state.running, true);
    assert.ok(
      requests.some((r) => r.includes('/containers/web-1/json')),
      requests.join('\n'),
    );
  });

  for (const hostile of [
    '../../containers/x',
    'a/b?c',
    '../images/json',
    'web-1/../../info',
    '-rm',
    'x y',
    'a%2Fb',
  ]) {
    it(`refuses ${JSON.stringify(hostile)} without calling Docker`, async () => {
      const before = requests.length;
      const calls = [
        () => activities.containerInspect({ params: { container: hostile }, ctx }),
        () => activities.containerRestart({ params: { container: hostile }, ctx }),
        () => activities.containerStart({ params: { container: hostile }, ctx }),
        () => activities.containerStop({ params: { container: hostile }, ctx }),
        () => activities.containerWaitHealthy({ params: { container: hostile }, ctx }),
        () => activities.containerFailover({ params: { primary: hostile, standby: 'web-1' }, ctx }),
        () => activities.containerFailover({ params: { primary: 'web-1', standby: hostile }, ctx }),
      ];
      for (const call of calls)
        await assert.rejects(call(), (error: unknown) => {
          assert.ok(error instanceof ApplicationFailure, String(error));
          assert.equal(error.type, 'BadParameters');
          assert.equal(error.nonRetryable, true);
          assert.match(error.message, /is not a Docker container name \(letters/);
          assert.match(error.message, /nothing was sent to Docker/);
          return true;
        });
      assert.deepEqual(requests.slice(before), [], 'no request reached the engine');
    });
  }

  it('accepts ids and the names Docker accepts', async () => {
    const id = (await engine.docker.getContainer('web-1').inspect()).Id;
    for (const name of [id, id.slice(0, 12), 'web_1.a-b', 'A1']) {
      const state = await activities.containerInspect({ params: { container: name }, ctx });
      assert.equal(typeof state.exists, 'boolean');
    }
  });

  it('lint refuses a literal name Docker would not accept, and leaves templates to run time', () => {
    const runbook = (container: string): string => `name: names
description: d
matchers: ['alertname = "X"']
steps:
  - id: restart
    phase: remediate
    type: container.restart
    with: { container: '${container}' }
`;
    const bad = validateRunbookText('names.yaml', runbook('../../containers/x')).problems;
    assert.ok(
      bad.some((p) =>
        /container\.restart parameter "container" is "\.\.\/\.\.\/containers\/x", not a Docker container name/.test(
          p.message,
        ),
      ),
      JSON.stringify(bad),
    );
    assert.deepEqual(validateRunbookText('names.yaml', runbook('{{ labels.container }}')).problems, []);
    assert.deepEqual(validateRunbookText('names.yaml', runbook('web-1')).problems, []);
  });
});
