// docs/configuration.md is generated from src/config.ts; `rebound config show` prints the effective
// configuration with secrets masked.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configReference } from '../../src/commands/config';
import { SETTINGS } from '../../src/config';
import { runRebound } from '../support/processes';

const ROOT = path.resolve(__dirname, '../..');

describe('rebound config', () => {
  it('reference is what docs/configuration.md holds (run `npm run docs` to regenerate)', async () => {
    const result = await runRebound(['config', 'reference']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, configReference());
    const docs = readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8');
    assert.ok(
      docs === result.stdout,
      'docs/configuration.md is out of date with src/config.ts: run `npm run docs` to regenerate it',
    );
  });

  it('reference lists every setting with its variable and flag, and changes when a setting does', () => {
    const text = configReference();
    for (const spec of SETTINGS) assert.ok(text.includes(`| \`${spec.key}\` | \`${spec.env}\` |`), spec.key);
    const changed = configReference([
      ...SETTINGS,
      { key: 'log.format', env: 'REBOUND_LOG_FORMAT', kind: 'string', describe: 'A | B.' },
    ]);
    assert.notEqual(changed, text);
    assert.match(
      changed,
      /\| `log\.format` \| `REBOUND_LOG_FORMAT` \| `--log-format` \| text \| — \| A \\\| B\. \|/,
    );
  });

  it('show prints the effective configuration with secrets masked and where values came from', async () => {
    const result = await runRebound(['config', 'show', '--receiver-port', '9999'], {
      REBOUND_WEBHOOK_TOKEN: 'super-secret-token',
      TEMPORAL_API_KEY: 'secret-api-key',
      REBOUND_SMTP_URL: 'smtp://mailer:mail-password@mail.example.com:587',
      TEMPORAL_NAMESPACE: 'prod',
    });
    assert.equal(result.code, 0, result.stderr);
    for (const secret of ['super-secret-token', 'secret-api-key', 'mail-password'])
      assert.ok(!result.stdout.includes(secret), `${secret} leaked:\n${result.stdout}`);
    assert.match(result.stdout, /^receiver\.token +\*\*\* +\[REBOUND_WEBHOOK_TOKEN\]$/m);
    assert.match(result.stdout, /^temporal\.apiKey +\*\*\* +\[TEMPORAL_API_KEY\]$/m);
    assert.match(result.stdout, /^smtp\.url +smtp:\/\/mailer:\*\*\*@mail\.example\.com:587/m);
    assert.match(result.stdout, /^temporal\.namespace +prod /m);
    assert.match(result.stdout, /^receiver\.port +9999 /m);

    const json = await runRebound(['config', 'show', '--json'], { REBOUND_WEBHOOK_TOKEN: 'x-secret' });
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(parsed['receiver.token'], '***');
    assert.equal(Object.keys(parsed).length, SETTINGS.length);
  });

  it('show refuses a bad setting with exit status 2, naming it', async () => {
    const result = await runRebound(['config', 'show'], { REBOUND_PORT: 'eighty' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /receiver\.port \(from REBOUND_PORT\): "eighty" is not valid/);
  });
});
