// What `rebound demo` says a finished step found: each step family's summary, from the step registry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeStep } from '../../src/demo/narrate';
import type { StepRecord } from '../../src/workflows/contract';

function done(type: StepRecord['type'], output: unknown, extra: Partial<StepRecord> = {}): StepRecord {
  return { id: 's', type, phase: 'remediate', status: 'succeeded', attempts: 1, output, ...extra };
}

describe('demo narration of a finished step', () => {
  it('says what a container step found', () => {
    assert.equal(
      describeStep(
        done('container.inspect', { name: 'web-1', running: false, status: 'exited', exitCode: 137 }),
      ),
      'web-1 is exited (exit code 137)',
    );
    assert.equal(
      describeStep(done('container.inspect', { name: 'web-1', running: true, health: 'healthy' })),
      'web-1 is running, health healthy',
    );
    assert.equal(
      describeStep(done('container.inspect', { exists: false })),
      'no such container on the engine the worker uses',
    );
    assert.equal(
      describeStep(done('container.restart', { container: 'web-1' })),
      'docker restart web-1: started again',
    );
    assert.equal(
      describeStep(done('container.restart', { container: 'web-1', restarted: false })),
      'web-1 was already restarted by an earlier attempt',
    );
    assert.equal(
      describeStep(done('container.stop', { name: 'web-1', running: false })),
      'web-1 is not running',
    );
    assert.equal(
      describeStep(done('container.wait-healthy', { healthy: true, observations: 1 })),
      'healthy again (1 observation)',
    );
    assert.equal(
      describeStep(
        done('container.wait-healthy', { healthy: false, last: { name: 'web-1', running: false } }),
      ),
      'not healthy: web-1 is not running',
    );
  });

  it('says how a probe answered, and that a message was sent', () => {
    assert.equal(
      describeStep(done('probe.http', { ok: true, status: 200, durationMs: 12 })),
      'answered 200 in 12 ms',
    );
    assert.equal(
      describeStep(done('probe.tcp', { ok: false, error: 'ECONNREFUSED' })),
      'no good answer: ECONNREFUSED',
    );
    assert.equal(describeStep(done('notify', { channel: 'email' })), 'sent');
  });

  it('adds nothing for other steps, and says why a step failed or what it noted', () => {
    assert.equal(describeStep(done('http.call', { status: 200 })), undefined);
    assert.equal(
      describeStep(done('container.restart', {}, { note: 'dry run: would restart' })),
      'dry run: would restart',
    );
    assert.equal(
      describeStep(
        done('notify', undefined, { status: 'failed', error: { type: 'NotConfigured', message: 'no SMTP' } }),
      ),
      'skipped: no SMTP',
    );
    assert.equal(
      describeStep(
        done('probe.http', undefined, { status: 'failed', error: { type: 'Timeout', message: 'slow' } }),
      ),
      'failed: slow',
    );
    assert.equal(describeStep(done('probe.http', undefined, { status: 'running' })), undefined);
  });
});
