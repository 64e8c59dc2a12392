// The console: a web page for operators and auditors, served by the receiver under `/`. Login with
// an API token, then incidents (live), one incident's audit, approvals, safety and runbooks. Every
// POST needs a session and its CSRF token; deciding, closing and pausing also need the operator role,
// checked here on the server whatever the page showed.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { outboxFile, readOutbox } from '../activities/outbox';
import {
  ApprovalError,
  applyDecision,
  closeIncident,
  groupsOf,
  pendingApprovals,
  type PendingRow,
} from '../decisions';
import { buildAudit } from '../audit/model';
import { AUDIT_CSS, renderAudit, type AuditFormat } from '../audit/render';
import { SUMMARY_CSS } from '../audit/summary';
import { alertFromObject } from '../commands/runbooks';
import { controlStart, readSafetyStatus } from '../commands/safety';
import type { Config } from '../config';
import { INCIDENT_STATUSES, listQuery, parseSince, summarise, type ListFilter } from '../incident-queries';
import { logger } from '../log';
import { HttpError, type RequestContext, type Router } from '../receiver/http';
import type { ReceiverDeps, RouteModule } from '../receiver/index';
import { statusFor } from '../receiver/approval-routes';
import { identityForToken } from '../receiver/approval-routes';
import { replay, type ReplayOutcome } from '../replay';
import { checkRunbookDir } from '../runbooks/catalog';
import { planIncident } from '../runbooks/plan';
import { stateQuery, type IncidentState, type IncidentStatus } from '../workflows/contract';
import { pauseUpdate, resumeUpdate } from '../workflows/safety-contract';
import { SA_ALERTNAME } from '../workflows/search-attributes';
import { html, type Markup } from './html';
import {
  incidentHref,
  incidentListPage,
  incidentPage,
  replayPage,
  type ListedIncident,
} from './incident-pages';
import { layout, type PageOptions, type Viewer } from './layout';
import { LiveFeed, incidentsFingerprint } from './live';
import {
  approvalsPage,
  loginPage,
  messagePage,
  outboxPage,
  runbooksPage,
  safetyPage,
  waitsFor,
} from './other-pages';
import { localPath, readForm, redirect, sendDownload, sendHtml, SECURITY_HEADERS } from './respond';
import { LOGIN_COOKIE, SessionKeeper, consumeOneTimeLogin, parseCookies, roleOf, sameText } from './session';
import { randomBytes } from 'node:crypto';

const log = logger('console');
const STATIC_DIR = path.join(__dirname, 'static');
const PAGE_SIZE = 50;
const QUERY_TIMEOUT_MS = 3_000;
/** How long a page waits for the header's approval count before showing the last one known. */
const HEADER_WAIT_MS = 300;

type PendingList = { rows: PendingRow[]; unanswered: string[] };

interface Action {
  /** Needs the operator role (deciding, closing, pausing); otherwise any logged-in person. */
  operator: boolean;
}

export class Console {
  readonly sessions: SessionKeeper;
  readonly feed: LiveFeed;
  private readonly config: Config;
  private readonly client: Client;
  private readonly staticFiles = new Map<string, { type: string; body: string }>();
  private pendingCache: { at: number; value: Promise<PendingList> } | undefined;
  private pendingKnown: PendingList | undefined;
  private bundle: Promise<{ code: string }> | undefined;

  constructor(private readonly deps: ReceiverDeps) {
    this.config = deps.config;
    this.client = deps.client;
    const publicUrl = deps.config.receiver.publicUrl;
    this.sessions = new SessionKeeper(
      deps.config.console.sessionSecret,
      deps.config.console.sessionLifetime,
      publicUrl?.startsWith('https:') ?? false,
    );
    this.feed = new LiveFeed(() => incidentsFingerprint(this.client), deps.config.console.pollInterval);
    // The page's look and behaviour are files in the repository, read once: no build step.
    this.staticFiles.set('console.css', {
      type: 'text/css; charset=utf-8',
      body: `${AUDIT_CSS}\n${SUMMARY_CSS}\n${readFileSync(path.join(STATIC_DIR, 'console.css'), 'utf8')}`,
    });
    this.staticFiles.set('console.js', {
      type: 'text/javascript; charset=utf-8',
      body: readFileSync(path.join(STATIC_DIR, 'console.js'), 'utf8'),
    });
  }

  private outbox(): string | undefined {
    const file = outboxFile(this.config.dev.dataDir);
    return existsSync(file) ? file : undefined;
  }

  private viewerOf(ctx: RequestContext): Viewer | undefined {
    const session = this.sessions.read(ctx.req);
    if (!session) return undefined;
    return {
      session,
      identity: session.identity,
      role: roleOf(this.config, session.identity),
      groups: groupsOf(this.config, session.identity),
      csrf: this.sessions.csrfToken(session),
    };
  }

  /**
   * Pending approvals, computed at most once per poll interval however many pages ask. Finding them
   * asks every open incident for its state, so with thousands open it takes a while: pages other
   * than /approvals never wait long for it (see pendingFor).
   */
  private pending(): Promise<PendingList> {
    const now = Date.now();
    if (!this.pendingCache || now - this.pendingCache.at > this.config.console.pollInterval) {
      const value = pendingApprovals(this.client, { queryTimeoutMs: QUERY_TIMEOUT_MS });
      this.pendingCache = { at: now, value };
      value.then(
        (list) => (this.pendingKnown = list),
        () => {
          if (this.pendingCache?.value === value) this.pendingCache = undefined;
        },
      );
    }
    return this.pendingCache.value;
  }

  /** The header's count: fresh when it comes within HEADER_WAIT_MS, else the last one known. */
  private async pendingFor(viewer: Viewer): Promise<number | undefined> {
    let list: PendingList | undefined;
    try {
      list = await Promise.race([
        this.pending(),
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), HEADER_WAIT_MS).unref()),
      ]);
    } catch {
      // Temporal unreachable: the page says so elsewhere; the header shows the last count known.
    }
    list ??= this.pendingKnown;
    return list?.rows.filter((r) => waitsFor(r, viewer.identity, viewer.groups)).length;
  }

  private async render(
    ctx: RequestContext,
    viewer: Viewer,
    options: Omit<PageOptions, 'viewer' | 'pending' | 'showOutbox'>,
    status = 200,
  ): Promise<void> {
    const pending = await this.pendingFor(viewer);
    sendHtml(
      ctx.res,
      status,
      layout({
        ...options,
        viewer,
        ...(pending !== undefined ? { pending } : {}),
        showOutbox: this.outbox() !== undefined,
      }),
    );
  }

  /** A page for logged-in people; others are sent to the login form. */
  private page(handler: (ctx: RequestContext, viewer: Viewer) => Promise<void>) {
    return async (ctx: RequestContext): Promise<void> => {
      const viewer = this.viewerOf(ctx);
      if (!viewer) {
        const here = ctx.url.pathname + ctx.url.search;
        // A link in Slack or an email is a cross-site navigation, which never carries a SameSite=Strict
        // cookie. Load the same address again from this site (a meta refresh, not a script): the
        // browser sends the cookie then, and only someone really logged out goes on to the login form.
        if (ctx.req.headers['sec-fetch-site'] === 'cross-site') {
          sendHtml(ctx.res, 200, sameSiteBounce(localPath(here)));
          return;
        }
        redirect(ctx.res, `/login?next=${encodeURIComponent(here)}`);
        return;
      }
      try {
        await handler(ctx, viewer);
      } catch (error) {
        await this.fail(ctx, viewer, error);
      }
    };
  }

  /** A form post: session, CSRF token and (for actions that change things) the operator role. */
  private action(
    rule: Action,
    handler: (ctx: RequestContext, viewer: Viewer, form: URLSearchParams) => Promise<void>,
  ) {
    return async (ctx: RequestContext): Promise<void> => {
      const viewer = this.viewerOf(ctx);
      if (!viewer) {
        ctx.req.resume();
        sendHtml(
          ctx.res,
          401,
          layout({
            title: 'Log in',
            body: messagePage('Not logged in', 'Log in again: your session has ended.', '/login'),
          }),
        );
        return;
      }
      let form: URLSearchParams;
      try {
        form = await readForm(ctx);
      } catch (error) {
        await this.fail(ctx, viewer, error);
        return;
      }
      if (!this.sessions.checkCsrf(viewer.session, form.get('csrf'))) {
        log.warn('console form without a valid CSRF token refused', {
          path: ctx.url.pathname,
          identity: viewer.identity,
        });
        await this.render(
          ctx,
          viewer,
          {
            title: 'Refused',
            body: messagePage(
              'Refused',
              'The form is missing its CSRF token or it is not valid for your session: reload the page and try again.',
              ctx.url.pathname,
            ),
          },
          403,
        );
        return;
      }
      if (rule.operator && viewer.role !== 'operator') {
        log.warn('console action refused to a viewer', { path: ctx.url.pathname, identity: viewer.identity });
        await this.render(
          ctx,
          viewer,
          {
            title: 'Refused',
            body: messagePage(
              'Refused',
              `${viewer.identity} is a viewer: this needs the operator role (console.roles).`,
            ),
          },
          403,
        );
        return;
      }
      try {
        await handler(ctx, viewer, form);
      } catch (error) {
        await this.fail(ctx, viewer, error);
      }
    };
  }

  private async fail(ctx: RequestContext, viewer: Viewer, error: unknown): Promise<void> {
    let status = 500;
    let message = 'Something went wrong; the receiver log says what.';
    if (error instanceof HttpError) [status, message] = [error.status, error.message];
    else if (error instanceof ApprovalError) [status, message] = [statusFor(error), error.message];
    else if (error instanceof WorkflowNotFoundError) [status, message] = [404, 'No such incident.'];
    else if (isUnavailable(error))
      [status, message] = [503, `Temporal is unreachable: ${(error as Error).message}`];
    else log.error('console request failed', { path: ctx.url.pathname, error });
    if (!ctx.req.complete) ctx.req.resume();
    await this.render(
      ctx,
      viewer,
      {
        title: 'Error',
        body: messagePage(
          status === 403 ? 'Refused' : 'Could not do that',
          message,
          ctx.url.pathname.startsWith('/incidents/')
            ? ctx.url.pathname.replace(/\/(decide|close|replay)$/, '')
            : undefined,
        ),
      },
      status,
    ).catch(() => {
      sendHtml(ctx.res, status, layout({ title: 'Error', body: messagePage('Error', message) }));
    });
  }

  register(router: Router): void {
    router.onClose.push(() => this.feed.close());
    router.add('GET', '/', ({ res }) => redirect(res, '/incidents'));
    router.add('GET', '/static/:file', ({ res, params }) => {
      const file = this.staticFiles.get(params.file ?? '');
      if (!file) throw new HttpError(404, 'no such file');
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'cache-control': 'no-cache',
        'content-type': file.type,
        'content-length': Buffer.byteLength(file.body),
      });
      res.end(file.body);
    });
    this.registerLogin(router);
    router.add('GET', '/events', (ctx) => {
      if (!this.viewerOf(ctx)) throw new HttpError(401, 'log in first');
      this.feed.subscribe(ctx.res);
    });
    router.add(
      'GET',
      '/incidents',
      this.page((ctx, viewer) => this.listPage(ctx, viewer)),
    );
    router.add(
      'GET',
      '/incidents/:id',
      this.page((ctx, viewer) => this.incidentPage(ctx, viewer)),
    );
    router.add(
      'GET',
      '/incidents/:id/history.json',
      this.page((ctx) => this.download(ctx, 'history')),
    );
    for (const format of ['md', 'json', 'html', 'txt'] as const)
      router.add(
        'GET',
        `/incidents/:id/audit.${format}`,
        this.page((ctx) => this.download(ctx, format)),
      );
    router.add(
      'POST',
      '/incidents/:id/decide',
      this.action({ operator: true }, (ctx, viewer, form) => this.decide(ctx, viewer, form)),
    );
    router.add(
      'POST',
      '/incidents/:id/close',
      this.action({ operator: true }, (ctx, viewer, form) => this.close(ctx, viewer, form)),
    );
    router.add(
      'POST',
      '/incidents/:id/replay',
      this.action({ operator: false }, (ctx, viewer) => this.replay(ctx, viewer)),
    );
    router.add(
      'GET',
      '/approvals',
      this.page(async (ctx, viewer) => {
        const { rows, unanswered } = await this.pending();
        await this.render(ctx, viewer, {
          title: 'Approvals',
          nav: 'approvals',
          live: true,
          body: approvalsPage(rows, unanswered, viewer),
        });
      }),
    );
    router.add(
      'GET',
      '/safety',
      this.page((ctx, viewer) => this.safetyPage(ctx, viewer)),
    );
    router.add(
      'POST',
      '/safety/pause',
      this.action({ operator: true }, (ctx, viewer, form) => this.pause(ctx, viewer, form, 'pause')),
    );
    router.add(
      'POST',
      '/safety/resume',
      this.action({ operator: true }, (ctx, viewer, form) => this.pause(ctx, viewer, form, 'resume')),
    );
    router.add(
      'GET',
      '/runbooks',
      this.page((ctx, viewer) => this.runbooksPage(ctx, viewer)),
    );
    router.add(
      'GET',
      '/outbox',
      this.page(async (ctx, viewer) => {
        const file = outboxFile(this.config.dev.dataDir);
        await this.render(ctx, viewer, {
          title: 'Outbox',
          nav: 'outbox',
          live: true,
          body: outboxPage(readOutbox(file), file),
        });
      }),
    );
  }

  private registerLogin(router: Router): void {
    const form = (
      ctx: RequestContext,
      status: number,
      extra: { error?: string; note?: string } = {},
    ): void => {
      // Before a session there is no session to bind the CSRF token to: a random one in a cookie
      // (SameSite=Strict) that the form must repeat.
      const csrf = randomBytes(18).toString('base64url');
      sendHtml(
        ctx.res,
        status,
        layout({
          title: 'Log in',
          body: loginPage({ csrf, next: localPath(ctx.url.searchParams.get('next')), ...extra }),
        }),
        {
          'set-cookie': this.sessions.cookie(LOGIN_COOKIE, csrf, 3600),
        },
      );
    };
    router.add('GET', '/login', (ctx) => form(ctx, 200));
    router.add('POST', '/login', async (ctx) => {
      const body = await readForm(ctx);
      const expected = parseCookies(ctx.req).get(LOGIN_COOKIE);
      if (!expected || !sameText(body.get('csrf') ?? '', expected)) {
        form(ctx, 403, { error: 'The login form had expired or was not sent from this page; try again.' });
        return;
      }
      const identity = identityForToken(this.config.receiver.apiTokens, body.get('token') ?? undefined);
      if (!identity) {
        log.warn('console login with an unknown token');
        form(ctx, 401, { error: 'That is not a valid API token (receiver.apiTokens).' });
        return;
      }
      const { cookie } = this.sessions.issue(identity);
      log.info('console login', { identity });
      redirect(ctx.res, localPath(body.get('next')), {
        'set-cookie': [cookie, this.sessions.clearCookie(LOGIN_COOKIE)],
      });
    });
    router.add('GET', '/login/once/:token', (ctx) => {
      const identity = consumeOneTimeLogin(ctx.params.token ?? '');
      if (!identity) {
        form(ctx, 410, {
          error: 'This login link was used already or has expired. Log in with your API token.',
        });
        return;
      }
      const { cookie } = this.sessions.issue(identity);
      log.info('console login with a one-time link', { identity });
      redirect(ctx.res, '/incidents', { 'set-cookie': cookie });
    });
    router.add(
      'POST',
      '/logout',
      this.action({ operator: false }, (ctx, viewer) => {
        this.sessions.revoke(viewer.session);
        redirect(ctx.res, '/login', { 'set-cookie': this.sessions.clearCookie() });
        return Promise.resolve();
      }),
    );
  }

  private async listPage(ctx: RequestContext, viewer: Viewer): Promise<void> {
    const q = ctx.url.searchParams;
    const raw = {
      status: q.get('status') ?? '',
      runbook: q.get('runbook') ?? '',
      target: q.get('target') ?? '',
      since: q.get('since') ?? '',
    };
    const filter: ListFilter = {};
    let error: string | undefined;
    if ((INCIDENT_STATUSES as readonly string[]).includes(raw.status))
      filter.status = raw.status as IncidentStatus;
    else raw.status = '';
    if (raw.runbook) filter.runbook = raw.runbook;
    if (raw.target) filter.target = raw.target;
    if (raw.since) {
      try {
        filter.since = parseSince(raw.since);
      } catch (e) {
        error = (e as Error).message;
      }
    }
    const page = await listIncidentPage(
      this.client,
      this.config.temporal.namespace,
      filter,
      q.get('page') ?? undefined,
    );
    const counts: Record<string, number> = {};
    await Promise.all(
      INCIDENT_STATUSES.map(async (status) => {
        counts[status] = (await this.client.workflow.count(listQuery({ ...filter, status }))).count;
      }),
    );
    await this.render(ctx, viewer, {
      title: 'Incidents',
      nav: 'incidents',
      live: true,
      body: incidentListPage({
        rows: page.rows,
        counts,
        filter: raw,
        runbooks: this.deps.catalog.runbooks.map((r) => r.runbook.name),
        ...(page.next ? { next: page.next } : {}),
        paged: q.has('page'),
        ...(error ? { error } : {}),
      }),
    });
  }

  private async incidentPage(ctx: RequestContext, viewer: Viewer): Promise<void> {
    const id = ctx.params.id ?? '';
    const handle = this.client.workflow.getHandle(id);
    const description = await handle.describe();
    const execution = description.status.name;
    let live: IncidentState | undefined;
    let liveNote: string | undefined;
    if (execution === 'RUNNING') {
      try {
        live = await this.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(stateQuery));
      } catch (error) {
        liveNote = `No worker answered for the live state (${(error as Error).message.split('\n')[0] ?? ''}); what follows is from the history.`;
      }
    }
    const history = await this.client.workflow.getHandle(id, description.runId).fetchHistory();
    const record = buildAudit(history, id);
    const done = ctx.url.searchParams.get('done');
    const temporalUiUrl = this.config.console.temporalUiUrl;
    await this.render(ctx, viewer, {
      title: id,
      nav: 'incidents',
      live: execution === 'RUNNING',
      body: incidentPage(
        {
          record,
          execution,
          runId: description.runId,
          ...(live ? { live } : {}),
          ...(liveNote ? { liveNote } : {}),
          ...(temporalUiUrl ? { temporalUiUrl } : {}),
          namespace: this.config.temporal.namespace,
          ...(done ? { notice: noticeFor(done) } : {}),
        },
        viewer,
      ),
    });
  }

  private async download(ctx: RequestContext, format: AuditFormat | 'txt' | 'history'): Promise<void> {
    const id = ctx.params.id ?? '';
    const history = await this.client.workflow.getHandle(id).fetchHistory();
    const base = id.replace(/[^A-Za-z0-9._-]+/g, '_');
    if (format === 'history') {
      sendDownload(
        ctx.res,
        historyToJSON(history),
        'application/json; charset=utf-8',
        `${base}.history.json`,
      );
      return;
    }
    const f: AuditFormat = format === 'txt' ? 'text' : format;
    const types: Record<AuditFormat, string> = {
      text: 'text/plain; charset=utf-8',
      md: 'text/markdown; charset=utf-8',
      json: 'application/json; charset=utf-8',
      html: 'text/html; charset=utf-8',
    };
    sendDownload(ctx.res, renderAudit(buildAudit(history, id), f), types[f], `${base}.audit.${format}`);
  }

  private async decide(ctx: RequestContext, viewer: Viewer, form: URLSearchParams): Promise<void> {
    const id = ctx.params.id ?? '';
    const decision = form.get('decision');
    if (decision !== 'approve' && decision !== 'reject') throw new HttpError(400, 'choose approve or reject');
    const comment = (form.get('comment') ?? '').trim().slice(0, 4000);
    const step = form.get('step') ?? '';
    const result = await applyDecision(
      this.client,
      this.config,
      {
        incidentId: id,
        decision,
        identity: viewer.identity,
        channel: 'web',
        ...(step ? { stepId: step } : {}),
        ...(comment ? { comment } : {}),
      },
      { timeoutMs: 5_000 },
    );
    this.pendingCache = undefined;
    const back = form.get('back') === '/approvals' ? '/approvals' : incidentHref(id);
    redirect(
      ctx.res,
      `${back}?done=${result.duplicate ? 'duplicate' : decision === 'approve' ? 'approved' : 'rejected'}`,
    );
  }

  private async close(ctx: RequestContext, viewer: Viewer, form: URLSearchParams): Promise<void> {
    const id = ctx.params.id ?? '';
    const comment = (form.get('comment') ?? '').trim().slice(0, 4000);
    await closeIncident(this.client, {
      incidentId: id,
      identity: viewer.identity,
      channel: 'web',
      ...(comment ? { comment } : {}),
    });
    redirect(ctx.res, `${incidentHref(id)}?done=closed`);
  }

  private async replay(ctx: RequestContext, viewer: Viewer): Promise<void> {
    const id = ctx.params.id ?? '';
    const history = await this.client.workflow.getHandle(id).fetchHistory();
    this.bundle ??= import('@temporalio/worker').then(({ bundleWorkflowCode, DefaultLogger }) =>
      bundleWorkflowCode({
        workflowsPath: path.join(__dirname, '..', 'workflows', 'index.ts'),
        logger: new DefaultLogger('ERROR'),
      }),
    );
    const [outcome] = (await replay([{ name: id, workflowId: id, history }], {
      workflowBundle: await this.bundle,
    })) as [ReplayOutcome];
    await this.render(ctx, viewer, {
      title: `Replay of ${id}`,
      nav: 'incidents',
      body: replayPage(id, outcome),
    });
  }

  private async safetyPage(ctx: RequestContext, viewer: Viewer, notice?: string): Promise<void> {
    const status = await readSafetyStatus(this.client, this.config);
    const done = ctx.url.searchParams.get('done');
    await this.render(ctx, viewer, {
      title: 'Safety',
      nav: 'safety',
      body: safetyPage(
        status,
        viewer,
        this.deps.catalog.runbooks.map((r) => r.runbook.name),
        notice ?? (done ? noticeFor(done) : undefined),
      ),
    });
  }

  private async pause(
    ctx: RequestContext,
    viewer: Viewer,
    form: URLSearchParams,
    what: 'pause' | 'resume',
  ): Promise<void> {
    const reason = (form.get('reason') ?? '').trim().slice(0, 500);
    if (!reason) throw new HttpError(400, `a reason is required to ${what}`);
    const runbook = form.get('runbook') || undefined;
    if (runbook && !this.deps.catalog.runbooks.some((r) => r.runbook.name === runbook))
      throw new HttpError(400, `no runbook named ${runbook}`);
    log.info(`console ${what}`, { identity: viewer.identity, runbook, reason });
    if (what === 'pause')
      await this.client.workflow.executeUpdateWithStart(pauseUpdate, {
        args: [{ identity: viewer.identity, reason, ...(runbook ? { runbook } : {}) }],
        startWorkflowOperation: controlStart(this.config),
      });
    else
      await this.client.workflow.executeUpdateWithStart(resumeUpdate, {
        // The reason is kept with the update in the control workflow's history.
        args: [
          {
            identity: viewer.identity,
            reason,
            ...(runbook ? { runbook } : {}),
            ...(form.get('breaker') ? { closeBreaker: true } : {}),
          },
        ],
        startWorkflowOperation: controlStart(this.config),
      });
    redirect(ctx.res, `/safety?done=${what === 'pause' ? 'paused' : 'resumed'}`);
  }

  private async runbooksPage(ctx: RequestContext, viewer: Viewer): Promise<void> {
    const dir = this.config.runbooks.dir;
    const now = checkRunbookDir(dir);
    const loaded = this.deps.catalog.runbooks;
    const changed = now.runbooks
      .filter((s) => !loaded.some((l) => l.source === s.source && l.hash === s.hash))
      .map((s) => s.source);
    const labels = (ctx.url.searchParams.get('labels') ?? '').slice(0, 8000);
    let plan;
    let planError: string | undefined;
    if (labels.trim()) {
      try {
        const alert = alertFromObject({ labels: parseLabels(labels) });
        const routed = this.deps.catalog.route(alert.labels);
        if (routed) plan = planIncident(routed, alert);
        else
          planError =
            'No runbook matches these labels: Rebound would answer the webhook and open no incident.';
      } catch (error) {
        planError = (error as Error).message;
      }
    }
    await this.render(ctx, viewer, {
      title: 'Runbooks',
      nav: 'runbooks',
      body: runbooksPage({
        loaded,
        problems: now.problems,
        changed,
        labels,
        ...(plan ? { plan } : {}),
        ...(planError ? { planError } : {}),
        dir,
      }),
    });
  }
}

/** Labels pasted into the plan form: a JSON object, or name=value per line (or comma separated). */
export function parseLabels(text: string): Record<string, string> {
  const trimmed = text.trim();
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new Error(`the labels are not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('give the labels as a JSON object');
    const source = (parsed as Record<string, unknown>).labels ?? parsed;
    for (const [k, v] of Object.entries(source as Record<string, unknown>)) out[k] = String(v);
    return out;
  }
  for (const line of trimmed.split(/[\n,]/)) {
    if (!line.trim()) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`"${line.trim()}" is not name=value`);
    out[line.slice(0, eq).trim()] = line
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  return out;
}

function sameSiteBounce(here: string): Markup {
  return html`<!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="refresh" content="0;url=${here}" />
        <title>Rebound</title>
      </head>
      <body>
        <p><a href="${here}">Continue to Rebound</a></p>
      </body>
    </html>`;
}

function noticeFor(done: string): string {
  switch (done) {
    case 'approved':
      return 'Your approval is recorded.';
    case 'rejected':
      return 'Your rejection is recorded.';
    case 'duplicate':
      return 'That decision was already recorded.';
    case 'closed':
      return 'The incident is closed.';
    case 'paused':
      return 'Paused.';
    case 'resumed':
      return 'Resumed.';
    default:
      return 'Done.';
  }
}

function isUnavailable(error: unknown): boolean {
  return (
    error instanceof Error && /ECONNREFUSED|UNAVAILABLE|DEADLINE_EXCEEDED|14 UNAVAILABLE/i.test(error.message)
  );
}

const dataConverter = loadDataConverter();

/** One page of incidents straight from visibility, with the token for the next page. */
export async function listIncidentPage(
  client: Client,
  namespace: string,
  filter: ListFilter,
  pageToken?: string,
  pageSize = PAGE_SIZE,
): Promise<{ rows: ListedIncident[]; next?: string }> {
  const response = await client.workflowService.listWorkflowExecutions({
    namespace,
    query: listQuery(filter),
    pageSize,
    ...(pageToken ? { nextPageToken: Buffer.from(pageToken, 'base64url') } : {}),
  });
  const rows = await Promise.all(
    response.executions.map(async (raw) => {
      const info = await executionInfoFromRaw(raw, dataConverter, raw, namespace);
      return { ...summarise(info), alertname: info.typedSearchAttributes.get(SA_ALERTNAME) ?? '' };
    }),
  );
  const next = response.nextPageToken?.length
    ? Buffer.from(response.nextPageToken).toString('base64url')
    : undefined;
  return { rows, ...(next ? { next } : {}) };
}

export const consoleRoutes: RouteModule = (router, deps) => {
  new Console(deps).register(router);
};
