// `rebound demo`: a real recovery in a minute. Starts a small service with a health check on the
// Docker engine, kills it, sends the alert as Alertmanager would, and narrates the incident live until
// it resolves; then removes what it started (the container, and `rebound dev` when it started it).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Command } from 'commander';
import type Docker from 'dockerode';
import type * as DockerActivities from '../activities/docker';
import { SETTINGS, flagName, flagProperty, type Config, type SettingKey } from '../config';
import { spawnDevProcess, type DevProcess } from '../demo/dev-process';
import { demoImage, NoDemoImage } from '../demo/image';
import { followIncident, type NarrationLine } from '../demo/narrate';
import { escapeControls } from '../terminal-text';
import { withTimeout } from '../with-timeout';
import {
  breakService,
  createDemoService,
  demoServiceName,
  removeService,
  waitHealthy,
  type DemoService,
} from '../demo/service';
import { freePort } from '../dev-server';
import type { AlertResult } from '../receiver/intake';
import { connectClient } from '../temporal-connection';
import type { IncidentState } from '../workflows/contract';
import { authorization, receiverUrl, testAlertPayload } from './alert';
import { exportFileName } from './audit';
import { UserError, action, configFromOptions, withSettings } from './common';

const ALL_SETTINGS: SettingKey[] = SETTINGS.map((s) => s.key);
const DEFAULT_TEMPORAL_ADDRESS = SETTINGS.find((s) => s.key === 'temporal.address')?.default;

/** Exit statuses, documented in --help and the README. */
export const DEMO_EXIT = {
  recovered: 0,
  notRecovered: 1,
  usage: 2,
  noDocker: 3,
  noRebound: 4,
  interrupted: 130,
} as const;

const DEMO_HELP = `
What it does: starts a container with a Docker health check (busybox httpd), kills it, posts the
ContainerUnhealthy alert to the receiver as Alertmanager would, and narrates the incident the shipped
restart-container runbook runs: inspected, restarted, healthy again, alert resolved, incident resolved.
It uses \`rebound dev\` when it runs (same flags and environment as this command), or starts one and
stops it afterwards. The container is removed at the end, also on Ctrl-C.

Needs a Docker engine: DOCKER_HOST, or /var/run/docker.sock. The worker must reach the same engine.

Exit status: 0 recovered; 1 not recovered (the narration says why); 2 bad usage or configuration;
3 no Docker engine reachable; 4 Rebound not reachable and could not be started; 130 interrupted.`;

/** Undo steps, run newest first, once; a step added while undoing runs at once (a late container). */
class Cleanup {
  private steps: Array<[string, () => Promise<unknown>]> = [];
  private running?: Promise<void>;
  private stopping = false;

  constructor(private readonly say: (line: string) => void) {}

  /** A step that resolves to false had nothing to do, and is not reported. */
  async add(name: string, step: () => Promise<unknown>): Promise<void> {
    if (this.stopping) await this.runStep(name, step);
    else this.steps.unshift([name, step]);
  }

  get empty(): boolean {
    return this.steps.length === 0;
  }

  run(): Promise<void> {
    this.stopping = true;
    return (this.running ??= (async () => {
      for (const [name, step] of this.steps) await this.runStep(name, step);
    })());
  }

  private async runStep(name: string, step: () => Promise<unknown>): Promise<void> {
    try {
      if ((await step()) !== false) this.say(`cleaned up: ${name}`);
    } catch (error) {
      this.say(`could not clean up ${name}: ${escapeControls((error as Error).message)}`);
    }
  }
}

/** The settings flags given to this command, to start `rebound dev` with the same configuration. */
function forwardedFlags(options: Record<string, unknown>): string[] {
  const args: string[] = [];
  if (typeof options.config === 'string') args.push('--config', options.config);
  for (const key of ALL_SETTINGS) {
    const value = options[flagProperty(key)];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      args.push(flagName(key), String(value));
  }
  return args;
}

function reason(error: unknown): string {
  const e = error as Error & { code?: string; cause?: unknown };
  const cause = e.cause instanceof Error ? e.cause.message : undefined;
  return escapeControls(cause ?? (e.message || e.code || String(error)));
}

/** ready: receiver and Temporal answer; degraded: the receiver answers but not Temporal; down: nothing answers. */
async function receiverState(base: string): Promise<'ready' | 'degraded' | 'down'> {
  try {
    const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(3000) });
    await response.text();
    return response.ok ? 'ready' : 'degraded';
  } catch {
    return 'down';
  }
}

function isLocalDocker(config: Config): boolean {
  const host = config.docker.host?.trim();
  return (
    !host || host.startsWith('unix://') || /^(tcp|https?):\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(host)
  );
}

async function fireAlert(
  config: Config,
  base: string,
  labels: Record<string, string>,
  annotations: Record<string, string>,
  resolved: boolean,
): Promise<AlertResult> {
  const url = `${base}/v1/alerts/alertmanager`;
  const auth = authorization(config, undefined);
  const payload = { ...testAlertPayload(labels, annotations, resolved), receiver: 'rebound-demo' };
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new UserError(`cannot reach the receiver at ${url}: ${reason(error)}`, DEMO_EXIT.noRebound);
  }
  const text = await response.text();
  let body: { error?: string; alerts?: AlertResult[] } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = { error: text.slice(0, 300) };
  }
  if (response.status === 401)
    throw new UserError(
      `the receiver at ${base} refused the webhook token; run the demo with the receiver's token (REBOUND_WEBHOOK_TOKEN, or the same data directory as \`rebound dev\`: ${path.resolve(config.dev.dataDir, 'webhook-token')})`,
      DEMO_EXIT.noRebound,
    );
  const result = body.alerts?.[0];
  if (!response.ok || !result)
    throw new UserError(
      `the receiver refused the alert (HTTP ${response.status}): ${escapeControls(body.error ?? result?.error ?? 'no reason given')}`,
      DEMO_EXIT.notRecovered,
    );
  return result;
}

interface DemoContext {
  config: Config;
  cleanup: Cleanup;
  say: (text: string) => void;
  /** Set when the demo started `rebound dev` itself. */
  dev?: DevProcess;
}

async function connectDocker(ctx: DemoContext): Promise<Docker> {
  const where = ctx.config.docker.host?.trim() || 'unix:///var/run/docker.sock';
  // Loaded here, not at the top: every other command starts without the Docker client.
  /* eslint-disable @typescript-eslint/no-require-imports -- deferred on purpose (above) */
  const DockerClient = require('dockerode') as typeof Docker;
  const { dockerOptions } = require('../activities/docker') as typeof DockerActivities;
  /* eslint-enable @typescript-eslint/no-require-imports */
  let docker: Docker;
  try {
    docker = new DockerClient({ ...dockerOptions(ctx.config.docker), timeout: 30_000 });
  } catch (error) {
    throw new UserError((error as Error).message, DEMO_EXIT.usage);
  }
  let version: Docker.DockerVersion;
  try {
    version = await withTimeout(docker.version(), 5000, where);
  } catch (error) {
    throw new UserError(
      `no Docker engine answers at ${where} (${reason(error)}); start Docker (systemctl start docker) or point DOCKER_HOST at one (unix:///path/docker.sock or tcp://host:2375)`,
      DEMO_EXIT.noDocker,
    );
  }
  ctx.say(`Docker engine   ${where} (Docker ${escapeControls(version.Version)})`);
  return docker;
}

/** The receiver to send the alert to and the Temporal address to follow the incident at. */
async function ensureRebound(
  ctx: DemoContext,
  options: Record<string, unknown>,
): Promise<{ base: string; address: string }> {
  const { config } = ctx;
  const base = receiverUrl(config, undefined);
  const state = await receiverState(base);
  if (state === 'ready') {
    // Unless an address is configured, the running `rebound dev`'s: the same port settings as its own.
    const address =
      config.temporal.address !== DEFAULT_TEMPORAL_ADDRESS
        ? config.temporal.address
        : `127.0.0.1:${config.dev.temporalPort}`;
    ctx.say(`Rebound         running at ${base} (Temporal ${address})`);
    return { base, address };
  }
  if (state === 'degraded')
    throw new UserError(
      `the receiver at ${base} answers but cannot reach Temporal (GET /readyz is not 200); check \`rebound dev\`'s output, or run \`rebound doctor\``,
      DEMO_EXIT.noRebound,
    );
  const logFile = path.resolve(config.dev.dataDir, 'demo-dev.log');
  ctx.say(
    `Rebound         not running at ${base}: starting \`rebound dev\` for the demo (log: ${logFile}) …`,
  );
  const dev = spawnDevProcess(forwardedFlags(options), logFile);
  ctx.dev = dev;
  await ctx.cleanup.add('stopped the `rebound dev` the demo started', () => dev.stop());
  try {
    // A first start may build the Temporal CLI (a few minutes).
    await dev.ready(10 * 60_000);
  } catch (error) {
    throw new UserError(`could not start rebound dev: ${(error as Error).message}`, DEMO_EXIT.noRebound);
  }
  ctx.say(`Rebound         started (pid ${dev.pid}); it stops when the demo ends`);
  return { base, address: `127.0.0.1:${config.dev.temporalPort}` };
}

async function startService(ctx: DemoContext, docker: Docker): Promise<DemoService> {
  let image;
  try {
    image = await demoImage(docker);
  } catch (error) {
    if (error instanceof NoDemoImage) throw new UserError(error.message, DEMO_EXIT.noDocker);
    throw error;
  }
  ctx.say(`image           ${image.name} (${image.origin})`);
  const service = await createDemoService(docker, {
    name: demoServiceName(),
    image: image.name,
    port: await freePort(),
  });
  await ctx.cleanup.add(`removed container ${service.name}`, () => removeService(service));
  await service.container.start();
  return service;
}

/** Why an incident that did not recover did not, with the fix when we can tell. */
function diagnosis(state: IncidentState | undefined, ctx: DemoContext): string | undefined {
  const inspect = state?.steps.find((s) => s.type === 'container.inspect');
  const output = inspect?.output as { exists?: boolean } | undefined;
  if (output?.exists === false)
    return `the worker could not find the container: it talks to another Docker engine than this command (${ctx.config.docker.host ?? 'unix:///var/run/docker.sock'}). Start \`rebound dev\` with the same DOCKER_HOST, or stop it and let the demo start one.`;
  if (state?.timeline.some((t) => t.kind === 'safety' && /paused|breaker/i.test(t.message)))
    return 'automation is paused or the breaker is open (`rebound status`); `rebound resume --as you` lets it act again.';
  return undefined;
}

async function runDemo(options: Record<string, unknown>): Promise<number> {
  const config = configFromOptions(options);
  // The clock starts with the demo service, so a slow first start of `rebound dev` does not count.
  let started = Date.now();
  const stamp = (): string => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`;
  const print = (line: string): void => void process.stdout.write(`${line}\n`);
  const cleanup = new Cleanup((line) => print(`  ${line}`));
  // The ending (outcome and the audit command) is printed last, after the clean-up lines.
  const ending: string[] = [];
  const ctx: DemoContext = { config, cleanup, say: print };
  const onExit = (): void => ctx.dev?.signal();
  process.once('exit', onExit);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      print(`second ${signal}: leaving now`);
      process.exit(DEMO_EXIT.interrupted);
    }
    interrupted = true;
    print(`\n${signal}: stopping the demo and cleaning up (Ctrl-C again to leave at once)`);
    void cleanup.run().finally(() => process.exit(DEMO_EXIT.interrupted));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let client: Client | undefined;
  try {
    print('rebound demo: a container breaks, and Rebound brings it back.\n');
    const docker = await connectDocker(ctx);
    const { base, address } = await ensureRebound(ctx, options);
    client = await connectClient({ ...config, temporal: { ...config.temporal, address } });
    const service = await startService(ctx, docker);
    // Once interrupted, only the clean-up speaks.
    const say = (text: string): void => {
      if (!interrupted) print(`${stamp()}  ${text}`);
    };
    print('');
    started = Date.now();
    say(
      `started container ${service.name}: busybox httpd on 127.0.0.1:${service.port}, Docker health check GET /health every 1 s`,
    );
    await waitHealthy(service, 60_000);
    say(`${service.name} is healthy`);
    const brokenAt = Date.now();
    const broken = await breakService(service);
    say(`broke it: docker kill ${service.name} → ${broken.status} (exit code ${broken.exitCode ?? '?'})`);

    const labels = {
      alertname: 'ContainerUnhealthy',
      severity: 'critical',
      instance: config.docker.hostName ?? 'localhost',
      container: service.name,
    };
    const annotations: Record<string, string> = {
      summary: `${service.name} is down`,
      ...(isLocalDocker(config) ? { health_url: service.healthUrl } : {}),
    };
    let resolvedSent = false;
    // Registered before the alert goes out: interrupted at any point after this, the incident still
    // hears that its alert is over (after the firing request, which may still be in flight).
    const sent: { firing?: Promise<AlertResult> } = {};
    await cleanup.add('sent the resolved alert, so the incident does not stay open', async () => {
      if (resolvedSent || !sent.firing) return false;
      await sent.firing.catch(() => undefined);
      await fireAlert(config, base, labels, annotations, true);
      return true;
    });
    // Interrupted already: the clean-up is under way; open no incident now.
    if (interrupted) return DEMO_EXIT.interrupted;
    sent.firing = fireAlert(config, base, labels, annotations, false);
    const fired = await sent.firing;
    say(
      `alert sent as Alertmanager would: ContainerUnhealthy{container="${service.name}"} firing → ${fired.outcome ?? 'not accepted'}`,
    );
    if (fired.outcome === 'unmatched' || !fired.workflowId)
      throw new UserError(
        `no runbook of the running Rebound handles alertname=ContainerUnhealthy; the demo needs runbooks/10-restart-container.yaml in its runbooks directory (${config.runbooks.dir})`,
        DEMO_EXIT.notRecovered,
      );
    const incidentId = fired.workflowId;
    const handle = client.workflow.getHandle(incidentId);
    try {
      await client.connection.withDeadline(Date.now() + 15_000, () => handle.describe());
    } catch (error) {
      throw new UserError(
        `the receiver opened ${incidentId}, but it is not in Temporal at ${address} (${reason(error)}); give the demo the same TEMPORAL_ADDRESS and REBOUND_TEMPORAL_PORT as \`rebound dev\``,
        DEMO_EXIT.noRebound,
      );
    }
    let healthyAt = Date.now();
    let healthyAgain = false;
    const { state, timedOut } = await followIncident(handle, {
      timeoutMs: 4 * 60_000,
      say: (line: NarrationLine) => say(line.kind === 'phase' ? line.text : `  ${line.text}`),
      onHolding: async () => {
        // Alertmanager resolves the alert once the health check passes again, not before.
        try {
          await waitHealthy(service, 90_000);
        } catch (error) {
          say(`${service.name} is not healthy: ${reason(error)}; the alert keeps firing`);
          return;
        }
        healthyAt = Date.now();
        healthyAgain = true;
        say(`${service.name} is running and healthy: the alert resolves`);
        const result = await fireAlert(config, base, labels, annotations, true);
        resolvedSent = true;
        say(`alert sent as Alertmanager would: resolved → ${result.outcome ?? 'not accepted'}`);
      },
    });
    const recovered = !timedOut && state?.status === 'resolved' && healthyAgain;
    if (recovered) {
      ending.push(
        `Recovered: ${service.name} was killed and was healthy again within ${((healthyAt - brokenAt) / 1000).toFixed(1)} s, with no human involved (incident ${state?.resolution ?? 'resolved'}).`,
      );
    } else {
      const what = timedOut
        ? 'the incident did not finish within 4 minutes'
        : `the incident ended ${state?.status ?? 'unknown'}: ${escapeControls(state?.escalationReason ?? state?.resolution ?? '')}`;
      ending.push(`Not recovered: ${what}.`);
      const hint = diagnosis(state, ctx);
      if (hint) ending.push(`  ${hint}`);
    }
    if (ctx.dev) {
      try {
        const { runId } = await handle.describe();
        const file = path.resolve(config.dev.dataDir, 'demo', exportFileName(incidentId, runId));
        const history = await handle.fetchHistory();
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, historyToJSON(history) + '\n');
        ending.push("What happened, step by step, from the incident's event history:");
        const shown = path.relative(process.cwd(), file);
        ending.push(`  rebound audit ${shown.startsWith('..') ? file : shown}`);
        ending.push(`  (or start \`rebound dev\` again and run: rebound audit ${incidentId})`);
      } catch (error) {
        ending.push(
          `What happened: start \`rebound dev\` again and run: rebound audit ${incidentId}  (export failed: ${reason(error)})`,
        );
      }
    } else {
      ending.push("What happened, step by step, from the incident's event history:");
      ending.push(`  rebound audit ${incidentId}`);
      if (config.dev.uiPort > 0 && /^(127\.0\.0\.1|localhost):/.test(address))
        ending.push(
          `  http://127.0.0.1:${config.dev.uiPort}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(incidentId)}`,
        );
    }
    return recovered ? DEMO_EXIT.recovered : DEMO_EXIT.notRecovered;
  } finally {
    await client?.connection.close().catch(() => undefined);
    if (!interrupted) {
      if (!cleanup.empty) print('');
      await cleanup.run();
      if (ending.length > 0) print(['', ...ending].join('\n'));
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }
}

export function registerDemoCommands(program: Command): void {
  withSettings(
    program
      .command('demo')
      .description(
        'See a real recovery: start a service with a health check on Docker, kill it, fire the alert, and watch Rebound bring it back',
      )
      .addHelpText('after', DEMO_HELP),
    ALL_SETTINGS,
  ).action(
    action(async (options: Record<string, unknown>) => {
      process.exitCode = await runDemo(options);
    }),
  );
}
