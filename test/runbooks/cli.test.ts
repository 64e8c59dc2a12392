// `rebound runbooks lint` and `rebound runbooks plan`, run as a user runs them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(__dirname, '../..');

// The user's own settings must not leak into the test run.
function withoutReboundSettings(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.REBOUND_CONFIG;
  delete env.REBOUND_RUNBOOKS;
  return env;
}

function rebound(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [path.join(root, 'bin/rebound.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: withoutReboundSettings(),
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

void describe('rebound runbooks', () => {
  void it('lint: the samples are OK (exit 0)', () => {
    const result = rebound('runbooks', 'lint');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^4 runbooks OK$/m);
  });

  void it('lint: prints file:line:col: message per problem and exits 1', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-lint-'));
    const good = readFileSync(path.join(root, 'runbooks/10-restart-container.yaml'), 'utf8');
    writeFileSync(path.join(dir, '10-ok.yaml'), good);
    writeFileSync(
      path.join(dir, '20-bad.yaml'),
      good
        .replace('name: restart-container', 'name: other')
        .replace(
          '    onFailure: { goto: tell-humans }\n\n  - id: wait-healthy',
          '    onFailur: abort\n\n  - id: wait-healthy',
        ),
    );
    const result = rebound('runbooks', 'lint', dir);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      new RegExp(
        `^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/20-bad\\.yaml:34:5: unknown key "onFailur" in step "restart" \\(did you mean "onFailure"\\?\\)`,
        'm',
      ),
    );
    assert.match(result.stdout, /^1 problem in 1 of 2 files$/m);
  });

  void it('lint: a missing directory is a problem, not a crash', () => {
    const result = rebound('runbooks', 'lint', path.join(os.tmpdir(), 'rebound-does-not-exist'));
    assert.equal(result.code, 1);
    assert.match(result.stdout, /cannot read the runbooks directory: no such directory/);
  });

  void it('plan: from label pairs, as text', () => {
    const result = rebound(
      'runbooks',
      'plan',
      'restart-container',
      '--alert',
      'alertname=ContainerUnhealthy,severity=critical,instance=edge-1,container=api',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Target {4}edge-1\/api$/m);
    assert.match(result.stdout, /^Workflow {2}incident\/restart-container\/edge-1\/api$/m);
    assert.match(result.stdout, /2\. \[remediate\] restart: container\.restart \(mutating\)/);
    assert.match(result.stdout, /when vars\.healthUrl != "" → false: skipped/);
  });

  void it('plan: from an Alertmanager webhook file, as JSON, for a runbook file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-plan-'));
    const payload = path.join(dir, 'webhook.json');
    writeFileSync(
      payload,
      JSON.stringify({
        version: '4',
        status: 'firing',
        receiver: 'rebound',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'ServicePrimaryDown', service: 'db', severity: 'page' },
            annotations: { health_url: 'http://db:8080/health' },
            startsAt: '2024-05-01T10:00:00Z',
            endsAt: '0001-01-01T00:00:00Z',
            generatorURL: 'http://prometheus/graph',
            fingerprint: 'a1b2c3',
          },
        ],
      }),
    );
    const result = rebound(
      'runbooks',
      'plan',
      path.join(root, 'runbooks/20-failover.yaml'),
      '--alert',
      payload,
      '--json',
    );
    assert.equal(result.code, 0, result.stderr);
    const plan = JSON.parse(result.stdout) as {
      workflowId: string;
      alert: { fingerprint: string };
      steps: { id: string; params: unknown }[];
    };
    assert.equal(plan.workflowId, 'incident/failover/db');
    assert.equal(plan.alert.fingerprint, 'a1b2c3');
    assert.deepEqual(plan.steps.find((s) => s.id === 'standby-healthy')?.params, {
      container: 'db-standby',
      url: 'http://db:8080/health',
    });
  });

  void it('plan: an unknown runbook name is a clear error with exit 2', () => {
    const result = rebound('runbooks', 'plan', 'nope', '--alert', 'a=b');
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /no runbook named "nope" in runbooks and no such file; runbooks: restart-container, failover, failover-to-first-healthy-standby, escalate-only/,
    );
  });
});
