// The console: a web page for operators and auditors, served by the receiver under `/`. Login with
// an API token, then incidents (live), one incident's audit, approvals, the guards and runbooks.
// This file wires the route modules together and serves what is common to all: the static files,
// the live feed (server-sent events) and the dev outbox. app.ts holds the checks every route shares.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { outboxFile, readOutbox } from '../activities/outbox';
import { AUDIT_CSS } from '../audit/render';
import { SUMMARY_CSS } from '../audit/summary';
import { HttpError, type Router } from '../receiver/http';
import type { RouteModule } from '../receiver/index';
import { ConsoleApp } from './app';
import { registerDecisionRoutes } from './decision-routes';
import { registerGuardRoutes } from './guard-routes';
import { registerIncidentRoutes } from './incident-routes';
import { registerLoginRoutes } from './login-routes';
import { outboxPage } from './other-pages';
import { redirect, SECURITY_HEADERS } from './respond';
import { registerRunbookRoutes } from './runbook-routes';

const STATIC_DIR = path.join(__dirname, 'static');

/** The page's look and behaviour are files in the repository, read once: no build step. */
function readStaticFiles(): Map<string, { type: string; body: string }> {
  return new Map([
    [
      'console.css',
      {
        type: 'text/css; charset=utf-8',
        body: `${AUDIT_CSS}\n${SUMMARY_CSS}\n${readFileSync(path.join(STATIC_DIR, 'console.css'), 'utf8')}`,
      },
    ],
    [
      'console.js',
      {
        type: 'text/javascript; charset=utf-8',
        body: readFileSync(path.join(STATIC_DIR, 'console.js'), 'utf8'),
      },
    ],
  ]);
}

function registerCommonRoutes(app: ConsoleApp, router: Router): void {
  const staticFiles = readStaticFiles();
  router.onClose.push(() => app.feed.close());
  router.add('GET', '/', ({ res }) => redirect(res, '/incidents'));
  router.add('GET', '/static/:file', ({ res, params }) => {
    const file = staticFiles.get(params.file ?? '');
    if (!file) throw new HttpError(404, 'no such file');
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'cache-control': 'no-cache',
      'content-type': file.type,
      'content-length': Buffer.byteLength(file.body),
    });
    res.end(file.body);
  });
  router.add('GET', '/events', (ctx) => {
    if (!app.viewerOf(ctx)) throw new HttpError(401, 'log in first');
    app.feed.subscribe(ctx.res);
  });
  router.add(
    'GET',
    '/outbox',
    app.page(async (ctx, viewer) => {
      const file = outboxFile(app.config.dev.dataDir);
      await app.render(ctx, viewer, {
        title: 'Outbox',
        nav: 'outbox',
        live: true,
        body: outboxPage(readOutbox(file), file),
      });
    }),
  );
}

export const consoleRoutes: RouteModule = (router, deps) => {
  const app = new ConsoleApp(deps);
  registerCommonRoutes(app, router);
  registerLoginRoutes(app, router);
  registerIncidentRoutes(app, router);
  registerDecisionRoutes(app, router);
  registerGuardRoutes(app, router);
  registerRunbookRoutes(app, router);
};
