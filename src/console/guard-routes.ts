// The console's guards page: what is paused, the breaker, and each target's budget (as `rebound
// status` shows them), and pausing or resuming automation with a reason (operators only). The pause
// and the breaker live in the kill-switch workflow (type `control`), updated with update-with-start.
// The page was /safety before: those addresses keep working.
import { controlStart, readGuardStatus } from '../commands/guards';
import { logger } from '../log';
import { HttpError, type RequestContext, type Router } from '../receiver/http';
import { pauseUpdate, resumeUpdate } from '../workflows/guard-contract';
import { noticeFor, type ConsoleApp } from './app';
import type { Viewer } from './layout';
import { guardsPage } from './other-pages';
import { redirect } from './respond';

const log = logger('console');

export function registerGuardRoutes(app: ConsoleApp, router: Router): void {
  async function show(ctx: RequestContext, viewer: Viewer): Promise<void> {
    const status = await readGuardStatus(app.client, app.config);
    const done = ctx.url.searchParams.get('done');
    await app.render(ctx, viewer, {
      title: 'Guards',
      nav: 'guards',
      body: guardsPage(status, viewer, app.runbookNames(), done ? noticeFor(done) : undefined),
    });
  }

  async function pauseOrResume(
    ctx: RequestContext,
    viewer: Viewer,
    form: URLSearchParams,
    what: 'pause' | 'resume',
  ): Promise<void> {
    const reason = (form.get('reason') ?? '').trim().slice(0, 500);
    if (!reason) throw new HttpError(400, `a reason is required to ${what}`);
    const runbook = form.get('runbook') || undefined;
    if (runbook && !app.runbookNames().includes(runbook))
      throw new HttpError(400, `no runbook named ${runbook}`);
    log.info(`console ${what}`, { identity: viewer.identity, runbook, reason });
    if (what === 'pause')
      await app.client.workflow.executeUpdateWithStart(pauseUpdate, {
        args: [{ identity: viewer.identity, reason, ...(runbook ? { runbook } : {}) }],
        startWorkflowOperation: controlStart(app.config),
      });
    else
      await app.client.workflow.executeUpdateWithStart(resumeUpdate, {
        // The reason is kept with the update in the control workflow's history.
        args: [
          {
            identity: viewer.identity,
            reason,
            ...(runbook ? { runbook } : {}),
            ...(form.get('breaker') ? { closeBreaker: true } : {}),
          },
        ],
        startWorkflowOperation: controlStart(app.config),
      });
    redirect(ctx.res, `/guards?done=${what === 'pause' ? 'paused' : 'resumed'}`);
  }

  const pause = app.action({ operator: true }, (ctx, viewer, form) =>
    pauseOrResume(ctx, viewer, form, 'pause'),
  );
  const resume = app.action({ operator: true }, (ctx, viewer, form) =>
    pauseOrResume(ctx, viewer, form, 'resume'),
  );
  router.add('GET', '/guards', app.page(show));
  router.add('POST', '/guards/pause', pause);
  router.add('POST', '/guards/resume', resume);
  // The old addresses: bookmarks, and forms on pages loaded before an upgrade.
  router.add('GET', '/safety', ({ res, url }) => redirect(res, `/guards${url.search}`));
  router.add('POST', '/safety/pause', pause);
  router.add('POST', '/safety/resume', resume);
}
