// `rebound audit` of a real incident with a retried step, an approval with a comment and a failing
// step that escalates: the text audit line by line, and the HTML audit in a real headless Chromium.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { chromium, type BrowserContext } from 'playwright-core';
import { decideUpdate } from '../../src/workflows/contract';
import { alert, openIncident, runbookFromText, sendAlert, waitForState } from '../support/incidents';
import { fatal, retryable, TestActivities } from '../support/test-activities';
import { temporalAddress, testClient, uniqueTaskQueue, withWorker } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';

const RUNBOOK = `name: audit-demo
description: Probe, ask, restart; escalate when the restart fails.
matchers:
  - alertname = "AuditDemo"
target: '{{ labels.instance }}'
defaults:
  timeout: 10s
  retry: { maximumAttempts: 3, initialInterval: 200ms, backoffCoefficient: 1 }
holdOpen: 1m
notifications:
  email: { to: [oncall@example.com] }
steps:
  - id: check
    phase: detect
    type: probe.http
    with: { url: 'http://{{ labels.instance }}/health' }

  - id: approve
    phase: remediate
    type: approval
    with:
      approvers: [alice]
      prompt: 'Restart web-1 on {{ labels.instance }}?'
      timeout: 10m
      onTimeout: escalate

  - id: restart
    phase: remediate
    type: container.restart
    with: { container: web-1 }
    retry: { maximumAttempts: 1 }
    onFailure: escalate

  - id: page
    phase: escalate
    type: notify
    with: { channel: email, to: [oncall@example.com], subject: 'web-1 needs a human', text: 'Restart of web-1 failed.' }
`;

/** What an alert may carry: a label that must show as text in HTML, never run. */
const SCRIPT_LABEL = '<script>document.title="pwned";document.body.dataset.pwned="1"</script>';

function rebound(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: temporalAddress() };
  delete env.REBOUND_CONFIG;
  const r = spawnSync(process.execPath, [path.join(root, 'bin/rebound.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Times, durations and ids vary between runs; everything else in the audit must not. */
function normalise(line: string, workflowId: string): string {
  return line
    .split(workflowId)
    .join('<ID>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<T>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<UUID>')
    .replace(/\b\d+@[\w.-]+/g, '<CLIENT>')
    .replace(/#\d+/g, '#N')
    .replace(/\b\d+(\.\d+)?(ms|s)\b/g, '<D>')
    .replace(/test-[\w-]+<UUID>/g, '<QUEUE>');
}

describe('rebound audit', () => {
  let dir: string;
  let historyFile: string;
  let workflowId: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-audit-'));
    const client = await testClient();
    const taskQueue = uniqueTaskQueue();
    const acts = new TestActivities()
      .on('probeHttp', (_input, attempt) => {
        if (attempt === 1) throw retryable('connection refused (attempt 1)');
        return { ok: true, status: 200 };
      })
      .on('containerRestart', () => {
        throw fatal('no such container: web-1', 'ContainerNotFound');
      });
    const snapshot = runbookFromText(RUNBOOK, 'audit-demo.yaml');
    const firing = alert({ alertname: 'AuditDemo', instance: 'host-1', note: SCRIPT_LABEL });
    await withWorker({ taskQueue, activities: acts.activities() }, async () => {
      const handle = await openIncident(client, taskQueue, snapshot, firing, {
        workflowId: `test/audit-demo/${Math.random().toString(36).slice(2)}`,
      });
      workflowId = handle.workflowId;
      await waitForState(handle, (s) => s.pendingApproval?.stepId === 'approve');
      await handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', identity: 'alice', channel: 'cli', comment: 'host-1 is drained, go' }],
      });
      await waitForState(handle, (s) => s.steps.find((x) => x.id === 'page')?.status === 'succeeded');
      await sendAlert(handle, { ...firing, status: 'resolved' });
      await handle.result();
      historyFile = path.join(dir, 'audit-demo.json');
      writeFileSync(historyFile, historyToJSON(await handle.fetchHistory()) + '\n');
    });
    await client.connection.close();
  });

  it('prints the timeline an auditor reads, line by line', () => {
    const result = rebound('audit', historyFile);
    assert.equal(result.code, 0, result.stderr);
    const actual = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => normalise(l, workflowId));
    // The lock's first try runs while the switch guard is asked (patch lock-with-admission), so the
    // two answers land in either order, and a workflow task more or less changes the event count.
    const cleared = actual.indexOf(
      '  <T>  #N  guard  guards before acting on docker:local/web-1: cleared to act',
    );
    const locked = actual.indexOf('  <T>  #N  guard  lock taken: docker:local/web-1');
    if (locked >= 0 && cleared === locked + 1)
      [actual[locked], actual[cleared]] = [actual[cleared] as string, actual[locked] as string];
    const historyLine = actual.findIndex((l) => l.startsWith('History:'));
    const events = Number(/^History: +(\d+) events$/.exec(actual[historyLine] ?? '')?.[1]);
    assert.ok(events >= 78 && events <= 90, `history of ${events} events`);
    actual[historyLine] = 'History:        <N> events';
    const expected = [
      'Incident audit: <ID>',
      '',
      'Incident:       <ID>',
      'Workflow:       <ID> (run <UUID>)',
      'Runbook:        audit-demo',
      'Runbook file:   audit-demo.yaml',
      'Runbook sha256: 6d3608fa5e804127f37d074bf678087cf8882e818234c4896f76c182d8a7bddf',
      'Target:         test-target',
      'Dry run:        no',
      'Triggered by:   -',
      'Opened:         <T>',
      'Closed:         <T>',
      'Outcome:        escalated: restart failed: no such container: web-1; alert resolved',
      'History:        <N> events',
      '',
      'Timeline',
      '  <T>  #N  start  incident started: runbook audit-demo (audit-demo.yaml, sha256 6d3608fa5e804127f37d074bf678087cf8882e818234c4896f76c182d8a7bddf) for target test-target',
      '      started by <CLIENT> on task queue test-<UUID>',
      '  <T>  #N  alert  alert from test: AuditDemo {instance=host-1, note=<script>document.title="pwned";document.body.dataset.pwned="1"</script>} firing',
      '      received <T>; alert started <T>, fingerprint alertname=AuditD',
      '  <T>  #N  status  phase detect, status open',
      '  <T>  #N  step  step check: probeHttp succeeded',
      '      probeHttp (activity 1) succeeded on attempt 2 of 3 in <D>, <D> with retries',
      '      attempt 1 failed: Transient: connection refused (attempt 1)',
      '      params: {"url":"http://host-1/health"}',
      '      output: {"ok":true,"status":200}',
      '  <T>  #N  status  phase remediate',
      '  <T>  #N  timer  approval wait for step approve: timer 2 for 10m, canceled after <D>',
      '  <T>  #N  approval  alice approved step approve via cli: "host-1 is drained, go"',
      '      update decide <UUID> accepted from client <CLIENT>',
      '  <T>  #N  guard  guards before acting on docker:local/web-1: cleared to act',
      '  <T>  #N  guard  lock taken: docker:local/web-1',
      '  <T>  #N  guard  budget for docker:local/web-1: action counted, 2 left in the window',
      '  <T>  #N  step  step restart: containerRestart failed',
      '      containerRestart (activity 4) failed on attempt 1 of 1 in <D>',
      '      error: ContainerNotFound: no such container: web-1',
      '      params: {"container":"web-1"}',
      '  <T>  #N  status  phase escalate, status escalated',
      '  <T>  #N  message  email to oncall@example.com "[rebound] escalated: audit-demo test-target": succeeded',
      '      params: {"channel":"email","to":["oncall@example.com"],"subject":"[rebound] escalated: audit-demo test-target","text":"<16 lines, shown under Messages sent>"}',
      '      output: {"channel":"email","id":"msg-escalation-mail"}',
      '  <T>  #N  guard  lock released: docker:local/web-1',
      '  <T>  #N  guard  left the list of active remediations',
      '  <T>  #N  step  step page: notify succeeded',
      '      notify (activity 7) succeeded on attempt 1 of 3 in <D>',
      '      params: {"channel":"email","to":["oncall@example.com"],"subject":"web-1 needs a human","text":"Restart of web-1 failed."}',
      '      output: {"channel":"email","id":"msg-page"}',
      '  <T>  #N  timer  escalated: waiting for the alert to resolve or a close: timer 3 for 1h, canceled after <D>',
      '  <T>  #N  alert  notification #N from test: AuditDemo {instance=host-1, note=<script>document.title="pwned";document.body.dataset.pwned="1"</script>} resolved',
      '      received <T>; alert started <T>, fingerprint alertname=AuditD',
      '  <T>  #N  status  phase done',
      '  <T>  #N  outcome  incident escalated: restart failed: no such container: web-1; alert resolved',
      '',
      'Steps',
      '  check  probe.http  detect  succeeded',
      '      probeHttp (activity 1) succeeded on attempt 2 of 3 in <D>, <D> with retries',
      '      attempt 1 failed: Transient: connection refused (attempt 1)',
      '      params: {"url":"http://host-1/health"}',
      '      output: {"ok":true,"status":200}',
      '  approve  approval  remediate  succeeded',
      '      decision at <T>: alice approved step approve via cli: "host-1 is drained, go"',
      '      output: {"approved":true,"approvedBy":["alice"]}',
      '  restart  container.restart  remediate  failed',
      '      containerRestart (activity 4) failed on attempt 1 of 1 in <D>',
      '      error: ContainerNotFound: no such container: web-1',
      '      params: {"container":"web-1"}',
      '  page  notify  escalate  succeeded',
      '      notify (activity 7) succeeded on attempt 1 of 3 in <D>',
      '      params: {"channel":"email","to":["oncall@example.com"],"subject":"web-1 needs a human","text":"Restart of web-1 failed."}',
      '      output: {"channel":"email","id":"msg-page"}',
      '',
      'Approvals and closes',
      '  <T>  approved step approve  alice  cli  host-1 is drained, go',
      '      update decide <UUID> from client <CLIENT>, completed <T>',
      '',
      'Messages sent',
      '  <T>  notify  email to oncall@example.com "[rebound] escalated: audit-demo test-target"  {"channel":"email","id":"msg-escalation-mail"}',
      '      | Incident <ID> escalated: restart failed: no such container: web-1',
      '      | ',
      '      | <T> alert: opened by test: AuditDemo {instance=host-1, note=<script>document.title="pwned";document.body.dataset.pwned="1"</script>} firing',
      '      | <T> step: check (probe.http) started',
      '      | <T> step: check succeeded',
      '      | <T> phase: phase remediate',
      '      | <T> step: approve (approval) started',
      '      | <T> approval: waiting up to 10m for approval of approve: Restart web-1 on host-1?',
      '      | <T> approval: alice approved step approve via cli: host-1 is drained, go',
      '      | <T> step: approve succeeded',
      '      | <T> lock: acquired docker:local/web-1',
      '      | <T> safety: budget for docker:local/web-1: 2 action(s) left in the window',
      '      | <T> step: restart (container.restart) started',
      '      | <T> step: restart failed: ContainerNotFound: no such container: web-1',
      '      | <T> escalate: escalated: restart failed: no such container: web-1',
      '      | <T> phase: phase escalate',
      '  <T>  notify (step page)  email to oncall@example.com "web-1 needs a human"  {"channel":"email","id":"msg-page"}',
      '      | Restart of web-1 failed.',
      '',
      'Timers',
      '  <T>  approval wait for step approve  10m  canceled after <D>',
      '  <T>  escalated: waiting for the alert to resolve or a close  1h  canceled after <D>',
    ];
    if (process.env.REBOUND_PRINT_AUDIT === '1') console.log(JSON.stringify(actual, null, 2));
    assert.deepEqual(actual, expected);
  });

  it('reads the incident from Temporal by id the same as from the exported file', () => {
    const byId = rebound('audit', workflowId, '--format', 'json');
    const byFile = rebound('audit', historyFile, '--format', 'json');
    assert.equal(byId.code, 0, byId.stderr);
    assert.deepEqual(JSON.parse(byId.stdout), JSON.parse(byFile.stdout));
  });

  describe('as HTML in a real headless Chromium', () => {
    let browser: BrowserContext;
    before(async () => {
      assert.ok(
        existsSync(CHROMIUM),
        `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium, or scripts/install.sh)`,
      );
      // A fresh profile directory per run: nothing from an earlier run or the user's profile leaks in.
      browser = await chromium.launchPersistentContext(
        mkdtempSync(path.join(os.tmpdir(), 'rebound-chromium-')),
        {
          executablePath: CHROMIUM,
          headless: true,
          args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      );
    });
    after(async () => {
      await browser?.close();
    });

    it('renders the timeline, the approver and the comment, and shows an alert label as text', async () => {
      const htmlFile = path.join(dir, 'audit.html');
      const result = rebound('audit', historyFile, '--format', 'html', '-o', htmlFile);
      assert.equal(result.code, 0, result.stderr);
      const html = readFileSync(htmlFile, 'utf8');
      assert.doesNotMatch(html, /<script/i, 'no script element reaches the page');
      assert.doesNotMatch(html, /\b(src|href)=/i, 'no external assets');

      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      await page.goto(`file://${htmlFile}`);
      assert.equal(await page.title(), `Incident audit: ${workflowId}`);
      const headings = await page.locator('h2').allTextContents();
      assert.deepEqual(headings, [
        'Summary',
        'Phases',
        'Timeline',
        'Steps',
        'Approvals and closes',
        'Messages sent',
        'Timers',
      ]);
      // The summary a non-engineer reads first, and the phases as a picture (shared with the console).
      assert.match((await page.locator('#summary').textContent()) ?? '', /Who decided what/);
      assert.equal(await page.locator('svg.timeline').count(), 1);
      const timelineRows = page.locator('#timeline tbody tr');
      assert.ok((await timelineRows.count()) >= 10, 'the timeline has its rows');
      const approval = page.locator('#approvals-and-closes tbody tr').first();
      assert.ok(await approval.isVisible());
      const cells = await approval.locator('td').allInnerTexts();
      assert.equal(cells[2], 'alice');
      assert.equal(cells[3], 'cli');
      assert.match(cells[4] ?? '', /^host-1 is drained, go/);
      const alertRow = timelineRows.filter({ hasText: 'alert from test' });
      assert.match(await alertRow.innerText(), /note=<script>document\.title="pwned"/);
      assert.equal(await page.evaluate('document.body.dataset.pwned ?? "no"'), 'no', 'the label never ran');
      assert.equal(await page.evaluate('document.querySelectorAll("script").length'), 0);
      const stepRows = await page.locator('#steps tbody tr').allInnerTexts();
      assert.match(
        stepRows[0] ?? '',
        /check[\s\S]*succeeded[\s\S]*attempt 1 failed: Transient: connection refused/,
      );
      assert.match(
        stepRows[2] ?? '',
        /restart[\s\S]*failed[\s\S]*ContainerNotFound: no such container: web-1/,
      );
      assert.deepEqual(requests, [], 'the page loads nothing from anywhere');
      const shot = path.join(dir, 'audit.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000, 'a screenshot with content');
      if (process.env.REBOUND_KEEP_SCREENSHOT)
        writeFileSync(process.env.REBOUND_KEEP_SCREENSHOT, readFileSync(shot));
      await page.close();
    });
  });
});
