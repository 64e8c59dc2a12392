// Loading a directory, routing alerts in file-name order, target keys and plans.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RunbookValidationError, contentHash, loadRunbooks, targetKey } from '../../src/runbooks/catalog';
import { formatPlan, planIncident } from '../../src/runbooks/plan';

const runbooksDir = path.resolve(__dirname, '../../runbooks');

function alert(labels: Record<string, string>, annotations: Record<string, string> = {}) {
  return {
    status: 'firing',
    labels,
    annotations,
    startsAt: '2024-05-01T10:00:00Z',
    fingerprint: 'fp-1',
    generatorURL: '',
  };
}

function runbookText(name: string, matcher: string, extra = ''): string {
  return `name: ${name}\nmatchers: ['${matcher}']\n${extra}steps:\n  - { id: s, phase: detect, type: sleep, with: { duration: 1s } }\n`;
}

void describe('catalog', () => {
  const catalog = loadRunbooks(runbooksDir);

  void it('routes realistic alerts to the first runbook whose matchers fit', () => {
    assert.equal(
      catalog.route({
        alertname: 'ContainerUnhealthy',
        severity: 'critical',
        container: 'api',
        instance: 'edge-1',
      })?.runbook.name,
      'restart-container',
    );
    // Also paging, but restart-container comes first in file-name order.
    assert.equal(
      catalog.route({ alertname: 'ContainerUnhealthy', severity: 'warning', container: 'api' })?.runbook.name,
      'restart-container',
    );
    assert.equal(
      catalog.route({ alertname: 'ServicePrimaryDown', service: 'db', severity: 'page' })?.runbook.name,
      'failover',
    );
    assert.equal(catalog.route({ alertname: 'DiskFull', severity: 'page' })?.runbook.name, 'escalate-only');
    assert.equal(catalog.route({ alertname: 'DiskFull', severity: 'info' }), undefined);
    // ServicePrimaryDown without a service label does not fit failover (service=~".+").
    assert.equal(
      catalog.route({ alertname: 'ServicePrimaryDown', severity: 'page' })?.runbook.name,
      'escalate-only',
    );
  });

  void it('records the source file and the sha256 of its bytes', () => {
    const snapshot = catalog.runbooks[0];
    assert.equal(snapshot?.source, '10-restart-container.yaml');
    assert.equal(
      snapshot?.hash,
      contentHash(readFileSync(path.join(runbooksDir, '10-restart-container.yaml'))),
    );
  });

  void it('orders routing by file name, not by runbook name', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-runbooks-'));
    writeFileSync(path.join(dir, '20-aaa.yaml'), runbookText('aaa', 'severity=~".+"'));
    writeFileSync(path.join(dir, '10-zzz.yml'), runbookText('zzz', 'severity="page"'));
    writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    const local = loadRunbooks(dir);
    assert.deepEqual(
      local.runbooks.map((r) => r.runbook.name),
      ['zzz', 'aaa'],
    );
    assert.equal(local.route({ severity: 'page' })?.runbook.name, 'zzz');
    assert.equal(local.route({ severity: 'info' })?.runbook.name, 'aaa');
  });

  void it('throws one error listing every problem of every file, and duplicate names', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-runbooks-'));
    writeFileSync(path.join(dir, '10-a.yaml'), runbookText('same', 'a=b'));
    writeFileSync(path.join(dir, '20-b.yaml'), runbookText('same', 'a=c'));
    writeFileSync(path.join(dir, '30-c.yaml'), runbookText('Bad', 'a=~"("'));
    assert.throws(
      () => loadRunbooks(dir),
      (error: unknown) => {
        assert.ok(error instanceof RunbookValidationError);
        const lines = error.message.split('\n');
        assert.equal(lines.length, 3, error.message);
        assert.match(lines[0] ?? '', /^20-b\.yaml:1:1: duplicate runbook name "same" \(also in 10-a\.yaml\)/);
        assert.match(lines[1] ?? '', /^30-c\.yaml:1:7: name "Bad" must be lowercase/);
        assert.match(lines[2] ?? '', /^30-c\.yaml:2:12: matcher "a=~"\("": invalid regular expression/);
        return true;
      },
    );
  });

  void it('renders the target key, or falls back to the fingerprint, and refuses an empty one', () => {
    const restart = catalog.runbooks[0]?.runbook;
    assert.ok(restart);
    assert.equal(
      targetKey(restart, alert({ alertname: 'ContainerUnhealthy', container: 'api', instance: 'edge-1' })),
      'edge-1/api',
    );
    const noTarget = { ...restart, target: undefined };
    assert.equal(catalog.targetKey(noTarget, alert({ container: 'api' })), 'fp-1');
    const empty = { ...restart, target: '{{ has(labels.x) ? labels.x : "" }}' };
    assert.throws(() => targetKey(empty, alert({})), /renders empty for this alert/);
    const escalate = catalog.runbooks.find((r) => r.runbook.name === 'escalate-only')?.runbook;
    assert.ok(escalate);
    assert.equal(targetKey(escalate, alert({ alertname: 'DiskFull', severity: 'page' })), 'DiskFull/fp-1');
  });
});

void describe('plan', () => {
  const catalog = loadRunbooks(runbooksDir);

  void it('resolves parameters and conditions from the alert, leaving step-dependent ones unresolved', () => {
    const failover = catalog.runbooks.find((r) => r.runbook.name === 'failover');
    assert.ok(failover);
    const plan = planIncident(
      failover,
      alert({ alertname: 'ServicePrimaryDown', service: 'db' }, { health_url: 'http://db:8080/health' }),
    );
    assert.equal(plan.matches, true);
    assert.equal(plan.target, 'db');
    assert.equal(plan.workflowId, 'incident/failover/db');
    assert.deepEqual(plan.variables, {
      primary: 'db-primary',
      standby: 'db-standby',
      healthUrl: 'http://db:8080/health',
    });
    const byId = new Map(plan.steps.map((s) => [s.id, s]));
    assert.deepEqual(byId.get('primary')?.params, { container: 'db-primary' });
    assert.equal(byId.get('failover')?.mutating, true);
    assert.deepEqual(byId.get('failover')?.params, {
      primary: 'db-primary',
      standby: 'db-standby',
      stopTimeout: 20,
    });
    assert.equal(byId.get('failover')?.when?.result, 'unresolved');
    const approve = byId.get('approve');
    assert.deepEqual(approve?.unresolved, ['steps.impact.output.value']);
    assert.equal(
      (approve?.params as { prompt: string }).prompt,
      'Fail db-primary over to db-standby? Error rate: {{ steps.impact.output.value }}',
    );
    assert.deepEqual(byId.get('standby-healthy')?.retry, {
      maximumAttempts: 1,
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '1m',
    });
    const text = formatPlan(plan);
    assert.match(text, /Workflow {2}incident\/failover\/db/);
    assert.match(text, /unresolved until run time: \{\{ steps\.impact\.output\.value \}\}/);
  });

  void it('evaluates conditions that only read the alert and variables', () => {
    const restart = catalog.runbooks[0];
    assert.ok(restart);
    const without = planIncident(
      restart,
      alert({ alertname: 'ContainerUnhealthy', severity: 'critical', container: 'api', instance: 'edge-1' }),
    );
    assert.deepEqual(without.steps.find((s) => s.id === 'probe')?.when?.result, false);
    const withUrl = planIncident(
      restart,
      alert(
        { alertname: 'ContainerUnhealthy', severity: 'critical', container: 'api', instance: 'edge-1' },
        { health_url: 'http://x/' },
      ),
    );
    assert.deepEqual(withUrl.steps.find((s) => s.id === 'probe')?.when?.result, true);
    assert.deepEqual(withUrl.steps.find((s) => s.id === 'probe')?.params, {
      url: 'http://x/',
      expectStatus: [200, 204],
      timeoutMs: 5000,
    });
  });

  void it('says when the alert does not fit the runbook, and when the target cannot be rendered', () => {
    const restart = catalog.runbooks[0];
    assert.ok(restart);
    const plan = planIncident(restart, alert({ alertname: 'Other' }));
    assert.equal(plan.matches, false);
    assert.match(plan.error ?? '', /variable "container": .*no such key "container"/);
    assert.match(
      formatPlan(plan),
      /Matches {3}NO: the alert does not fit alertname="ContainerUnhealthy", severity=~"critical\|warning"/,
    );
  });
});
