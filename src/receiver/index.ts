// The HTTP receiver: stateless; Temporal is the only store. Feature modules add their routes here.
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import { logger } from '../log';
import { Router, listen, sendJson, sendText, type Listening } from './http';
import { createMetrics, type ReceiverMetrics } from './metrics';

const log = logger('receiver');

export interface ReceiverDeps {
  config: Config;
  client: Client;
  metrics: ReceiverMetrics;
}

/** A feature's routes (alert intake, approvals, Slack interactions). */
export type RouteModule = (router: Router, deps: ReceiverDeps) => void;

export interface Receiver extends Listening {
  metrics: ReceiverMetrics;
}

/** Whether Temporal answers within two seconds. */
export async function temporalReachable(client: Client): Promise<{ ok: boolean; error?: string }> {
  try {
    await client.connection.withDeadline(Date.now() + 2000, () => client.workflowService.getSystemInfo({}));
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

export async function startReceiver(
  config: Config,
  client: Client,
  modules: RouteModule[] = [],
  options: { port?: number } = {},
): Promise<Receiver> {
  const metrics = createMetrics();
  const router = new Router();
  router.add('GET', '/healthz', ({ res }) => sendJson(res, 200, { status: 'ok' }));
  router.add('GET', '/readyz', async ({ res }) => {
    const temporal = await temporalReachable(client);
    if (!temporal.ok) metrics.temporalErrors.inc({ operation: 'readyz' });
    sendJson(res, temporal.ok ? 200 : 503, {
      status: temporal.ok ? 'ready' : 'not ready',
      temporal: { address: config.temporal.address, namespace: config.temporal.namespace, ...temporal },
    });
  });
  router.add('GET', '/metrics', async ({ res }) =>
    sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType),
  );
  const deps: ReceiverDeps = { config, client, metrics };
  for (const addRoutes of modules) addRoutes(router, deps);
  const listening = await listen(router, config.receiver.host, options.port ?? config.receiver.port);
  log.info('receiver listening', { url: listening.url });
  return { ...listening, metrics };
}
