// The worker's workflow cache size: worker.cachedIncidents when set (else the SDK's default, derived
// from the V8 heap limit), and the bundle cache directory setting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config';

describe('worker workflow cache size', () => {
  it('is set in incidents by REBOUND_WORKER_CACHED_INCIDENTS, 0 included, never negative', () => {
    assert.equal(loadConfig({ env: {} }).worker.cachedIncidents, undefined);
    assert.equal(
      loadConfig({ env: { REBOUND_WORKER_CACHED_INCIDENTS: '2000' } }).worker.cachedIncidents,
      2000,
    );
    assert.equal(loadConfig({ env: { REBOUND_WORKER_CACHED_INCIDENTS: '0' } }).worker.cachedIncidents, 0);
    assert.throws(
      () => loadConfig({ env: { REBOUND_WORKER_CACHED_INCIDENTS: '-1' } }),
      (error: unknown) =>
        error instanceof ConfigError && /worker\.cachedIncidents.*at least 0/.test(error.problems.join('\n')),
    );
  });

  it('takes the bundle cache directory from REBOUND_CACHE_DIR', () => {
    assert.equal(loadConfig({ env: {} }).cache.dir, undefined);
    assert.equal(loadConfig({ env: { REBOUND_CACHE_DIR: 'off' } }).cache.dir, 'off');
  });
});
