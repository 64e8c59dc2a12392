// What every console route shares: who is asking (the session), the header's count of approvals
// waiting, rendering a page in the layout, and the checks each page and form goes through — a
// session for pages; a session, its CSRF token and (for changes) the operator role for form posts,
// checked here on the server whatever the page showed. The route modules beside this one use it.
import { existsSync } from 'node:fs';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { outboxFile } from '../activities/outbox';
import { ApprovalError, groupsOf, pendingApprovals, type PendingRow } from '../decisions';
import type { Config } from '../config';
import { logger } from '../log';
import { HttpError, type RequestContext } from '../receiver/http';
import type { ReceiverDeps } from '../receiver/index';
import { statusFor } from '../receiver/approval-routes';
import { html, type Markup } from './html';
import { layout, type PageOptions, type Viewer } from './layout';
import { LiveFeed, incidentsFingerprint } from './live';
import { messagePage, waitsFor } from './other-pages';
import { localPath, readForm, redirect, sendHtml } from './respond';
import { SessionKeeper, roleOf } from './session';

const log = logger('console');
/** How long the console waits for an incident's worker to answer a query. */
export const QUERY_TIMEOUT_MS = 3_000;
/** How long a page waits for the header's approval count before showing the last one known. */
const HEADER_WAIT_MS = 300;

export type PendingList = { rows: PendingRow[]; unanswered: string[] };

export interface ActionRule {
  /** Needs the operator role (deciding, closing, pausing); otherwise any logged-in person. */
  operator: boolean;
}

export type PageHandler = (ctx: RequestContext, viewer: Viewer) => Promise<void>;
export type ActionHandler = (ctx: RequestContext, viewer: Viewer, form: URLSearchParams) => Promise<void>;

export class ConsoleApp {
  readonly sessions: SessionKeeper;
  readonly feed: LiveFeed;
  readonly config: Config;
  readonly client: Client;
  private pendingCache: { at: number; value: Promise<PendingList> } | undefined;
  private pendingKnown: PendingList | undefined;

  constructor(readonly deps: ReceiverDeps) {
    this.config = deps.config;
    this.client = deps.client;
    const publicUrl = deps.config.receiver.publicUrl;
    this.sessions = new SessionKeeper(
      deps.config.console.sessionSecret,
      deps.config.console.sessionLifetime,
      publicUrl?.startsWith('https:') ?? false,
    );
    this.feed = new LiveFeed(() => incidentsFingerprint(this.client), deps.config.console.pollInterval);
  }

  /** The runbooks loaded when the receiver started, by name. */
  runbookNames(): string[] {
    return this.deps.catalog.runbooks.map((r) => r.runbook.name);
  }

  /** The dev outbox file, when there is one (the header then links to it). */
  outbox(): string | undefined {
    const file = outboxFile(this.config.dev.dataDir);
    return existsSync(file) ? file : undefined;
  }

  viewerOf(ctx: RequestContext): Viewer | undefined {
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
  pending(): Promise<PendingList> {
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

  /** After a decision: the next page asks again instead of showing the approval as still waiting. */
  forgetPending(): void {
    this.pendingCache = undefined;
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

  async render(
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
  page(handler: PageHandler) {
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
  action(rule: ActionRule, handler: ActionHandler) {
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
        await this.refuse(
          ctx,
          viewer,
          'The form is missing its CSRF token or it is not valid for your session: reload the page and try again.',
          ctx.url.pathname,
        );
        return;
      }
      if (rule.operator && viewer.role !== 'operator') {
        log.warn('console action refused to a viewer', { path: ctx.url.pathname, identity: viewer.identity });
        await this.refuse(
          ctx,
          viewer,
          `${viewer.identity} is a viewer: this needs the operator role (console.roles).`,
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

  /** A 403 page saying why the form was not acted on; `back` is where its link returns to. */
  private async refuse(ctx: RequestContext, viewer: Viewer, why: string, back?: string): Promise<void> {
    await this.render(ctx, viewer, { title: 'Refused', body: messagePage('Refused', why, back) }, 403);
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
}

/** The notice a page shows after an action redirected to it (`?done=`). */
export function noticeFor(done: string): string {
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

function isUnavailable(error: unknown): boolean {
  return (
    error instanceof Error && /ECONNREFUSED|UNAVAILABLE|DEADLINE_EXCEEDED|14 UNAVAILABLE/i.test(error.message)
  );
}
