import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TemporalCliNotFound, findTemporalCli, locateTemporalCli } from '../../src/temporal-cli';

function fakeBinary(dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, '#!/bin/sh\necho fake\n');
  chmodSync(file, 0o755);
  return file;
}

describe('finding the Temporal CLI', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rebound-cli-'));

  it('prefers TEMPORAL_CLI_PATH, then PATH, then the cache', () => {
    const explicit = fakeBinary(path.join(tmp, 'explicit'), 'temporal-x');
    const onPath = fakeBinary(path.join(tmp, 'path'), 'temporal');
    const cached = fakeBinary(path.join(tmp, 'cache', 'bin'), 'temporal');
    const cacheDir = path.join(tmp, 'cache');
    assert.equal(
      findTemporalCli({ cacheDir, env: { TEMPORAL_CLI_PATH: explicit, PATH: path.dirname(onPath) } }),
      explicit,
    );
    assert.equal(findTemporalCli({ cacheDir, env: { PATH: path.dirname(onPath) } }), onPath);
    assert.equal(findTemporalCli({ cacheDir, env: { PATH: '/nonexistent' } }), cached);
    assert.equal(
      findTemporalCli({ cacheDir: path.join(tmp, 'empty'), env: { PATH: '/nonexistent' } }),
      undefined,
    );
  });

  it('says what is wrong with a bad TEMPORAL_CLI_PATH', () => {
    assert.throws(
      () => findTemporalCli({ cacheDir: tmp, env: { TEMPORAL_CLI_PATH: '/no/such/temporal' } }),
      /TEMPORAL_CLI_PATH is set to \/no\/such\/temporal, which is not an executable file/,
    );
  });

  it('says exactly what to install when there is no CLI and no Go', async () => {
    await assert.rejects(
      locateTemporalCli({ cacheDir: path.join(tmp, 'none'), env: { PATH: '/nonexistent' }, goFallbacks: [] }),
      (error: unknown) => {
        assert.ok(error instanceof TemporalCliNotFound);
        assert.match(error.message, /install Go/);
        assert.match(error.message, /TEMPORAL_CLI_PATH/);
        assert.match(error.message, new RegExp(path.join(tmp, 'none', 'bin')));
        return true;
      },
    );
  });
});
