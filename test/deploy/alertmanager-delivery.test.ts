// The alert path of the compose stack with a real Alertmanager (Debian's prometheus-alertmanager):
// the alertmanager-secret job's own command writes the token file from .env.example, Alertmanager
// runs deploy/alertmanager/alertmanager.yml with only the addresses that differ outside Docker
// rewritten, and an alert posted to it arrives at the receiver's webhook path with the bearer token.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from '../../src/dev-server';
import { ENV_EXAMPLE, ROOT, asList, environmentOf, parseEnvFile, readCompose } from '../support/compose';

const run = promisify(execFile);

interface Delivery {
  path: string;
  authorization: string;
  body: {
    version?: string;
    receiver?: string;
    status?: string;
    alerts?: Array<{ labels: Record<string, string> }>;
  };
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, log: () => string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; Alertmanager log:\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Alertmanager as the compose stack runs it', () => {
  it('delivers an alert to the receiver webhook with the bearer token from the secret file', async (t) => {
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

    // 2. A stand-in for the receiver that records what arrives.
    const deliveries: Delivery[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        deliveries.push({
          path: req.url ?? '',
          authorization: req.headers.authorization ?? '',
          body: JSON.parse(body || '{}') as Delivery['body'],
        });
        res.writeHead(202).end();
      });
    });
    const receiverPort = await freePort();
    await new Promise<void>((resolve) => server.listen(receiverPort, '127.0.0.1', resolve));

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
      `overridden: webhook host rebound-receiver:9097 -> 127.0.0.1:${receiverPort}; credentials_file -> ${tokenFile}`,
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
      await waitUntil(
        'the webhook delivery',
        () => Promise.resolve(deliveries.length > 0),
        30_000,
        () => log,
      );
      const [delivery] = deliveries;
      assert.ok(delivery);
      assert.equal(delivery.path, '/v1/alerts/alertmanager');
      assert.equal(delivery.authorization, `Bearer ${token}`);
      assert.equal(delivery.body.version, '4');
      assert.equal(delivery.body.receiver, 'rebound');
      assert.equal(delivery.body.status, 'firing');
      assert.equal(delivery.body.alerts?.[0]?.labels.container, 'demo-primary');
    } finally {
      child.kill('SIGTERM');
      await new Promise<void>((resolve) =>
        child.exitCode !== null ? resolve() : child.once('exit', () => resolve()),
      );
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
