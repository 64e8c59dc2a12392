// Asserting how an activity fails: the ApplicationFailure type and whether Temporal may retry it.
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';

export async function expectFailure(
  promise: Promise<unknown>,
  type: string,
  nonRetryable: boolean,
): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(error)}`);
    assert.equal(error.type, type, error.message);
    assert.equal(error.nonRetryable, nonRetryable, error.message);
    return error;
  }
  assert.fail(`expected a ${type} failure`);
}
