// Logging in and out of the console: the login form (an API token names the person), one-time login
// links (`rebound dev` prints one), and logout. Before a session exists, the form's CSRF token is a
// random value in a SameSite=Strict cookie that the form must repeat.
import { randomBytes } from 'node:crypto';
import { logger } from '../log';
import type { RequestContext, Router } from '../receiver/http';
import { identityForToken } from '../receiver/approval-routes';
import type { ConsoleApp } from './app';
import { layout } from './layout';
import { loginPage } from './other-pages';
import { localPath, readForm, redirect, sendHtml } from './respond';
import { LOGIN_COOKIE, consumeOneTimeLogin, parseCookies, sameText } from './session';

const log = logger('console');

export function registerLoginRoutes(app: ConsoleApp, router: Router): void {
  const form = (ctx: RequestContext, status: number, extra: { error?: string; note?: string } = {}): void => {
    const csrf = randomBytes(18).toString('base64url');
    sendHtml(
      ctx.res,
      status,
      layout({
        title: 'Log in',
        body: loginPage({ csrf, next: localPath(ctx.url.searchParams.get('next')), ...extra }),
      }),
      {
        'set-cookie': app.sessions.cookie(LOGIN_COOKIE, csrf, 3600),
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
    const identity = identityForToken(app.config.receiver.apiTokens, body.get('token') ?? undefined);
    if (!identity) {
      log.warn('console login with an unknown token');
      form(ctx, 401, { error: 'That is not a valid API token (receiver.apiTokens).' });
      return;
    }
    const { cookie } = app.sessions.issue(identity);
    log.info('console login', { identity });
    redirect(ctx.res, localPath(body.get('next')), {
      'set-cookie': [cookie, app.sessions.clearCookie(LOGIN_COOKIE)],
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
    const { cookie } = app.sessions.issue(identity);
    log.info('console login with a one-time link', { identity });
    redirect(ctx.res, '/incidents', { 'set-cookie': cookie });
  });
  router.add(
    'POST',
    '/logout',
    app.action({ operator: false }, (ctx, viewer) => {
      app.sessions.revoke(viewer.session);
      redirect(ctx.res, '/login', { 'set-cookie': app.sessions.clearCookie() });
      return Promise.resolve();
    }),
  );
}
