// Every recorded incident history under test/histories replays identically against today's workflow
// code; a deliberately changed workflow is caught, with the first diverging event named.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode } from '@temporalio/worker';
import { formatReplayOutcome } from '../../src/commands/audit';
import { readHistoryFile, replay, type ReplaySource } from '../../src/replay';

/** The shipped runbooks: their code runbooks are bundled in, as the worker bundles them. */
const RUNBOOKS_DIR = path.resolve(__dirname, '../../runbooks');

const dir = path.resolve(__dirname, '../histories');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => path.join(dir, f));

describe('replaying recorded incidents', () => {
  it('has recorded histories to replay', () => {
    assert.ok(files.length >= 8, `expected the recorded histories under ${dir}, found ${files.length}`);
  });

  it('replays every recorded history identically against the current workflow code', async () => {
    // With the code runbooks of runbooks/ bundled in, as the worker bundles them.
    const outcomes = await replay(files.map(readHistoryFile), { runbooksDir: RUNBOOKS_DIR });
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

describe('replaying a recorded code-runbook incident', () => {
  const recorded = path.join(dir, 'code-failover-to-first-healthy-standby.json');

  it('catches a changed code runbook, naming the first diverging event', async () => {
    const [outcome] = await replay([readHistoryFile(recorded)], {
      runbooksDir: path.resolve(__dirname, '../fixtures/changed-code-runbook'),
    });
    assert.ok(outcome && !outcome.ok, 'the changed code runbook should diverge');
    assert.match(outcome.error ?? '', /[Nn]ondeterminis/);
    assert.ok(outcome.divergingEventId !== undefined, `no event named in: ${outcome.error}`);
    // Where the recorded incident started the approval's timer, the changed code schedules its new step.
    assert.equal(outcome.divergingEvent, 'TimerStarted');
    assert.match(
      formatReplayOutcome(outcome),
      new RegExp(`: DIVERGED at event ${outcome.divergingEventId} \\(TimerStarted\\): `),
    );
  });
});

/** The parts of a history's JSON events the edits below touch. */
interface EventJson {
  eventId: string;
  workflowExecutionStartedEventAttributes?: { workflowType: { name: string } };
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  startChildWorkflowExecutionInitiatedEventAttributes?: { workflowType: { name: string } };
  workflowExecutionSignaledEventAttributes?: { signalName: string };
}

/** A recorded history, changed by `edit` (its JSON events), as a replay source. */
function editedHistory(file: string, edit: (events: EventJson[]) => void): ReplaySource {
  const json = JSON.parse(readFileSync(path.join(dir, `${file}.json`), 'utf8')) as {
    events: EventJson[];
  };
  edit(json.events);
  return { name: `${file} (edited)`, workflowId: file, history: historyFromJSON(json) };
}

function renameWorkflowType(type: string) {
  return (events: EventJson[]): void => {
    events[0]!.workflowExecutionStartedEventAttributes!.workflowType.name = type;
  };
}

describe('naming the diverging event for every kind of divergence', () => {
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const current = bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '../../src/workflows/index.ts'),
    logger: quiet,
  });
  const changed = bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '../fixtures/changed-workflow/index.ts'),
    logger: quiet,
  });

  const cases: Array<{
    kind: string;
    source: () => ReplaySource;
    changedCode?: boolean;
    event: number;
    type: string;
  }> = [
    {
      kind: 'activity type changed',
      source: () =>
        editedHistory('escalate-only-acknowledged', (events) => {
          for (const e of events)
            if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'impactAssess')
              e.activityTaskScheduledEventAttributes.activityType.name = 'impactAssessX';
        }),
      event: 13,
      type: 'ActivityTaskScheduled',
    },
    {
      kind: 'child workflow changed',
      source: () =>
        editedHistory('restart-container-remediated', (events) => {
          const e = events.find((x) => x.startChildWorkflowExecutionInitiatedEventAttributes);
          e!.startChildWorkflowExecutionInitiatedEventAttributes!.workflowType.name = 'someOtherLock';
        }),
      event: 40,
      type: 'StartChildWorkflowExecutionInitiated',
    },
    {
      // The resolution arrives under another name: no handler takes it, so the hold timer is not cancelled.
      kind: 'signal changed',
      source: () =>
        editedHistory('restart-container-remediated', (events) => {
          const e = events.find((x) => x.eventId === '103');
          e!.workflowExecutionSignaledEventAttributes!.signalName = 'not-the-alert';
        }),
      event: 106,
      type: 'TimerCanceled',
    },
    {
      kind: 'a timer the history does not have',
      source: () => editedHistory('escalate-only-acknowledged', renameWorkflowType('incidentTimerFirst')),
      changedCode: true,
      event: 6,
      type: 'UpsertWorkflowSearchAttributes',
    },
    {
      kind: 'a missing command',
      source: () => editedHistory('escalate-only-acknowledged', renameWorkflowType('incidentMissingCommand')),
      changedCode: true,
      event: 6,
      type: 'UpsertWorkflowSearchAttributes',
    },
    {
      kind: 'an extra command',
      source: () => editedHistory('escalate-only-acknowledged', renameWorkflowType('incidentExtraCommand')),
      changedCode: true,
      event: 92,
      type: 'WorkflowExecutionCompleted',
    },
  ];

  for (const c of cases) {
    it(`${c.kind}: DIVERGED at event ${c.event} (${c.type})`, async () => {
      const [outcome] = await replay([c.source()], {
        workflowBundle: await (c.changedCode ? changed : current),
      });
      assert.ok(outcome && !outcome.ok, `${c.kind} should diverge`);
      assert.equal(outcome.divergingEventId, c.event, outcome.error);
      assert.equal(outcome.divergingEvent, c.type);
      assert.match(
        formatReplayOutcome(outcome),
        new RegExp(`: DIVERGED at event ${c.event} \\(${c.type}\\): `),
      );
    });
  }
});
