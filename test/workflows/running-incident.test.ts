// The incident workflow's state class on its own, no server: a fresh incident's state, the
// timeline's bound, how alert notifications are noted, the expression scope, and that a resume
// point carries everything a continued run needs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlertNotification, AlertSnapshot, IncidentInput } from '../../src/workflows/contract';
import { RunningIncident } from '../../src/workflows/incident/state';
import { alert, sampleRunbook } from '../support/incidents';

const firing = alert({ alertname: 'ContainerUnhealthy', severity: 'critical', container: 'api-1' });

function notification(a: AlertSnapshot = firing): AlertNotification {
  return { source: 'alertmanager', alert: a, receivedAt: '2026-11-23T10:00:01Z' };
}

function input(overrides: Partial<IncidentInput> = {}): IncidentInput {
  return {
    incidentId: 'inc-1',
    targetKey: 'host-1/api-1',
    snapshot: sampleRunbook('restart-container'),
    dryRun: false,
    ...overrides,
  };
}

describe('RunningIncident', () => {
  it('starts open at the first step, with a record per step and the default guard scope', () => {
    const run = new RunningIncident(input());
    const steps = run.runbook.steps;
    assert.equal(run.resumed, false);
    assert.equal(run.cursor, 0);
    assert.equal(run.stage, 'steps');
    assert.equal(run.guardScope, 'default');
    assert.equal(run.state.status, 'open');
    assert.equal(run.state.phase, steps[0]?.phase);
    assert.deepEqual(
      run.state.steps.map((r) => [r.id, r.status, r.attempts]),
      steps.map((s) => [s.id, 'pending', 0]),
    );
    const last = steps.at(-1);
    assert.ok(last);
    assert.equal(run.record(last.id).id, last.id);
    assert.equal(new RunningIncident(input({ safetyScope: 'team-a' })).guardScope, 'team-a');
  });

  it('keeps the most recent 500 timeline entries', () => {
    const run = new RunningIncident(input());
    for (let i = 0; i < 520; i += 1) run.note('test', `entry ${i}`);
    assert.equal(run.state.timeline.length, 500);
    assert.equal(run.state.timeline[0]?.message, 'entry 20');
    assert.equal(run.state.timeline.at(-1)?.message, 'entry 519');
  });

  it('notes the opening alert, its resolution, its return and repeats', () => {
    const run = new RunningIncident(input());
    run.receiveAlert(notification());
    run.receiveAlert(notification());
    run.receiveAlert(notification({ ...firing, status: 'resolved' }));
    run.receiveAlert(notification());
    assert.equal(run.state.notifications, 4);
    assert.equal(run.state.alertFiring, true);
    assert.deepEqual(
      run.state.timeline.map((t) => t.message),
      [
        'opened by alertmanager: ContainerUnhealthy {severity=critical, container=api-1} firing',
        'repeat notification #2 from alertmanager (firing)',
        'alert resolved (reported by alertmanager)',
        'alert firing again (reported by alertmanager)',
      ],
    );
  });

  it('gives expressions the alert, variables, step results and the incident', () => {
    const run = new RunningIncident(input({ dryRun: true }));
    run.receiveAlert(notification());
    run.vars = { limit: 3 };
    const first = run.state.steps[0];
    assert.ok(first);
    first.status = 'succeeded';
    first.output = { running: false };
    run.escalated = true;
    const scope = run.scope();
    assert.equal(scope.labels.container, 'api-1');
    assert.deepEqual(scope.vars, { limit: 3 });
    assert.deepEqual(scope.steps[first.id], { status: 'succeeded', output: { running: false } });
    assert.deepEqual(scope.incident, {
      id: 'inc-1',
      target: 'host-1/api-1',
      runbook: run.runbook.name,
      escalated: true,
      dryRun: true,
      alertFiring: true,
    });
  });

  it('counts visits per step', () => {
    const run = new RunningIncident(input());
    assert.equal(run.visit('inspect'), 1);
    assert.equal(run.visit('inspect'), 2);
    assert.equal(run.visit('restart'), 1);
    assert.deepEqual(run.visits, { inspect: 2, restart: 1 });
  });

  it('resumes from its resume point where it stopped, and does not note a repeat as the opening', () => {
    const run = new RunningIncident(input());
    run.receiveAlert(notification());
    run.cursor = 2;
    run.stage = 'escalation';
    run.escalated = true;
    run.mutated = true;
    run.visit('inspect');
    run.vars = { limit: 3 };
    run.slackTs = '1700000000.000100';
    run.slackChannel = 'C123';
    const point = run.resumePoint();
    const next = new RunningIncident(input({ resume: point }));
    assert.equal(next.resumed, true);
    assert.equal(next.state, run.state);
    assert.deepEqual(
      [next.cursor, next.stage, next.escalated, next.mutated, next.visits, next.vars],
      [2, 'escalation', true, true, { inspect: 1 }, { limit: 3 }],
    );
    assert.deepEqual([next.slackTs, next.slackChannel], ['1700000000.000100', 'C123']);
    assert.equal(next.heldLocks.size, 0);
    assert.equal(next.registeredActive, false);
    next.receiveAlert(notification());
    assert.equal(next.state.timeline.at(-1)?.message, 'repeat notification #2 from alertmanager (firing)');
    // No Slack message yet: the resume point leaves the keys out rather than carrying undefined.
    assert.equal('slackTs' in new RunningIncident(input()).resumePoint(), false);
  });
});
