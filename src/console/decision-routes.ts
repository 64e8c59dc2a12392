// The console's decisions: the approvals waiting (for you, and for others), approving or rejecting a
// step, and closing an escalated incident. They go through the same Temporal Update as the CLI, HTTP
// and Slack (src/decisions.ts), recorded with channel `web`; each needs the operator role.
import { applyDecision, closeIncident } from '../decisions';
import { HttpError, type RequestContext, type Router } from '../receiver/http';
import type { ConsoleApp } from './app';
import { incidentHref } from './incident-pages';
import type { Viewer } from './layout';
import { approvalsPage } from './other-pages';
import { redirect } from './respond';

export function registerDecisionRoutes(app: ConsoleApp, router: Router): void {
  async function decide(ctx: RequestContext, viewer: Viewer, form: URLSearchParams): Promise<void> {
    const id = ctx.params.id ?? '';
    const decision = form.get('decision');
    if (decision !== 'approve' && decision !== 'reject') throw new HttpError(400, 'choose approve or reject');
    const comment = (form.get('comment') ?? '').trim().slice(0, 4000);
    const step = form.get('step') ?? '';
    const result = await applyDecision(
      app.client,
      app.config,
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
    app.forgetPending();
    const back = form.get('back') === '/approvals' ? '/approvals' : incidentHref(id);
    redirect(
      ctx.res,
      `${back}?done=${result.duplicate ? 'duplicate' : decision === 'approve' ? 'approved' : 'rejected'}`,
    );
  }

  async function close(ctx: RequestContext, viewer: Viewer, form: URLSearchParams): Promise<void> {
    const id = ctx.params.id ?? '';
    const comment = (form.get('comment') ?? '').trim().slice(0, 4000);
    await closeIncident(app.client, {
      incidentId: id,
      identity: viewer.identity,
      channel: 'web',
      ...(comment ? { comment } : {}),
    });
    redirect(ctx.res, `${incidentHref(id)}?done=closed`);
  }

  router.add('POST', '/incidents/:id/decide', app.action({ operator: true }, decide));
  router.add('POST', '/incidents/:id/close', app.action({ operator: true }, close));
  router.add(
    'GET',
    '/approvals',
    app.page(async (ctx, viewer) => {
      const { rows, unanswered } = await app.pending();
      await app.render(ctx, viewer, {
        title: 'Approvals',
        nav: 'approvals',
        live: true,
        body: approvalsPage(rows, unanswered, viewer),
      });
    }),
  );
}
