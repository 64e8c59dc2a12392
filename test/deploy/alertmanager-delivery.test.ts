// The alert path of the compose stack with a real Alertmanager (Debian's prometheus-alertmanager)
// and the real receiver: the alertmanager-secret job's own command writes the token file from
// .env.example; `rebound serve` runs with the compose file's command and environment; Alertmanager
// runs deploy/alertmanager/alertmanager.yml with only the addresses that differ outside Docker
// rewritten; an alert posted to Alertmanager becomes a restart-container incident in Temporal.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from '../../src/dev-server';
import { incidentWorkflowId } from '../../src/workflows/contract';
import {
  ENV_EXAMPLE,
  ROOT,
  asList,
  environmentOf,
  eventually,
  parseEnvFile,
  readCompose,
  startService,
  stopService,
} from '../support/compose';
import { temporalAddress, testClient, uniqueTaskQueue } from '../support/temporal';

const run = promisify(execFile);

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, log: () => string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; Alertmanager log:\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Alertmanager as the compose stack runs it', () => {
  it('delivers an alert with the bearer token from the secret file, and the receiver starts the incident', async (t) => {
    const alertmanager = await run('sh', ['-c', 'command -v prometheus-alertmanager']).catch(() =>
      assert.fail(
        "prometheus-alertmanager is not installed: install Debian's prometheus-alertmanager package (bash scripts/install.sh)",
      ),
    );
    const binary = alertmanager.stdout.trim();
    const compose = readCompose();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-am-'));

    // 1. The secret job's command, as written, with its volume at a temp dir instead of /secrets.
    const job = compose.services['alertmanager-secret'] ?? {};
    const script = asList(job.command).at(-1) ?? '';
    assert.ok(script.includes('/secrets/webhook-token'), script);
    const written = await run('sh', ['-c', script.replaceAll('/secrets/', `${dir}/`)], {
      env: { ...process.env, ...environmentOf(job) },
    });
    assert.equal(written.stderr, '');
    const tokenFile = path.join(dir, 'webhook-token');
    const token = parseEnvFile(readFileSync(ENV_EXAMPLE, 'utf8')).REBOUND_WEBHOOK_TOKEN ?? '';
    assert.equal(readFileSync(tokenFile, 'utf8'), token, 'the file holds exactly the token, no newline');
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);

    // 2. The receiver as compose runs it. Besides the addresses, the task queue is one of its own, so
    //    no worker of another test file picks the incident up and acts on it.
    const receiverService = compose.services['rebound-receiver'] ?? {};
    const receiverPort = await freePort();
    const taskQueue = uniqueTaskQueue('deploy-am');
    const receiver = startService(asList(receiverService.command), {
      ...environmentOf(receiverService),
      TEMPORAL_ADDRESS: temporalAddress(),
      REBOUND_PORT: String(receiverPort),
      TEMPORAL_TASK_QUEUE: taskQueue,
    });
    const client = await testClient();
    const workflowId = incidentWorkflowId('restart-container', 'demo-primary:8080/demo-primary');

    // 3. Alertmanager with the committed config; only the receiver's address and the secret's mount
    //    point differ outside Docker.
    const original = readFileSync(path.join(ROOT, 'deploy/alertmanager/alertmanager.yml'), 'utf8');
    const receiverUrl = 'http://rebound-receiver:9097/';
    const secretPath = '/run/secrets/rebound/webhook-token';
    assert.ok(original.includes(receiverUrl) && original.includes(secretPath));
    const config = original
      .replace(receiverUrl, `http://127.0.0.1:${receiverPort}/`)
      .replace(secretPath, tokenFile);
    t.diagnostic(
      `overridden: receiver TEMPORAL_ADDRESS, REBOUND_PORT, TEMPORAL_TASK_QUEUE; alertmanager webhook host rebound-receiver:9097 -> 127.0.0.1:${receiverPort}, credentials_file -> ${tokenFile}`,
    );
    writeFileSync(path.join(dir, 'alertmanager.yml'), config);
    const port = await freePort();
    const child = spawn(
      binary,
      [
        `--config.file=${path.join(dir, 'alertmanager.yml')}`,
        `--storage.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitUntil(
        'Alertmanager to be ready',
        async () => (await fetch(`${base}/-/ready`)).ok,
        20_000,
        () => log,
      );
      const posted = await fetch(`${base}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          {
            labels: {
              alertname: 'ContainerUnhealthy',
              container: 'demo-primary',
              instance: 'demo-primary:8080',
              severity: 'critical',
            },
            annotations: { health_url: 'http://demo-primary:8080/health' },
          },
        ]),
      });
      assert.equal(posted.status, 200, await posted.text());
      // group_wait is 10s in the committed config.
      const description = await eventually(
        'the incident Alertmanager delivered',
        receiver,
        async () => {
          const described = await client.workflow.getHandle(workflowId).describe();
          return described.status.name === 'RUNNING' ? described : undefined;
        },
        30_000,
      );
      assert.equal(description.taskQueue, taskQueue);
      // And the receiver does want the token: without it, nothing gets in.
      const refused = await fetch(`http://127.0.0.1:${receiverPort}/v1/alerts/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(refused.status, 401);
    } finally {
      child.kill('SIGTERM');
      await new Promise<void>((resolve) =>
        child.exitCode !== null ? resolve() : child.once('exit', () => resolve()),
      );
      await client.workflow
        .getHandle(workflowId)
        .terminate('test done')
        .catch(() => undefined);
      await client.connection.close();
      assert.equal(await stopService(receiver), 0, receiver.output());
    }
  });
});
