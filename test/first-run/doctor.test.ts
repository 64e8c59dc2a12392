// `rebound doctor` as a user runs it: against a healthy setup (a real `rebound dev` with its worker
// and receiver, a private Docker engine, a local Slack and SMTP server) every check is ok; then each
// misconfiguration — Temporal stopped, a broken runbook, search attributes missing on a fresh real
// dev server, a Slack token refused — is a problem with its fix, and the exit status is 1.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import { SMTPServer } from 'smtp-server';
import type { CheckResult } from '../../src/doctor/checks';
import { freePort, startDockerEngine, type DockerEngine } from '../support/docker-engine';
import { FakeSlack, TOKEN as SLACK_TOKEN } from '../support/fake-slack';
import { runRebound, startRebound, type RunningProcess, DEV_READY_TIMEOUT_MS } from '../support/processes';
import { temporalCliPath } from '../support/temporal';

const ROOT = path.resolve(__dirname, '../..');

const RUNBOOK = `
name: restart
description: Restart a dead container and tell the channel.
matchers: ['alertname = "ContainerUnhealthy"']
target: "{{ labels.instance }}/{{ labels.container }}"
notifications:
  slack: { channel: "#incidents" }
steps:
  - id: inspect
    phase: detect
    type: container.inspect
    with: { container: "{{ labels.container }}" }
  - id: restart
    phase: remediate
    type: container.restart
    with: { container: "{{ labels.container }}" }
  - id: tell
    phase: validate
    type: notify
    with: { channel: email, to: oncall@example.com, subject: "restarted", text: "restarted" }
`;

interface DoctorReport {
  ok: boolean;
  problems: number;
  warnings: number;
  checks: CheckResult[];
}

async function doctor(
  env: Record<string, string>,
): Promise<{ code: number | null; report: DoctorReport; text: string }> {
  const json = await runRebound(['doctor', '--json'], env, 90_000);
  assert.equal(json.stderr, '', 'doctor --json writes only JSON');
  const report = JSON.parse(json.stdout) as DoctorReport;
  return { code: json.code, report, text: json.stdout };
}

function check(report: DoctorReport, name: string): CheckResult {
  const found = report.checks.find((c) => c.name === name);
  assert.ok(found, `no check named ${name} in ${JSON.stringify(report.checks, null, 2)}`);
  return found;
}

describe('rebound doctor', () => {
  let engine: DockerEngine;
  const slack = new FakeSlack();
  const smtp = new SMTPServer({ disabledCommands: ['STARTTLS', 'AUTH'], authOptional: true, logger: false });
  let env: Record<string, string>;
  let dev: RunningProcess | undefined;

  before(async () => {
    engine = await startDockerEngine();
    await slack.start();
    const smtpPort = await freePort();
    await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-doctor-'));
    const runbooks = path.join(dataDir, 'runbooks');
    mkdirSync(runbooks);
    writeFileSync(path.join(runbooks, '10-restart.yaml'), RUNBOOK);
    const temporalPort = await freePort();
    env = {
      TEMPORAL_CLI_PATH: temporalCliPath(),
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      REBOUND_DATA_DIR: dataDir,
      REBOUND_TEMPORAL_PORT: String(temporalPort),
      REBOUND_UI_PORT: '0',
      REBOUND_PORT: String(await freePort()),
      REBOUND_RUNBOOKS: runbooks,
      DOCKER_HOST: engine.host,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: slack.url,
      REBOUND_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      REBOUND_LOG_LEVEL: 'warn',
    };
    dev = startRebound(['dev'], env, ROOT);
    await dev.waitFor(/Press Ctrl-C to stop/, DEV_READY_TIMEOUT_MS);
  });
  after(async () => {
    await dev?.stop('SIGTERM');
    await slack.stop();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    await engine?.stop();
  });

  it('finds nothing wrong with a healthy setup', async () => {
    const { code, report } = await doctor(env);
    assert.deepEqual(
      report.checks.filter((c) => c.status !== 'ok'),
      [],
      'every check is ok',
    );
    assert.equal(code, 0);
    for (const name of [
      'temporal',
      'namespace',
      'retention',
      'search attributes',
      'worker',
      'runbooks',
      'webhook auth',
      'webhook',
      'docker',
      'slack',
      'slack channels',
      'smtp',
      'prometheus',
    ])
      check(report, name);
    assert.match(check(report, 'temporal').summary, /server \d+\.\d+/);
    assert.match(check(report, 'worker').summary, /polling task queue rebound/);
    assert.match(check(report, 'docker').summary, /as a worker on this host/);
    assert.match(check(report, 'slack channels').summary, /#incidents known/);

    // The text form: one line per check, the summary line, and no secret anywhere.
    const text = await runRebound(['doctor'], env, 90_000);
    assert.equal(text.code, 0, text.stdout);
    assert.match(text.stdout, /^ {2}ok +temporal +reachable at 127\.0\.0\.1:\d+, server /m);
    assert.match(text.stdout, /No problems\.\n$/);
    assert.doesNotMatch(text.stdout, new RegExp(SLACK_TOKEN));
  });

  it('reports a broken runbook with where it is and the fix', async () => {
    const broken = mkdtempSync(path.join(os.tmpdir(), 'rebound-doctor-runbooks-'));
    writeFileSync(
      path.join(broken, '10-broken.yaml'),
      RUNBOOK.replace('type: container.restart', 'type: container.reboot'),
    );
    const { code, report } = await doctor({ ...env, REBOUND_RUNBOOKS: broken });
    assert.equal(code, 1);
    const runbooks = check(report, 'runbooks');
    assert.equal(runbooks.status, 'problem');
    assert.match(runbooks.summary, /10-broken\.yaml:\d+:\d+: .*container\.reboot/);
    assert.match(runbooks.fix ?? '', /rebound runbooks lint/);
  });

  it('reports a Slack token the Slack API refuses, without printing it', async () => {
    const wrong = 'xoxb-not-the-right-token-1234';
    const { code, report, text } = await doctor({ ...env, SLACK_BOT_TOKEN: wrong });
    assert.equal(code, 1);
    const result = check(report, 'slack');
    assert.equal(result.status, 'problem');
    assert.match(result.summary, /Slack refuses SLACK_BOT_TOKEN \(invalid_auth\)/);
    assert.match(result.fix ?? '', /SLACK_BOT_TOKEN/);
    assert.doesNotMatch(text, /not-the-right-token/);
  });

  it('reports a Slack that never answers as a problem, and still writes only JSON', async () => {
    // Accepts connections and never answers: the Slack client's own timeout warning must not leak out.
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const { code, report } = await doctor({ ...env, SLACK_API_URL: `http://127.0.0.1:${port}/api/` });
      assert.equal(code, 1);
      const result = check(report, 'slack');
      assert.equal(result.status, 'problem');
      assert.match(result.summary, /cannot reach Slack at http:\/\/127\.0\.0\.1:\d+\/api\/?: /);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('reports missing search attributes on a fresh dev server started without them', async () => {
    const port = await freePort();
    const server = spawn(
      temporalCliPath(),
      [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--headless',
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    );
    try {
      const address = `127.0.0.1:${port}`;
      for (let i = 0; ; i += 1) {
        try {
          const connection = await Connection.connect({ address, connectTimeout: 2000 });
          await connection.workflowService.describeNamespace({ namespace: 'default' });
          await connection.close();
          break;
        } catch (error) {
          if (i > 120) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
      const { code, report } = await doctor({ ...env, TEMPORAL_ADDRESS: address });
      assert.equal(code, 1);
      assert.equal(check(report, 'temporal').status, 'ok');
      const attributes = check(report, 'search attributes');
      assert.equal(attributes.status, 'problem');
      assert.match(attributes.summary, /missing: ReboundRunbook, ReboundTarget, .*ReboundDryRun/);
      assert.match(
        attributes.fix ?? '',
        /temporal operator search-attribute create --namespace default --name ReboundRunbook --type Keyword/,
      );
      // Nobody polls there either.
      assert.equal(check(report, 'worker').status, 'problem');
      assert.match(check(report, 'worker').fix ?? '', /rebound worker/);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
  });

  it('reports Temporal and the webhook when rebound dev is stopped', async () => {
    assert.equal(await dev?.stop('SIGTERM'), 0, dev?.output());
    dev = undefined;
    const { code, report } = await doctor(env);
    assert.equal(code, 1);
    const temporal = check(report, 'temporal');
    assert.equal(temporal.status, 'problem');
    assert.match(temporal.summary, /cannot reach Temporal at 127\.0\.0\.1:\d+/);
    assert.match(temporal.fix ?? '', /rebound dev/);
    const webhook = check(report, 'webhook');
    assert.equal(webhook.status, 'problem');
    assert.match(webhook.summary, /nothing answers at http:\/\/127\.0\.0\.1:\d+/);
    // The checks that need Temporal are not run against nothing.
    assert.equal(
      report.checks.find((c) => c.name === 'worker'),
      undefined,
    );
    // Everything else is still checked.
    assert.equal(check(report, 'docker').status, 'ok');
    assert.equal(check(report, 'slack').status, 'ok');
  });
});
