// Alert intake endpoints: POST /v1/alerts/alertmanager (Alertmanager webhook, version 4) and
// POST /v1/alerts/grafana (Grafana webhook contact point, version 1). The answer is 2xx only once
// Temporal has durably accepted every alert; when it cannot be reached the answer is 503 so the
// sender re-sends, and bad input is a 4xx naming what is wrong.
import type { IncomingMessage } from 'node:http';
import type { ReceiverDeps, RouteModule } from './index';
import { PayloadError, parseJson, parseWebhook } from './alert-payload';
import { AuthError, webhookAuthenticator } from './auth';
import { HttpError, sendJson, type RequestContext } from './http';
import { deliverBatch } from './intake';
import { RecentIncidents } from './recent-incidents';

// Room for one alert's labels, annotations and URLs; Alertmanager's are far smaller in practice.
const BYTES_PER_ALERT = 16 * 1024;
const BODY_OVERHEAD = 256 * 1024;
/** Seconds a sender should wait before re-sending after a 503. */
export const RETRY_AFTER_SECONDS = 5;
export const DEFAULT_TEMPORAL_TIMEOUT_MS = 10_000;

export function bodyLimit(maxAlerts: number): number {
  return BODY_OVERHEAD + maxAlerts * BYTES_PER_ALERT;
}

function checkContentType(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/json')
    throw new HttpError(
      415,
      `content-type must be application/json, not ${type ? JSON.stringify(type) : 'missing'}`,
    );
}

function rejectReason(error: unknown): string {
  if (error instanceof AuthError) return 'unauthorized';
  if (error instanceof PayloadError) return error.reason;
  if (error instanceof HttpError)
    return error.status === 413 ? 'too_large' : error.status === 415 ? 'content_type' : 'invalid';
  return 'internal';
}

function intakeHandler(deps: ReceiverDeps, source: 'alertmanager' | 'grafana', recent: RecentIncidents) {
  const authenticate = webhookAuthenticator(deps.config.receiver);
  const maxAlerts = deps.config.receiver.maxAlerts;
  return async (ctx: RequestContext): Promise<void> => {
    const stopTimer = deps.metrics.webhookSeconds.startTimer({ source });
    try {
      authenticate(ctx.req);
      checkContentType(ctx.req);
      const batch = parseWebhook(parseJson(await ctx.body(bodyLimit(maxAlerts))), source, maxAlerts);
      const report = await deliverBatch(
        {
          config: deps.config,
          client: deps.client,
          catalog: deps.catalog,
          metrics: deps.metrics,
          temporalTimeoutMs: deps.temporalTimeoutMs ?? DEFAULT_TEMPORAL_TIMEOUT_MS,
          recent,
        },
        batch,
        source,
      );
      const body = {
        receiver: batch.receiver,
        truncatedAlerts: batch.truncatedAlerts,
        alerts: report.results,
      };
      if (report.unavailable) {
        sendJson(
          ctx.res,
          503,
          {
            error: `Temporal is unavailable, so not every alert was accepted; re-send the webhook (${report.unavailable})`,
            ...body,
          },
          { 'retry-after': String(RETRY_AFTER_SECONDS) },
        );
        return;
      }
      const rejected = report.results.filter((r) => r.outcome === 'rejected');
      if (rejected.length > 0) {
        // The other alerts were accepted; a 4xx tells the sender (and its logs) that these never will be.
        deps.metrics.rejectedPayloads.inc({ reason: 'alert_rejected' });
        sendJson(ctx.res, 422, {
          error: rejected.map((r) => `alerts[${r.index}]: ${r.error ?? 'rejected'}`).join('; '),
          ...body,
        });
        return;
      }
      sendJson(ctx.res, 202, body);
    } catch (error) {
      deps.metrics.rejectedPayloads.inc({ reason: rejectReason(error) });
      throw error;
    } finally {
      stopTimer();
    }
  };
}

export const alertIntakeRoutes: RouteModule = (router, deps) => {
  // One per receiver: both sources name the same incidents.
  const recent = new RecentIncidents();
  router.add('POST', '/v1/alerts/alertmanager', intakeHandler(deps, 'alertmanager', recent));
  router.add('POST', '/v1/alerts/grafana', intakeHandler(deps, 'grafana', recent));
};
