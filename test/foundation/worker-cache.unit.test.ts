// The worker's workflow cache size: worker.cachedIncidents when set, else a default derived from the
// memory the process may use (an eighth of it, at most 512 MiB, at about 0.7 MiB per incident).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config';
import { defaultCachedIncidents } from '../../src/worker';

const GiB = 2 ** 30;

describe('worker workflow cache size', () => {
  it('defaults to an eighth of the memory, at most 512 MiB worth, and never below 10', () => {
    assert.equal(defaultCachedIncidents(2 * GiB), 365);
    assert.equal(defaultCachedIncidents(4 * GiB), 731);
    assert.equal(defaultCachedIncidents(64 * GiB), 731);
    assert.equal(defaultCachedIncidents(64 * 2 ** 20), 11);
    assert.equal(defaultCachedIncidents(8 * 2 ** 20), 10);
    const here = defaultCachedIncidents();
    assert.ok(here >= 10 && here <= 731, `derived from this machine: ${here}`);
  });

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
