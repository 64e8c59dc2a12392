// Running Rebound without containers, watched: the systemd units pass `systemd-analyze verify` and its
// offline security review; the health alert rules pass promtool's unit tests; and every metric those
// rules use is one a real receiver exposes, with the values the rules expect from a healthy and an
// unhealthy Rebound (a Docker host that no worker serves).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config';
import { startReceiver, type Receiver } from '../../src/receiver';
import { metricValue, waitUntil } from '../intake/helpers';
import { ROOT } from '../support/compose';
import { testClient, temporalAddress, uniqueTaskQueue, withWorker } from '../support/temporal';

const run = promisify(execFile);
const SYSTEMD_DIR = path.join(ROOT, 'deploy/systemd');
const PROMETHEUS_DIR = path.join(ROOT, 'deploy/prometheus');

function tool(name: string, debianPackage: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const where = found.stdout.trim();
  assert.ok(
    found.status === 0 && where,
    `${name} is not installed: install Debian's ${debianPackage} package (apt-get install ${debianPackage}, or bash scripts/install.sh)`,
  );
  return where;
}

function units(): string[] {
  return readdirSync(SYSTEMD_DIR).filter((f) => f.endsWith('.service'));
}

describe('systemd units', () => {
  it('pass systemd-analyze verify, and a broken unit does not', () => {
    const analyze = tool('systemd-analyze', 'systemd');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-units-'));
    const names: string[] = [];
    for (const unit of units()) {
      copyFileSync(path.join(SYSTEMD_DIR, unit), path.join(dir, unit));
      // A template is verified through an instance, as systemctl would start it.
      names.push(path.join(dir, unit.replace('@.service', '@web-1.service')));
    }
    assert.deepEqual(units().sort(), [
      'rebound-docker-worker@.service',
      'rebound-receiver.service',
      'rebound-worker.service',
    ]);
    const verified = spawnSync(analyze, ['verify', ...names], { encoding: 'utf8' });
    assert.equal(verified.status, 0, verified.stderr);
    assert.equal(verified.stderr.trim(), '', 'systemd-analyze verify warns about nothing');

    // The check can fail: a misspelt directive and a missing program are caught.
    const broken = readFileSync(path.join(SYSTEMD_DIR, 'rebound-worker.service'), 'utf8')
      .replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes')
      .replace('/usr/bin/node', '/usr/bin/no-such-node');
    writeFileSync(path.join(dir, 'broken.service'), broken);
    const refused = spawnSync(analyze, ['verify', path.join(dir, 'broken.service')], { encoding: 'utf8' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /NoNewPrivilege/);
    assert.match(refused.stderr, /no-such-node/);
  });

  it('are hardened: unprivileged, read-only system, restarted when killed, settings from a file', async () => {
    const analyze = tool('systemd-analyze', 'systemd');
    for (const unit of units()) {
      const text = readFileSync(path.join(SYSTEMD_DIR, unit), 'utf8');
      for (const line of [
        'DynamicUser=yes',
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        'ProtectHome=yes',
        'PrivateTmp=yes',
        'CapabilityBoundingSet=',
        'Restart=always',
        'EnvironmentFile=/etc/rebound/rebound.env',
      ])
        assert.ok(text.split('\n').includes(line), `${unit} lacks ${line}`);
      assert.match(text, /^ExecStart=\/usr\/bin\/node bin\/rebound\.js (serve|worker)$/m, unit);
      // systemd's own review of the sandbox: 0 (locked down) to 10 (exposed); 2 or less is "OK".
      const file = path.join(os.tmpdir(), unit.replace('@.service', '@web-1.service'));
      copyFileSync(path.join(SYSTEMD_DIR, unit), file);
      const review = await run(analyze, ['security', '--offline=yes', '--threshold=20', file]).catch(
        (error: { stdout?: string; stderr?: string }) =>
          assert.fail(`systemd-analyze security failed for ${unit}: ${error.stderr ?? ''}`),
      );
      const exposure = /Overall exposure level for \S+: ([\d.]+)/.exec(review.stdout);
      assert.ok(exposure?.[1], review.stdout.slice(-500));
      assert.ok(Number(exposure[1]) <= 2, `${unit} exposure ${exposure[1]}`);
    }
    const template = readFileSync(path.join(SYSTEMD_DIR, 'rebound-docker-worker@.service'), 'utf8');
    assert.match(template, /^Environment=REBOUND_DOCKER_HOST_NAME=%i$/m);
  });
});

describe("Rebound's health alert rules", () => {
  it('pass promtool check and their unit tests, and Prometheus loads them', async () => {
    const promtool = tool('promtool', 'prometheus');
    const checked = await run(promtool, ['check', 'rules', path.join(PROMETHEUS_DIR, 'rebound-health.yml')]);
    assert.match(checked.stdout, /SUCCESS: 6 rules found/);
    const tested = await run(promtool, [
      'test',
      'rules',
      path.join(PROMETHEUS_DIR, 'rebound-health.test.yml'),
    ]);
    assert.match(tested.stdout + tested.stderr, /SUCCESS/);
    const config = parseYaml(readFileSync(path.join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as {
      rule_files: string[];
    };
    assert.ok(config.rule_files.includes('rebound-health.yml'), 'prometheus.yml loads rebound-health.yml');
  });
});

describe("the receiver's health metrics", () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('exposes every metric the rules use, with Temporal up, the breaker closed and the pollers of each queue', async () => {
    const rules = readFileSync(path.join(PROMETHEUS_DIR, 'rebound-health.yml'), 'utf8');
    const used = new Set([...rules.matchAll(/\b(rebound_[a-z_]+)/g)].map((m) => m[1] ?? ''));
    assert.ok(used.size >= 4, [...used].join(' '));

    const runbooks = mkdtempSync(path.join(os.tmpdir(), 'rebound-health-runbooks-'));
    writeFileSync(
      path.join(runbooks, '10-restart.yaml'),
      `name: restart-on-edge
description: Restart a container on host edge-1.
matchers: ['alertname = "EdgeDown"']
target: '{{ labels.container }}'
steps:
  - id: restart
    phase: remediate
    type: container.restart
    host: edge-1
    with: { container: '{{ labels.container }}' }
`,
    );
    const taskQueue = uniqueTaskQueue('health');
    const config = loadConfig({
      env: {
        TEMPORAL_ADDRESS: temporalAddress(),
        TEMPORAL_TASK_QUEUE: taskQueue,
        REBOUND_PORT: '0',
        REBOUND_WEBHOOK_TOKEN: 'health-test-token',
        REBOUND_RUNBOOKS: runbooks,
        REBOUND_LOG_LEVEL: 'warn',
      },
    });
    const client = await testClient();
    cleanup.push(() => client.connection.close());
    const receiver: Receiver = await startReceiver(config, client);
    cleanup.push(() => receiver.close());
    const scrape = async (): Promise<string> => (await fetch(`${receiver.url}/metrics`)).text();

    const first = await scrape();
    // A labelled counter has no sample before its first increment, but it is declared.
    for (const name of used)
      assert.match(first, new RegExp(`^# TYPE ${name} `, 'm'), `the rules use ${name}; /metrics lacks it`);
    assert.equal(metricValue(first, 'rebound_temporal_up'), 1);
    assert.equal(metricValue(first, 'rebound_breaker_open'), 0);
    const edge = { task_queue: `${taskQueue}.docker.edge-1`, kind: 'docker-host', host: 'edge-1' };
    assert.equal(metricValue(first, 'rebound_task_queue_pollers', edge), 0, 'nobody serves edge-1 yet');
    assert.equal(
      metricValue(first, 'rebound_task_queue_pollers', { task_queue: taskQueue, task_type: 'workflow' }),
      0,
    );

    // A worker on the main queue shows up as its poller.
    await withWorker({ taskQueue, activities: {} }, async () => {
      await waitUntil('the worker to be listed as a poller', async () =>
        metricValue(await scrape(), 'rebound_task_queue_pollers', {
          task_queue: taskQueue,
          task_type: 'workflow',
        }) > 0
          ? true
          : undefined,
      );
    });
  });
});
