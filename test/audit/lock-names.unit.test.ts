// The audit names locks by the constants and functions the workflows use (guard-contract), not by
// guessing at id shapes: a lock's id read back gives its resource, whatever the scope and resource hold.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { buildAudit } from '../../src/audit/model';
import { lockResource, lockWorkflowId } from '../../src/workflows/guard-contract';

describe('lock names in the audit', () => {
  it('reads the resource back from a lock id, slashes and all', () => {
    for (const [scope, resource] of [
      ['default', 'docker:local/web-1'],
      ['team/a', 'http:https://example.test/path'],
      ['q', 'x'],
    ] as const) {
      assert.equal(lockResource(lockWorkflowId(scope, resource), scope), resource);
    }
    assert.equal(lockResource('rebound-control/default'), 'rebound-control/default');
  });

  it('names the lock a recorded incident took and released', () => {
    const file = path.resolve(__dirname, '../histories/restart-container-escalated.json');
    const history = historyFromJSON(JSON.parse(readFileSync(file, 'utf8')) as unknown);
    const guards = buildAudit(history)
      .entries.filter((e) => e.kind === 'guard')
      .map((e) => e.text);
    assert.ok(guards.includes('lock taken: docker:local/api-1'), guards.join('\n'));
    assert.ok(guards.includes('lock released: docker:local/api-1'), guards.join('\n'));
  });
});
