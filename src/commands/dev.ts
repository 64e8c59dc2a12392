// `rebound dev` (embedded Temporal + worker + receiver in one command), `rebound worker` and
// `rebound serve` (each on its own, against any Temporal).
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { outboxFile } from '../activities/outbox';
import { createOneTimeLogin } from '../console/session';
import { SETTINGS, receiverAuthProblems, type Config, type SettingKey } from '../config';
import { createSecretStore, SECRET_ENV_PREFIX, secretsFileProblem } from '../activities/secrets';
import { startDevServer, type DevServer } from '../dev-server';
import { privateDir } from '../private-dir';
import { isSecretRef } from '../runbook-lang/secret-refs';
import { loadRunbooks } from '../runbooks/catalog';
import { logger, setLogLevel } from '../log';
import { InvalidRunbooksError, loadCatalog, startReceiver, type Receiver } from '../receiver';
import type { RunbookCatalog } from '../runbooks/catalog';
import type * as ReceiverRoutes from '../receiver/routes';
import { locateTemporalCli, temporalCliVersion } from '../temporal-cli';
import { connectWorkerConnection, lazyClient } from '../temporal-connection';
import type * as WorkerModule from '../worker';
import type { WorkerSet } from '../worker';
import { UserError, action, configFromOptions, withSettings } from './common';

const log = logger('rebound');
const ALL_SETTINGS: SettingKey[] = SETTINGS.map((s) => s.key);

/**
 * The receiver's routes, loaded when a receiver starts, not when the CLI does: they bring the Slack
 * client, and every other command (`rebound replay` above all) should start without it.
 */
function routeModules(): typeof ReceiverRoutes.ROUTE_MODULES {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (above)
  return (require('../receiver/routes') as typeof ReceiverRoutes).ROUTE_MODULES;
}

/** Runs stop steps in order on SIGINT/SIGTERM; a second signal forces exit. */
function onShutdown(steps: Array<[string, () => Promise<void>]>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn(`second ${signal}: exiting now`);
        process.exit(130);
      }
      stopping = true;
      log.info(`${signal} received: shutting down (press Ctrl-C again to force)`);
      void (async () => {
        for (const [name, step] of steps) {
          try {
            await step();
            log.info(`${name} stopped`);
          } catch (error) {
            log.error(`stopping ${name} failed`, { error });
          }
        }
        resolve();
      })();
    };
    // `on`, not `once`: a second signal must reach `stop` (and its exit handlers), not kill the process outright.
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** The dev webhook token: made once, kept in the data directory, so a local Alertmanager and `rebound alert fire` can use it. */
export function devWebhookToken(dataDir: string): string {
  return devSecret(dataDir, 'webhook-token');
}

/** A random secret made once and kept in the data directory (mode 0600). */
export function devSecret(dataDir: string, name: string): string {
  const file = path.resolve(dataDir, name);
  if (existsSync(file)) {
    chmodSync(file, 0o600); // a file from before is tightened too
    return readFileSync(file, 'utf8').trim();
  }
  privateDir(path.dirname(file));
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** The runbooks, checked before anything starts: a bad directory stops the command with the lint messages. */
function catalogOrExit(config: Config): RunbookCatalog {
  try {
    return loadCatalog(config);
  } catch (error) {
    if (error instanceof InvalidRunbooksError) throw new UserError(error.message, 1);
    throw error;
  }
}

/**
 * Secrets the runbooks name, checked when a worker starts: an unsafe secrets file stops it; a name this
 * worker cannot resolve is reported (the step itself fails with the same message, naming the secret).
 */
function checkSecrets(config: Config): void {
  const problem = secretsFileProblem(config.secrets.file);
  if (problem) throw new UserError(problem, 1);
  if (!existsSync(config.runbooks.dir)) return;
  const store = createSecretStore({ file: config.secrets.file });
  let snapshots;
  try {
    snapshots = loadRunbooks(config.runbooks.dir).runbooks;
  } catch {
    return; // runbook problems are reported where runbooks are loaded
  }
  for (const { runbook } of snapshots)
    for (const step of runbook.steps) {
      const headers = (step.with as { headers?: unknown } | undefined)?.headers;
      if (headers === null || typeof headers !== 'object') continue;
      for (const [header, value] of Object.entries(headers))
        if (isSecretRef(value) && !store.has(value.secret))
          log.warn(
            `runbook ${runbook.name} step ${step.id} sends header ${header} from secret ${value.secret}, which this worker does not have: set ${SECRET_ENV_PREFIX}${value.secret} or add it to secrets.file (REBOUND_SECRETS_FILE); until then the step fails`,
          );
    }
}

/**
 * The local user of `rebound dev`, set up so the first run needs no configuration: an API token (kept
 * in the data directory), the operator role and, when no groups are configured, membership of every
 * group the runbooks name as approvers. Nothing here applies to `rebound serve`.
 */
function setUpLocalUser(config: Config, dataDir: string, catalog: RunbookCatalog): string {
  const user = (process.env.USER ?? os.userInfo().username) || 'dev';
  if (!Object.values(config.receiver.apiTokens).includes(user))
    config.receiver.apiTokens[devSecret(dataDir, 'console-token')] = user;
  config.console.sessionSecret ??= devSecret(dataDir, 'session-secret');
  if (Object.keys(config.console.roles).length === 0) config.console.roles[user] = 'operator';
  if (Object.keys(config.approvals.groups).length === 0) {
    for (const { runbook } of catalog.runbooks)
      for (const step of runbook.steps) {
        const groups =
          step.type === 'approval' ? (step.with as { groups?: unknown } | undefined)?.groups : undefined;
        for (const group of Array.isArray(groups) ? groups : [])
          if (typeof group === 'string') config.approvals.groups[group] = [user];
      }
  }
  return user;
}

async function runWorkerUntilSignal(
  config: Config,
  options: { outboxFile?: string } = {},
): Promise<WorkerSet> {
  checkSecrets(config);
  // Loaded here, not at the top: the worker brings the activities (Docker, mail, Slack clients), and
  // every other command (`rebound replay` above all) should start without them.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (above)
  const { createWorkers, installRuntime } = require('../worker') as typeof WorkerModule;
  installRuntime(config.log.level);
  let connection;
  try {
    connection = await connectWorkerConnection(config);
  } catch (error) {
    throw new UserError(
      `Cannot reach Temporal at ${config.temporal.address} (namespace ${config.temporal.namespace}): ${(error as Error).message}. Start one with \`rebound dev\`, or set TEMPORAL_ADDRESS.`,
      1,
    );
  }
  const workers = await createWorkers(config, connection, {}, options);
  void workers.run().finally(() => void connection.close());
  return workers;
}

export function registerDevCommands(program: Command): void {
  withSettings(
    program
      .command('temporal-cli')
      .description(
        'Find the Temporal CLI (TEMPORAL_CLI_PATH, PATH, the data directory), building it once with Go if needed; prints its path',
      ),
    ['dev.dataDir'],
  ).action(
    action(async (options: Record<string, unknown>) => {
      const config = configFromOptions(options);
      const cli = await locateTemporalCli({
        cacheDir: path.resolve(config.dev.dataDir),
        log: (line) => log.info(line),
      });
      process.stdout.write(`${cli}\n`);
    }),
  );

  withSettings(
    program
      .command('dev')
      .description(
        'Start Rebound on the embedded default: a Temporal dev server (SQLite under the data directory), a worker and the receiver',
      ),
    ALL_SETTINGS,
  ).action(
    action(async (options: Record<string, unknown>) => {
      const config = configFromOptions(options);
      setLogLevel(config.log.level);
      const catalog = catalogOrExit(config);
      const started = Date.now();
      const dataDir = path.resolve(config.dev.dataDir);
      // Incident histories, the webhook token and logs live here: its owner's only.
      privateDir(dataDir);
      const cli = await locateTemporalCli({ cacheDir: dataDir, log: (line) => log.info(line) });
      const host = '127.0.0.1';
      let server: DevServer;
      try {
        server = await startDevServer({
          cli,
          dbFile: path.join(dataDir, 'temporal.db'),
          host,
          port: config.dev.temporalPort,
          uiPort: config.dev.uiPort,
          namespace: config.temporal.namespace,
          retentionMs: config.dev.retentionMs,
          logFile: path.join(dataDir, 'temporal.log'),
          stopWithParent: true,
        });
      } catch (error) {
        throw new UserError((error as Error).message, 1);
      }
      config.temporal.address = server.address;
      // The server runs in its own process group (so Ctrl-C reaches Rebound first); if Rebound is
      // forced to exit (a second Ctrl-C, a crash), it must not be left running.
      process.once('exit', () => server.kill());
      let tokenNote = '';
      if (config.receiver.auth === 'required' && !config.receiver.token && !config.receiver.basicUser) {
        config.receiver.token = devWebhookToken(dataDir);
        tokenNote = `${path.join(dataDir, 'webhook-token')} (bearer)`;
      }
      const localUser = setUpLocalUser(config, dataDir, catalog);
      if (server.uiUrl) config.console.temporalUiUrl ??= server.uiUrl;
      const outbox = outboxFile(dataDir);
      let workers: WorkerSet | undefined;
      let receiver: Receiver | undefined;
      const client = lazyClient(config);
      try {
        // The receiver first: its URL is what notifications link to when receiver.publicUrl is unset.
        receiver = await startReceiver(config, client, routeModules(), { catalog });
        config.receiver.publicUrl ??= receiver.url;
        workers = await runWorkerUntilSignal(config, { outboxFile: outbox });
      } catch (error) {
        await receiver?.close();
        await client.connection.close();
        await workers?.shutdown();
        await server.stop();
        throw error;
      }
      const lines = [
        '',
        `Rebound is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
        `  receiver:        ${receiver.url}   (Alertmanager webhook: ${receiver.url}/v1/alerts/alertmanager)`,
        `  temporal:        ${server.address}   namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue}`,
        `  web ui:          ${server.uiUrl ?? 'off (--dev-ui-port 0)'}`,
        `  data:            ${dataDir}   (${temporalCliVersion(cli)})`,
        ...(tokenNote ? [`  webhook token:   ${tokenNote}`] : []),
        `  console:         ${config.receiver.publicUrl.replace(/\/+$/, '')}/login/once/${createOneTimeLogin(localUser)}`,
        `                   (one-time login link for ${localUser}, an operator; later log in with the token in ${path.join(dataDir, 'console-token')})`,
        ...(!config.slack.token || !config.smtp.url
          ? [
              `  outbox:          ${outbox}   (${[!config.slack.token ? 'Slack' : '', !config.smtp.url ? 'email' : ''].filter(Boolean).join(' and ')} not configured: messages are kept here, not sent)`,
            ]
          : []),
        'Press Ctrl-C to stop.',
        '',
      ];
      process.stdout.write(lines.join('\n'));
      const activeWorkers = workers;
      const activeReceiver = receiver;
      // The receiver first: its close waits for every request and late Slack decision still talking
      // to Temporal, and only then is the client's connection closed under them.
      await onShutdown([
        ['receiver', () => activeReceiver.close()],
        ['temporal client', () => client.connection.close()],
        ['worker', () => activeWorkers.shutdown()],
        ['temporal', () => server.stop()],
      ]);
    }),
  );

  withSettings(
    program
      .command('worker')
      .description('Run a worker against any Temporal (TEMPORAL_ADDRESS, TLS, API key)'),
    ALL_SETTINGS,
  ).action(
    action(async (options: Record<string, unknown>) => {
      const config = configFromOptions(options);
      setLogLevel(config.log.level);
      const workers = await runWorkerUntilSignal(config);
      await onShutdown([['worker', () => workers.shutdown()]]);
    }),
  );

  withSettings(
    program
      .command('serve')
      .description('Run the HTTP receiver against any Temporal; /healthz and /readyz answer from the start'),
    ALL_SETTINGS,
  ).action(
    action(async (options: Record<string, unknown>) => {
      const config = configFromOptions(options);
      setLogLevel(config.log.level);
      const problems = receiverAuthProblems(config);
      if (problems.length > 0) throw new UserError(problems.join('\n'));
      const catalog = catalogOrExit(config);
      const client = lazyClient(config);
      const receiver = await startReceiver(config, client, routeModules(), { catalog });
      process.stdout.write(
        `Rebound receiver listening on ${receiver.url} (Temporal ${config.temporal.address})\n`,
      );
      // In this order: the receiver's close waits for requests still calling Temporal.
      await onShutdown([
        ['receiver', () => receiver.close()],
        ['temporal client', () => client.connection.close()],
      ]);
    }),
  );
}
