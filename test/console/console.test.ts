// The console in a real browser (Debian's Chromium through playwright-core) against a real
// `rebound dev`: log in with the one-time link, watch an alert appear without a reload, approve it
// with a comment and find the comment in the audit; a viewer cannot decide (not even by a forged
// POST); a POST without the CSRF token is refused; a hostile label stays text; pause and resume; a
// phone-sized screenshot. Screenshots are written to docs/ for the README.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freePort } from '../../src/dev-server';
import { startRebound, type RunningProcess, DEV_READY_TIMEOUT_MS } from '../support/processes';
import { temporalCliPath } from '../support/temporal';

const CHROMIUM = '/usr/bin/chromium';
const DOCS = path.resolve(__dirname, '../../docs');
const HOSTILE = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`;
const INCIDENT = 'incident/console-demo/web-1';
const VIEWER_TOKEN = 'viewer-token-for-vera-0123456789';

const RUNBOOK = `name: console-demo
description: Tell the team, ask an operator, then say it is done.
matchers:
  - alertname = "ConsoleDemo"
target: '{{ labels.instance }}'
holdOpen: 10m
steps:
  - id: tell
    phase: detect
    type: notify
    with: { channel: slack, to: '#ops', text: 'ConsoleDemo fired on {{ labels.instance }}' }
  - id: approve
    phase: remediate
    type: approval
    with:
      groups: [ops]
      prompt: 'Restart {{ labels.instance }}?'
      timeout: 30m
      onTimeout: escalate
  - id: done
    phase: validate
    type: notify
    with: { channel: email, to: [oncall@example.com], subject: 'approved', text: 'Approved on {{ labels.instance }}' }
`;

function webhook(labels: Record<string, string>, status: 'firing' | 'resolved'): string {
  return JSON.stringify({
    version: '4',
    receiver: 'rebound',
    status,
    groupKey: '{}:{alertname="ConsoleDemo"}',
    groupLabels: { alertname: 'ConsoleDemo' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.test',
    truncatedAlerts: 0,
    alerts: [
      {
        status,
        labels,
        annotations: { summary: 'web-1 stopped answering' },
        startsAt: new Date(Date.now() - 60_000).toISOString(),
        endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.test/graph',
        fingerprint: 'c0ffee',
      },
    ],
  });
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(DOCS, name), fullPage: false });
}

describe('console', { timeout: 240_000 }, () => {
  let dev: RunningProcess;
  let base: string;
  let loginLink: string;
  let dataDir: string;
  let browser: Browser;
  let operator: BrowserContext;
  const labels = { alertname: 'ConsoleDemo', instance: 'web-1', note: HOSTILE };

  const postAlert = async (status: 'firing' | 'resolved'): Promise<void> => {
    const token = readFileSync(path.join(dataDir, 'webhook-token'), 'utf8').trim();
    const response = await fetch(`${base}/v1/alerts/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: webhook(labels, status),
    });
    assert.equal(response.status, 202, await response.text());
  };

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (scripts/install.sh)`);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-console-'));
    const runbooks = mkdtempSync(path.join(os.tmpdir(), 'rebound-console-runbooks-'));
    writeFileSync(path.join(runbooks, '10-console-demo.yaml'), RUNBOOK);
    const port = await freePort();
    dev = startRebound(['dev'], {
      TEMPORAL_CLI_PATH: temporalCliPath(),
      REBOUND_DATA_DIR: dataDir,
      REBOUND_TEMPORAL_PORT: String(await freePort()),
      REBOUND_UI_PORT: '0',
      REBOUND_PORT: String(port),
      REBOUND_RUNBOOKS: runbooks,
      REBOUND_API_TOKENS: `${VIEWER_TOKEN}=vera`,
      REBOUND_CONSOLE_POLL_INTERVAL: '500ms',
      USER: 'opal',
      SLACK_BOT_TOKEN: '',
      REBOUND_SMTP_URL: '',
    });
    const match = await dev.waitFor(/console: +(http:\/\/\S+\/login\/once\/\S+)/, 120_000);
    loginLink = match[1] ?? '';
    base = `http://127.0.0.1:${port}`;
    await dev.waitFor(/Press Ctrl-C to stop/, DEV_READY_TIMEOUT_MS);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    operator = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  });

  after(async () => {
    await browser?.close();
    const code = await dev?.stop('SIGTERM');
    assert.equal(code, 0, dev?.output());
  });

  it('logs in with the one-time link, which works only once', async () => {
    const page = await operator.newPage();
    await page.goto(loginLink);
    assert.equal(new URL(page.url()).pathname, '/incidents');
    assert.equal(await page.locator('header .identity').textContent(), 'opal');
    assert.equal(await page.locator('header .role').textContent(), 'operator');
    const cookies = await operator.cookies(base);
    const session = cookies.find((c) => c.name === 'rebound_session');
    assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
    assert.equal(session?.sameSite, 'Strict');
    const again = await fetch(loginLink, { redirect: 'manual' });
    assert.equal(again.status, 410, 'a used link does not log in again');
    const csp = (await fetch(`${base}/login`)).headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    await page.close();
  });

  it('shows a new alert without a reload, lets an operator approve it with a comment, and the audit has the comment', async () => {
    const page = await operator.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(`${base}/incidents`);
    await page.waitForSelector('html[data-live-connected]');
    await page.evaluate('window.__sameDocument = true');
    await postAlert('firing');
    const link = page.locator(`a[href="/incidents/${encodeURIComponent(INCIDENT)}"]`);
    await link.waitFor({ timeout: 30_000 });
    assert.equal(
      await page.evaluate('window.__sameDocument'),
      true,
      'the incident appeared without a page load',
    );

    await link.click();
    // The incident's first workflow tasks and its notify step come first; on a loaded machine that is slow.
    await page.waitForSelector('section.decide button.approve', { timeout: 90_000 });
    // The hostile label is shown as text and nothing of it ran.
    const labelsText = await page.locator('.summary .labels').textContent();
    assert.ok(labelsText?.includes(`note=${HOSTILE}`), labelsText ?? '');
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    assert.equal(await page.locator('.summary img').count(), 0);
    assert.equal(await page.locator('svg.timeline').count(), 1, 'the phases are drawn');
    await screenshot(page, 'console-incident.png');

    await page.fill('#comment', 'web-1 is safe to restart <b>now</b>');
    await page.click('section.decide button.approve');
    await page.waitForSelector('.notice');
    assert.match((await page.locator('.notice').first().textContent()) ?? '', /approval is recorded/);

    const audit = await page.request.get(`${base}/incidents/${encodeURIComponent(INCIDENT)}/audit.md`);
    assert.equal(audit.status(), 200);
    const md = await audit.text();
    assert.match(
      md,
      /opal approved step approve via web: "web-1 is safe to restart &lt;b&gt;now&lt;\/b&gt;"/,
    );

    await postAlert('resolved');
    await page.reload();
    await page.waitForSelector('.incident-title .status-resolved', { timeout: 30_000 }).catch(async () => {
      await page.reload();
      await page.waitForSelector('.incident-title .status-resolved', { timeout: 15_000 });
    });
    await page.locator('#summary').scrollIntoViewIfNeeded();
    await page.evaluate('document.getElementById("summary").scrollIntoView()');
    await screenshot(page, 'console-summary.png');
    const html = await (
      await page.request.get(`${base}/incidents/${encodeURIComponent(INCIDENT)}/audit.html`)
    ).text();
    assert.match(html, /<section class="summary"/, 'the audit page has the same summary');
    assert.match(html, /<svg class="timeline"/, 'and the same timeline');

    const outbox = await page.goto(`${base}/outbox`);
    assert.equal(outbox?.status(), 200);
    assert.match(
      (await page.locator('main').textContent()) ?? '',
      /not sent[\s\S]*ConsoleDemo fired on web-1/,
    );
    await page.goto(`${base}/incidents`);
    await screenshot(page, 'console-incidents.png');
    assert.deepEqual(problems, [], 'no script errors, CSP violations or dialogs');
    await page.close();
  });

  it('shows a viewer no decide button and refuses a forged decision with 403', async () => {
    await postAlert('firing');
    const viewer = await browser.newContext();
    const page = await viewer.newPage();
    await page.goto(`${base}/incidents`);
    assert.equal(new URL(page.url()).pathname, '/login');
    await page.fill('#token', VIEWER_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/incidents`);
    assert.equal(await page.locator('header .role').textContent(), 'viewer');

    // The incident is open again (a new run) and waits for approval: the viewer reads, cannot decide.
    const url = `${base}/incidents/${encodeURIComponent(INCIDENT)}`;
    for (let i = 0; i < 60; i++) {
      await page.goto(url);
      if ((await page.locator('section.decide').count()) > 0) break;
      await page.waitForTimeout(500);
    }
    assert.equal(await page.locator('section.decide').count(), 1);
    assert.equal(await page.locator('button.approve').count(), 0, 'no decide button for a viewer');
    const csrf = await page.locator('form[action="/logout"] input[name=csrf]').getAttribute('value');
    assert.ok(csrf);
    const forged = await page.request.post(`${url}/decide`, {
      form: { csrf, decision: 'approve', step: 'approve', comment: 'forged' },
    });
    assert.equal(forged.status(), 403);
    // A viewer may replay: the current code reproduces the recorded history.
    // Replaying bundles the workflow code first (CPU-bound): the wait is on the result page below.
    await page.click('text=Replay against the current code', { noWaitAfter: true });
    await page.waitForSelector('h1:has-text("Replay of")', { timeout: 120_000 });
    assert.match((await page.locator('main').textContent()) ?? '', /replays all \d+ events/);
    await viewer.close();
  });

  it('refuses a POST without the CSRF token', async () => {
    const page = await operator.newPage();
    const response = await page.request.post(`${base}/incidents/${encodeURIComponent(INCIDENT)}/decide`, {
      form: { decision: 'reject', step: 'approve' },
    });
    assert.equal(response.status(), 403);
    const wrong = await page.request.post(`${base}/guards/pause`, { form: { csrf: 'guess', reason: 'x' } });
    assert.equal(wrong.status(), 403);
    await page.close();
  });

  it('pauses and resumes with a reason', async () => {
    const page = await operator.newPage();
    await page.goto(`${base}/safety`); // the old address leads to /guards
    assert.match(page.url(), /\/guards$/);
    await page.fill('#pause-reason', 'maintenance window');
    await page.click('form[action="/guards/pause"] button');
    await page.waitForSelector('.status-banner.paused');
    assert.match(
      (await page.locator('.status-banner.paused').first().textContent()) ?? '',
      /PAUSED: all automation, by opal[\s\S]*maintenance window/,
    );
    await page.fill('#resume-reason', 'window over');
    await page.click('form[action="/guards/resume"] button');
    await page.waitForSelector('.status-banner.running');
    assert.match(
      (await page.locator('ul.log').textContent()) ?? '',
      /resumed all automation by opal: window over/,
    );
    await page.close();
  });

  it('opens the incident from a link on another site (Slack, email) without logging in again', async () => {
    // localhost and 127.0.0.1 are different sites: the click is a cross-site navigation, which
    // carries no SameSite=Strict cookie until the console reloads the page from its own site.
    const target = `${base}/incidents/${encodeURIComponent(INCIDENT)}`;
    const elsewhere = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<a id="go" href="${target}">incident</a>`);
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    const address = elsewhere.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const page = await operator.newPage();
    try {
      await page.goto(`http://localhost:${port}/`);
      await page.click('#go');
      await page.waitForSelector('.incident-title', { timeout: 15_000 });
      assert.equal(page.url(), target);
    } finally {
      await page.close();
      elsewhere.close();
    }
  });

  it('reads well on a phone', async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    await phone.addCookies((await operator.cookies(base)).filter((c) => c.name === 'rebound_session'));
    const page = await phone.newPage();
    await page.goto(`${base}/incidents/${encodeURIComponent(INCIDENT)}`);
    await page.waitForSelector('section.decide button.approve', { timeout: 30_000 });
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    assert.ok(overflow <= 1, `nothing wider than the phone (overflow ${overflow}px)`);
    await screenshot(page, 'console-phone.png');
    await phone.close();
  });
});
