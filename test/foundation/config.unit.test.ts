import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  ConfigError,
  SETTINGS,
  describeConfig,
  flagName,
  loadConfig,
  receiverAuthProblems,
} from '../../src/config';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected the configuration to be refused');
}

describe('configuration', () => {
  it('has defaults that load with an empty environment', () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.temporal.address, '127.0.0.1:7233');
    assert.equal(config.temporal.taskQueue, 'rebound');
    assert.equal(config.receiver.port, 9097);
    assert.equal(config.dev.retentionMs, 30 * 86_400_000);
    assert.deepEqual(config.receiver.apiTokens, {});
  });

  it('takes flags over environment over file over defaults', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-config-'));
    const file = path.join(dir, 'rebound.yaml');
    writeFileSync(
      file,
      'temporal:\n  namespace: from-file\n  taskQueue: file-queue\nreceiver:\n  port: 1234\n',
    );
    const config = loadConfig({
      file,
      env: { TEMPORAL_TASK_QUEUE: 'env-queue', REBOUND_PORT: '2345' },
      flags: { receiverPort: '3456' },
    });
    assert.equal(config.temporal.namespace, 'from-file');
    assert.equal(config.temporal.taskQueue, 'env-queue');
    assert.equal(config.receiver.port, 3456);
  });

  it('names every bad setting, where it came from and what is allowed, all at once', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {
          REBOUND_PORT: 'eighty',
          REBOUND_RETENTION: 'forever',
          REBOUND_LOG_LEVEL: 'loud',
          REBOUND_PUBLIC_URL: 'not a url',
        },
      }),
    );
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.ok(
      problems.some((p) =>
        /receiver\.port \(from REBOUND_PORT\): "eighty" is not valid; expected a whole number from 0 to 65535/.test(
          p,
        ),
      ),
    );
    assert.ok(problems.some((p) => /dev\.retention .*expected a duration such as 90s/.test(p)));
    assert.ok(problems.some((p) => /log\.level .*expected one of: debug, info, warn, error/.test(p)));
    assert.ok(problems.some((p) => /receiver\.publicUrl .*absolute URL/.test(p)));
  });

  it('never echoes secrets in errors or descriptions', () => {
    const problems = problemsOf(() => loadConfig({ env: { REBOUND_API_TOKENS: 'supersecret' } }));
    assert.ok(
      problems.every((p) => !p.includes('supersecret')),
      problems.join('\n'),
    );
    const config = loadConfig({ env: { REBOUND_WEBHOOK_TOKEN: 'hunter2', SLACK_BOT_TOKEN: 'xoxb-1' } });
    const shown = JSON.stringify(describeConfig(config));
    assert.ok(!shown.includes('hunter2') && !shown.includes('xoxb-1'), shown);
  });

  it('refuses unknown keys and half-set pairs', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-config-'));
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'temporal:\n  adress: x:1\n');
    assert.match(
      problemsOf(() => loadConfig({ file, env: {} })).join('\n'),
      /unknown setting "temporal\.adress"/,
    );
    assert.match(
      problemsOf(() => loadConfig({ env: { TEMPORAL_TLS_CLIENT_CERT_PATH: '/c.pem' } })).join('\n'),
      /tlsCert and temporal\.tlsKey go together/,
    );
  });

  it('requires webhook credentials unless auth is explicitly off', () => {
    assert.equal(receiverAuthProblems(loadConfig({ env: {} })).length, 1);
    assert.equal(receiverAuthProblems(loadConfig({ env: { REBOUND_WEBHOOK_AUTH: 'none' } })).length, 0);
    assert.equal(receiverAuthProblems(loadConfig({ env: { REBOUND_WEBHOOK_TOKEN: 't' } })).length, 0);
  });

  it('parses maps and groups', () => {
    const config = loadConfig({
      env: { REBOUND_API_TOKENS: 'abc=alice, def=bob', REBOUND_GROUPS: 'sre=alice|carol' },
    });
    assert.deepEqual(config.receiver.apiTokens, { abc: 'alice', def: 'bob' });
    assert.deepEqual(config.approvals.groups, { sre: ['alice', 'carol'] });
  });

  it('derives one flag per setting with no collisions', () => {
    const flags = SETTINGS.map((s) => flagName(s.key));
    assert.equal(new Set(flags).size, flags.length);
    assert.equal(flagName('temporal.taskQueue'), '--temporal-task-queue');
  });
});
