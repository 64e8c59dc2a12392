// The HTTP receiver: stateless; Temporal is the only store. Feature modules add their routes here.
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import { logger } from '../log';
import { RunbookValidationError, loadRunbooks, type RunbookCatalog } from '../runbooks/catalog';
import { InFlight, Router, listen, sendJson, sendText, type Listening } from './http';
import { registerHealthMetrics } from './health-metrics';
import { createMetrics, type ReceiverMetrics } from './metrics';

const log = logger('receiver');

export interface ReceiverDeps {
  config: Config;
  client: Client;
  metrics: ReceiverMetrics;
  /** The runbooks alerts are routed to, loaded and validated once at start. */
  catalog: RunbookCatalog;
  /** Deadline of each call to Temporal while answering a request (default 10 s). */
  temporalTimeoutMs?: number;
  /** Work that outlives its request (a late Slack decision); the receiver waits for it on close. */
  background: InFlight;
}

/** A feature's routes (alert intake, approvals, Slack interactions). */
export type RouteModule = (router: Router, deps: ReceiverDeps) => void;

/**
 * A running receiver. `close()` stops taking requests and resolves once every request and every
 * piece of work it left running has ended, so the Temporal client can be closed safely after it.
 */
export interface Receiver extends Listening {
  metrics: ReceiverMetrics;
}

export class InvalidRunbooksError extends Error {
  override name = 'InvalidRunbooksError';
}

/**
 * The runbook catalog of config.runbooks.dir. A directory with problems is refused with every
 * problem listed as `rebound runbooks lint` shows them, so the receiver never starts half-configured.
 */
export function loadCatalog(config: Config): RunbookCatalog {
  try {
    return loadRunbooks(config.runbooks.dir);
  } catch (error) {
    if (!(error instanceof RunbookValidationError)) throw error;
    const lines = error.problems.map((p) =>
      p.file === config.runbooks.dir
        ? `  ${p.file}: ${p.message}`
        : `  ${path.join(config.runbooks.dir, p.file)}:${p.line}:${p.column}: ${p.message}`,
    );
    throw new InvalidRunbooksError(
      [
        `The runbooks in ${config.runbooks.dir} (runbooks.dir) are not valid; fix them (see \`rebound runbooks lint\`):`,
        ...lines,
      ].join('\n'),
    );
  }
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
  options: { port?: number; catalog?: RunbookCatalog; temporalTimeoutMs?: number } = {},
): Promise<Receiver> {
  const catalog = options.catalog ?? loadCatalog(config);
  const metrics = createMetrics();
  registerHealthMetrics(metrics.registry, config, client, catalog);
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
  const background = new InFlight();
  const deps: ReceiverDeps = {
    config,
    client,
    metrics,
    catalog,
    background,
    ...(options.temporalTimeoutMs !== undefined ? { temporalTimeoutMs: options.temporalTimeoutMs } : {}),
  };
  for (const addRoutes of modules) addRoutes(router, deps);
  const listening = await listen(router, config.receiver.host, options.port ?? config.receiver.port);
  log.info('receiver listening', { url: listening.url });
  return {
    ...listening,
    metrics,
    close: async () => {
      await listening.close();
      await background.drain();
    },
  };
}
