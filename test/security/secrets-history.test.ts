// Issue 13 item 5, end to end: `rebound dev` runs a real incident whose http.call sends a named secret
// to a local HTTP server. The server checks it got the secret (and fails the first attempt, so the
// retry must carry the same Idempotency-Key). Afterwards neither the exported history, nor the audit
// (text, html, json), nor `incidents show --json`, nor the Temporal dev server's SQLite file holds the
// secret; `rebound dev` keeps its data directory 0700 and its files 0600.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/dev-server';
import { runRebound, startRebound, type RunningProcess, DEV_READY_TIMEOUT_MS } from '../support/processes';
import { temporalCliPath } from '../support/temporal';

const SECRET = `s3cr3t-${Math.random().toString(36).slice(2)}-token`;
const INSTANCE = `secret-host-${Date.now()}`;
const ID = `incident/secret-call/${INSTANCE}`;

function mode(file: string): string {
  return (statSync(file).mode & 0o777).toString(8);
}

describe('a named secret never reaches the history or the database', () => {
  let server: http.Server;
  const received: Array<{ authorization?: string; key?: string }> = [];
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let dev: RunningProcess | undefined;

  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received.push({
          authorization: req.headers.authorization,
          key: req.headers['idempotency-key'] as string | undefined,
        });
        if (req.headers.authorization !== `Bearer ${SECRET}`) {
          res.writeHead(401).end('no secret');
          return;
        }
        // The first attempt fails, so Temporal retries it; the second is slow enough to heartbeat.
        if (received.length === 1) {
          res.writeHead(503).end('try again');
          return;
        }
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          // An API that echoes the credential back: the answer is stored, so it must be scrubbed.
          res.end(JSON.stringify({ paged: true, echo: req.headers.authorization }));
        }, 1500);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const root = mkdtempSync(path.join(os.tmpdir(), 'rebound-secret-'));
    dataDir = path.join(root, 'data'); // made by `rebound dev`
    const runbooks = path.join(root, 'runbooks');
    mkdirSync(runbooks);
    writeFileSync(
      path.join(runbooks, 'secret-call.yaml'),
      `name: secret-call
description: Page through an API that needs a token.
matchers: ['alertname = "SecretCall"']
target: '{{ labels.instance }}'
defaults: { timeout: 20s, retry: { maximumAttempts: 3, initialInterval: 200ms, backoffCoefficient: 1 } }
holdOpen: 1m
steps:
  - id: page
    phase: remediate
    type: http.call
    with:
      url: 'http://127.0.0.1:${port}/page'
      method: POST
      headers: { Authorization: { secret: PAGER_TOKEN, prefix: 'Bearer ' }, X-Incident: '{{ labels.instance }}' }
      body: { instance: '{{ labels.instance }}' }
`,
    );
    const [temporalPort, receiverPort] = [await freePort(), await freePort()];
    env = {
      TEMPORAL_CLI_PATH: temporalCliPath(),
      REBOUND_DATA_DIR: dataDir,
      REBOUND_TEMPORAL_PORT: String(temporalPort),
      REBOUND_UI_PORT: '0',
      REBOUND_PORT: String(receiverPort),
      REBOUND_RUNBOOKS: runbooks,
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      TEMPORAL_TASK_QUEUE: 'secret-test',
      REBOUND_BUDGET_BACKOFF: '1s',
      REBOUND_SECRET_PAGER_TOKEN: SECRET,
      REBOUND_CONFIG: '',
    };
    dev = startRebound(['dev'], env);
    await dev.waitFor(/Press Ctrl-C to stop/, DEV_READY_TIMEOUT_MS);
  });

  after(async () => {
    await dev?.stop('SIGTERM');
    server.close();
  });

  it('sends the secret, retries with the same key, and keeps it out of every record', async () => {
    const cli = (...args: string[]) => runRebound(args, env, 60_000);
    const alert = ['--label', 'alertname=SecretCall', '--label', `instance=${INSTANCE}`];
    const fired = await cli('alert', 'fire', ...alert);
    assert.equal(fired.code, 0, fired.stderr + fired.stdout);

    let shown = '';
    for (let i = 0; i < 120; i++) {
      const show = await cli('incidents', 'show', ID, '--json');
      shown = show.stdout;
      if (show.code === 0 && /"id": *"page"[^}]*"status": *"succeeded"/.test(shown.replace(/\n/g, ''))) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(shown.replace(/\n/g, ''), /"status": *"succeeded"/, shown);
    assert.equal(received.length, 2, JSON.stringify(received));
    assert.ok(
      received.every((r) => r.authorization === `Bearer ${SECRET}`),
      'the server got the secret each time',
    );
    assert.ok(
      received[0]?.key && received[0].key === received[1]?.key,
      `same Idempotency-Key: ${JSON.stringify(received)}`,
    );

    const resolved = await cli('alert', 'fire', '--resolved', ...alert);
    assert.equal(resolved.code, 0, resolved.stderr + resolved.stdout);

    const exportFile = path.join(dataDir, '..', 'history.json');
    const exported = await cli('history', 'export', ID, '-o', exportFile);
    assert.equal(exported.code, 0, exported.stderr);
    // Payloads are base64 in the JSON: search the file and every decoded payload.
    const history = readFileSync(exportFile, 'utf8');
    const decoded: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node !== null && typeof node === 'object') {
        const data = (node as { data?: unknown }).data;
        if (typeof data === 'string') decoded.push(Buffer.from(data, 'base64').toString('utf8'));
        Object.values(node).forEach(walk);
      }
    };
    walk(JSON.parse(history));
    const everything = `${history}\n${decoded.join('\n')}`;
    assert.ok(everything.includes(INSTANCE), 'the export holds the incident');
    assert.ok(everything.includes('PAGER_TOKEN'), 'the export names the secret');
    assert.ok(everything.includes('Bearer ***'), 'the echoed credential was scrubbed');
    assert.ok(!everything.includes(SECRET), 'the export never holds the secret');

    // http.call heartbeats, with a heartbeat timeout: a dead worker's call is retried within 10 s.
    const events = (JSON.parse(history) as { events: Array<Record<string, Record<string, unknown>>> }).events;
    const scheduled = events
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => (a?.activityType as { name?: string } | undefined)?.name === 'httpCall');
    assert.equal(scheduled.length, 1);
    assert.equal(scheduled[0]?.heartbeatTimeout, '10s');

    for (const format of ['text', 'md', 'json', 'html']) {
      const audit = await cli('audit', ID, '--format', format);
      assert.equal(audit.code, 0, audit.stderr);
      assert.ok(audit.stdout.includes('page'), `${format} audit shows the step`);
      assert.ok(!audit.stdout.includes(SECRET), `${format} audit never holds the secret`);
    }
    const finalShow = await cli('incidents', 'show', ID, '--json');
    assert.ok(!finalShow.stdout.includes(SECRET));
    assert.ok(!(dev?.output() ?? '').includes(SECRET), 'no log line holds the secret');
  });

  it('keeps the secret out of the SQLite file, and the data directory private', async () => {
    const stopped = await dev?.stop('SIGTERM');
    dev = undefined;
    assert.equal(stopped, 0);
    const files = readdirSync(dataDir).filter((f) => f.startsWith('temporal.db'));
    assert.ok(files.includes('temporal.db'), files.join(', '));
    const needle = Buffer.from(SECRET);
    let instanceSeen = false;
    for (const file of files) {
      const bytes = readFileSync(path.join(dataDir, file));
      if (bytes.includes(Buffer.from(INSTANCE))) instanceSeen = true;
      assert.equal(bytes.indexOf(needle), -1, `${file} holds the secret`);
      assert.equal(bytes.indexOf(Buffer.from(Buffer.from(SECRET).toString('base64').slice(0, 16))), -1);
    }
    assert.ok(instanceSeen, 'the search would find what is there: the incident is in the database');

    assert.equal(mode(dataDir), '700');
    for (const file of [...files, 'webhook-token', 'temporal.log'])
      if (existsSync(path.join(dataDir, file))) assert.equal(mode(path.join(dataDir, file)), '600', file);
    assert.ok(existsSync(path.join(dataDir, 'webhook-token')));
  });
});
