// Every recorded incident history under test/histories replays identically against today's workflow
// code; a deliberately changed workflow is caught, with the first diverging event named.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readHistoryFile, replay } from '../../src/replay';

const dir = path.resolve(__dirname, '../histories');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => path.join(dir, f));

describe('replaying recorded incidents', () => {
  it('has recorded histories to replay', () => {
    assert.ok(files.length >= 8, `expected the recorded histories under ${dir}, found ${files.length}`);
  });

  it('replays every recorded history identically against the current workflow code', async () => {
    const outcomes = await replay(files.map(readHistoryFile));
    const diverged = outcomes.filter((o) => !o.ok);
    assert.deepEqual(diverged, [], diverged.map((o) => `${o.name}: ${o.error}`).join('\n'));
    assert.equal(outcomes.length, files.length);
  });

  it('catches a workflow change that breaks determinism, naming the first diverging event', async () => {
    const outcomes = await replay(files.slice(0, 2).map(readHistoryFile), {
      workflowsPath: path.resolve(__dirname, '../fixtures/changed-workflow/index.ts'),
    });
    for (const outcome of outcomes) {
      assert.equal(outcome.ok, false, `${outcome.name} should diverge`);
      assert.match(outcome.error ?? '', /[Nn]ondeterminis/);
      assert.ok(outcome.divergingEventId !== undefined, `no event named in: ${outcome.error}`);
      assert.ok(outcome.divergingEvent, 'the diverging event has a name');
    }
  });
});
