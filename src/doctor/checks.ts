// The checks `rebound doctor` runs: each looks at one thing Rebound depends on, within a few seconds,
// and says ok, warning or problem with the fix in one line. No check prints a secret.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { ErrorCode, WebClient } from '@slack/web-api';
import Docker from 'dockerode';
import nodemailer from 'nodemailer';
import { dockerOptions } from '../activities/docker';
import { receiverAuthProblems, type Config } from '../config';
import { slackClientLogger } from '../log';
import { checkRunbookDir } from '../runbooks/catalog';
import type { RunbookSnapshot } from '../runbook-lang/types';
import { dockerTaskQueue } from '../task-queues';
import { clientConnectionOptions } from '../temporal-connection';
import { routesToDockerHost } from '../steps/registry';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { escapeControls } from '../terminal-text';
import { withTimeout } from '../with-timeout';

export type CheckStatus = 'ok' | 'warning' | 'problem';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** What was found, one line. */
  summary: string;
  /** What to do about it, one line (warnings and problems). */
  fix?: string;
}

/** How long any one check may take: a doctor that hangs is no help. */
export const CHECK_TIMEOUT_MS = 5000;

const ok = (name: string, summary: string): CheckResult => ({ name, status: 'ok', summary });
const warning = (name: string, summary: string, fix: string): CheckResult => ({
  name,
  status: 'warning',
  summary,
  fix,
});
const problem = (name: string, summary: string, fix: string): CheckResult => ({
  name,
  status: 'problem',
  summary,
  fix,
});

/** An error's own words (a network error's cause is the useful part), one line, no control characters. */
export function why(error: unknown): string {
  const e = error as Error & { code?: string; cause?: unknown; details?: string };
  const cause = e.cause instanceof Error ? `${e.cause.message}` : undefined;
  const text = e.details || cause || e.message || String(error);
  return escapeControls(text.split('\n')[0] ?? '').slice(0, 200);
}

/** A URL with any user:password removed, for showing where something is. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    u.search = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(not a URL)';
  }
}

function formatDays(ms: number): string {
  const days = ms / 86_400_000;
  return days >= 1 ? `${Number.isInteger(days) ? days : days.toFixed(1)}d` : `${Math.round(ms / 3_600_000)}h`;
}

// ---- what the runbooks use ----------------------------------------------------------------------

/** What the runbooks need from the world, so each integration check knows whether it matters. */
export interface RunbookNeeds {
  docker: boolean;
  dockerHosts: string[];
  slackChannels: string[];
  email: boolean;
  prometheus: boolean;
}

export function runbookNeeds(runbooks: RunbookSnapshot[], config: Config): RunbookNeeds {
  const hosts = new Set<string>();
  const channels = new Set<string>();
  let docker = false;
  let email = Boolean(config.safety.summaryEmail);
  let prometheus = false;
  if (config.safety.summarySlackChannel) channels.add(config.safety.summarySlackChannel);
  for (const { runbook } of runbooks) {
    const defaultChannel = runbook.notifications?.slack?.channel;
    for (const step of runbook.steps) {
      if (routesToDockerHost(step.type)) {
        if (step.host) hosts.add(step.host);
        else docker = true;
      }
      if (step.type === 'prometheus.query' && typeof step.with.url !== 'string') prometheus = true;
      if (step.type === 'notify' && step.with.channel === 'email') email = true;
      if (step.type === 'notify' && step.with.channel === 'slack') {
        const to = step.with.to;
        // A templated channel is only known per alert.
        if (typeof to === 'string' && !to.includes('{{')) channels.add(to);
        else if (to === undefined && defaultChannel) channels.add(defaultChannel);
      }
    }
    if (defaultChannel) channels.add(defaultChannel);
    if (runbook.notifications?.email) email = true;
  }
  return {
    docker,
    dockerHosts: [...hosts].sort(),
    slackChannels: [...channels].sort(),
    email,
    prometheus,
  };
}

// ---- runbooks -----------------------------------------------------------------------------------

export function checkRunbooks(config: Config): { result: CheckResult; runbooks: RunbookSnapshot[] } {
  const dir = config.runbooks.dir;
  const { runbooks, problems, files } = checkRunbookDir(dir);
  if (problems.length > 0) {
    const first = problems[0]!;
    const where = first.file === dir ? dir : `${path.join(dir, first.file)}:${first.line}:${first.column}`;
    return {
      result: problem(
        'runbooks',
        `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${dir}; first: ${where}: ${first.message}`,
        'run `rebound runbooks lint` for every problem and fix them (rebound serve and rebound dev refuse to start until then)',
      ),
      runbooks,
    };
  }
  if (files.length === 0)
    return {
      result: warning(
        'runbooks',
        `no runbooks in ${dir}: every alert will be "unmatched"`,
        'add YAML runbooks there, or point REBOUND_RUNBOOKS at your runbooks directory',
      ),
      runbooks,
    };
  return {
    result: ok(
      'runbooks',
      `${runbooks.length} valid in ${dir} (${runbooks.map((r) => r.runbook.name).join(', ')})`,
    ),
    runbooks,
  };
}

// ---- Temporal -----------------------------------------------------------------------------------

export interface TemporalChecks {
  results: CheckResult[];
}

function fixTemporal(config: Config): string {
  return config.temporal.address.startsWith('127.0.0.1') || config.temporal.address.startsWith('localhost')
    ? 'start it with `rebound dev` (or `npm start`), or set TEMPORAL_ADDRESS to your cluster'
    : `check that ${config.temporal.address} is Temporal's frontend and reachable from here (TEMPORAL_ADDRESS, TLS and API key settings)`;
}

async function pollers(
  client: Client,
  namespace: string,
  name: string,
  type: temporal.api.enums.v1.TaskQueueType,
): Promise<number> {
  const response = await client.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
    client.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: type,
    }),
  );
  return response.pollers?.length ?? 0;
}

/** Temporal reachable and its version; the namespace, its retention, the search attributes; workers polling. */
export async function checkTemporal(config: Config, needs: RunbookNeeds): Promise<CheckResult[]> {
  const { address, namespace, taskQueue } = config.temporal;
  let connection: Connection;
  try {
    connection = await withTimeout(
      Connection.connect({ ...clientConnectionOptions(config), connectTimeout: '3s' }),
      CHECK_TIMEOUT_MS,
      address,
    );
  } catch (error) {
    return [problem('temporal', `cannot reach Temporal at ${address}: ${why(error)}`, fixTemporal(config))];
  }
  const client = new Client({ connection, namespace });
  const deadline = (): number => Date.now() + CHECK_TIMEOUT_MS;
  const results: CheckResult[] = [];
  try {
    try {
      const info = await connection.withDeadline(deadline(), () =>
        connection.workflowService.getSystemInfo({}),
      );
      results.push(
        ok('temporal', `reachable at ${address}, server ${info.serverVersion || 'version unknown'}`),
      );
    } catch (error) {
      return [
        problem('temporal', `Temporal at ${address} does not answer: ${why(error)}`, fixTemporal(config)),
      ];
    }

    try {
      const ns = await connection.withDeadline(deadline(), () =>
        connection.workflowService.describeNamespace({ namespace }),
      );
      results.push(
        ok(
          'namespace',
          `${namespace} exists (${ns.namespaceInfo?.state === temporal.api.enums.v1.NamespaceState.NAMESPACE_STATE_REGISTERED ? 'registered' : 'state ' + String(ns.namespaceInfo?.state)})`,
        ),
      );
      const retentionMs = tsToMs(ns.config?.workflowExecutionRetentionTtl ?? undefined) ?? 0;
      if (retentionMs > 0 && retentionMs < 7 * 86_400_000)
        results.push(
          warning(
            'retention',
            `closed incidents are deleted ${formatDays(retentionMs)} after they close (namespace ${namespace})`,
            `keep them longer: REBOUND_RETENTION=30d rebound dev, or temporal operator namespace update --retention 30d ${namespace}; archive with rebound history export --all`,
          ),
        );
      else
        results.push(
          ok(
            'retention',
            retentionMs > 0 ? `closed incidents are kept ${formatDays(retentionMs)}` : 'unlimited',
          ),
        );
    } catch (error) {
      return [
        ...results,
        problem(
          'namespace',
          `namespace ${namespace} cannot be read: ${why(error)}`,
          `create it (temporal operator namespace create --retention 30d ${namespace}, or deploy/temporal/setup.sh), or set TEMPORAL_NAMESPACE`,
        ),
      ];
    }

    try {
      const listed = await connection.withDeadline(deadline(), () =>
        connection.operatorService.listSearchAttributes({ namespace }),
      );
      const custom = listed.customAttributes ?? {};
      const typeName = (value: number | null | undefined): string =>
        (temporal.api.enums.v1.IndexedValueType[value ?? 0] ?? '').replace('INDEXED_VALUE_TYPE_', '');
      const missing = SEARCH_ATTRIBUTES.filter(([name]) => custom[name] === undefined);
      const wrong = SEARCH_ATTRIBUTES.filter(
        ([name, type]) => custom[name] !== undefined && typeName(custom[name]) !== type.toUpperCase(),
      );
      if (missing.length === 0 && wrong.length === 0)
        results.push(ok('search attributes', `all ${SEARCH_ATTRIBUTES.length} of Rebound's are registered`));
      else {
        const commands = missing
          .map(
            ([name, type]) =>
              `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}`,
          )
          .join('; ');
        results.push(
          problem(
            'search attributes',
            [
              missing.length > 0 ? `missing: ${missing.map(([n]) => n).join(', ')}` : '',
              wrong.length > 0 ? `wrong type: ${wrong.map(([n, t]) => `${n} (want ${t})`).join(', ')}` : '',
            ]
              .filter(Boolean)
              .join('; ') + ' — incidents cannot start without them',
            missing.length > 0
              ? `register them (deploy/temporal/setup.sh does it): ${commands}`
              : 'remove and re-create them with the right type (temporal operator search-attribute)',
          ),
        );
      }
    } catch (error) {
      results.push(
        warning(
          'search attributes',
          `cannot list them: ${why(error)}`,
          'check that this identity may call the operator API, or compare with `temporal operator search-attribute list`',
        ),
      );
    }

    try {
      const workflowPollers = await pollers(
        client,
        namespace,
        taskQueue,
        temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      );
      results.push(
        workflowPollers > 0
          ? ok(
              'worker',
              `${workflowPollers} worker${workflowPollers === 1 ? '' : 's'} polling task queue ${taskQueue}`,
            )
          : problem(
              'worker',
              `no worker polls task queue ${taskQueue} (namespace ${namespace}): incidents would wait forever`,
              'start one: `rebound worker` with the same TEMPORAL_* settings (or `rebound dev`), and check TEMPORAL_TASK_QUEUE matches',
            ),
      );
      for (const host of needs.dockerHosts) {
        const queue = dockerTaskQueue(taskQueue, host);
        const count = await pollers(
          client,
          namespace,
          queue,
          temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        );
        results.push(
          count > 0
            ? ok(`docker host ${host}`, `${count} worker${count === 1 ? '' : 's'} serving ${queue}`)
            : problem(
                `docker host ${host}`,
                `runbooks send container steps to host ${host}, and no worker serves its queue ${queue}`,
                `on that host run: REBOUND_DOCKER_HOST_NAME=${host} rebound worker`,
              ),
        );
      }
    } catch (error) {
      results.push(
        warning('worker', `cannot describe task queue ${taskQueue}: ${why(error)}`, fixTemporal(config)),
      );
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
  return results;
}

// ---- the receiver -------------------------------------------------------------------------------

function receiverBase(config: Config): string {
  const host = config.receiver.host;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${config.receiver.port}`;
}

/** Credentials this process would send, and where they come from (never the values). */
function webhookCredentials(config: Config): { header?: string; source: string } {
  const r = config.receiver;
  if (r.token) return { header: `Bearer ${r.token}`, source: 'bearer token (REBOUND_WEBHOOK_TOKEN)' };
  if (r.basicUser)
    return {
      header: `Basic ${Buffer.from(`${r.basicUser}:${r.basicPassword ?? ''}`).toString('base64')}`,
      source: 'basic auth (REBOUND_WEBHOOK_USER/PASSWORD)',
    };
  return { source: '' };
}

/** The webhook answers, and its authentication is configured (and accepts the credentials we have). */
export async function checkWebhook(config: Config): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const base = receiverBase(config);
  let credentials = webhookCredentials(config);
  const devToken = path.resolve(config.dev.dataDir, 'webhook-token');
  const tokenFile = devToken;
  if (config.receiver.auth === 'none')
    results.push(
      warning(
        'webhook auth',
        'off (REBOUND_WEBHOOK_AUTH=none): anyone who reaches the receiver can open incidents',
        "set REBOUND_WEBHOOK_TOKEN (and Alertmanager's http_config.authorization) unless a proxy in front authenticates",
      ),
    );
  else if (!credentials.header && existsSync(tokenFile)) {
    // `rebound dev` makes its own token when none is configured.
    credentials = {
      header: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`,
      source: `bearer token from ${tokenFile} (made by rebound dev)`,
    };
    results.push(ok('webhook auth', credentials.source));
  } else {
    const authProblems = receiverAuthProblems(config);
    if (authProblems.length > 0)
      results.push(
        problem(
          'webhook auth',
          'required, but no credentials are configured: `rebound serve` refuses to start',
          `set REBOUND_WEBHOOK_TOKEN (bearer) or REBOUND_WEBHOOK_USER and REBOUND_WEBHOOK_PASSWORD; rebound dev makes one in ${devToken}`,
        ),
      );
    else results.push(ok('webhook auth', credentials.source));
  }

  const url = `${base}/v1/alerts/alertmanager`;
  try {
    const ready = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(3000) });
    await ready.text();
    if (!ready.ok) {
      results.push(
        problem(
          'webhook',
          `the receiver at ${base} answers, but GET /readyz is ${ready.status}: it cannot reach Temporal`,
          'give the receiver the same TEMPORAL_* settings as the worker, and see the temporal check above',
        ),
      );
      return results;
    }
    // An empty payload: authenticated requests get 400 (bad body) and nothing is started; wrong credentials get 401.
    const probe = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(credentials.header ? { authorization: credentials.header } : {}),
      },
      body: '{}',
      signal: AbortSignal.timeout(3000),
    });
    await probe.text();
    if (probe.status === 401)
      results.push(
        problem(
          'webhook',
          `${url} refuses ${credentials.header ? 'the configured credentials' : 'requests without credentials'} (401)`,
          `use the receiver's token here and in Alertmanager (REBOUND_WEBHOOK_TOKEN; rebound dev keeps it in ${devToken})`,
        ),
      );
    else results.push(ok('webhook', `${url} answers and accepts the configured credentials`));
  } catch (error) {
    results.push(
      problem(
        'webhook',
        `nothing answers at ${base}: ${why(error)}`,
        'start the receiver (`rebound serve`, or `rebound dev`), or set REBOUND_HOST/REBOUND_PORT to where it listens',
      ),
    );
  }
  return results;
}

// ---- integrations -------------------------------------------------------------------------------

/** Docker from this process, with the worker's settings: what a worker on this host would see. */
export async function checkDocker(config: Config, needs: RunbookNeeds): Promise<CheckResult> {
  const where = config.docker.host?.trim() || 'unix:///var/run/docker.sock';
  let docker: Docker;
  try {
    docker = new Docker({ ...dockerOptions(config.docker), timeout: 3000 });
  } catch (error) {
    return problem('docker', why(error), 'set DOCKER_HOST to unix:///path/docker.sock or tcp://host:port');
  }
  try {
    const version = await withTimeout(docker.version(), 3000, where);
    return ok(
      'docker',
      `Docker ${version.Version} at ${where}, as a worker on this host with these settings would see it`,
    );
  } catch (error) {
    const reason = why(error);
    const denied = /EACCES|permission denied/i.test(reason);
    const summary = `no Docker engine answers at ${where} (${reason}): a worker on this host would fail every container step`;
    const fix = denied
      ? "give the worker's user access to the socket (the docker group, or a socket proxy as in docs/deployment.md)"
      : 'start Docker (systemctl start docker) or set DOCKER_HOST to the engine the worker should drive';
    return needs.docker
      ? problem('docker', summary, fix)
      : warning('docker', `${summary} (no runbook here needs local Docker)`, fix);
  }
}

/** The bot token works (auth.test) and the runbooks' channels exist. */
export async function checkSlack(config: Config, needs: RunbookNeeds): Promise<CheckResult[]> {
  if (!config.slack.token) {
    if (needs.slackChannels.length === 0)
      return [ok('slack', 'not configured, and no runbook posts to Slack')];
    return [
      warning(
        'slack',
        `runbooks post to ${needs.slackChannels.join(', ')}, but SLACK_BOT_TOKEN is not set: those messages are not sent`,
        'create a Slack app bot token (xoxb-…, scope chat:write) and set SLACK_BOT_TOKEN',
      ),
    ];
  }
  const slack = new WebClient(config.slack.token, {
    slackApiUrl: config.slack.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: CHECK_TIMEOUT_MS,
    logger: slackClientLogger(),
  });
  const results: CheckResult[] = [];
  try {
    const auth = await withTimeout(slack.auth.test(), CHECK_TIMEOUT_MS, 'Slack auth.test');
    results.push(ok('slack', `token valid: bot ${auth.user ?? '?'} in workspace ${auth.team ?? '?'}`));
  } catch (error) {
    const e = error as { code?: string; data?: { error?: string } };
    const code = e.code === ErrorCode.PlatformError ? (e.data?.error ?? 'error') : why(error);
    const refused = e.code === ErrorCode.PlatformError;
    return [
      problem(
        'slack',
        refused
          ? `Slack refuses SLACK_BOT_TOKEN (${code})`
          : `cannot reach Slack at ${withoutCredentials(config.slack.apiUrl)}: ${code}`,
        refused
          ? "use the app's current Bot User OAuth Token (xoxb-…, scope chat:write) in SLACK_BOT_TOKEN"
          : 'check that this host reaches Slack (proxy, firewall) or SLACK_API_URL',
      ),
    ];
  }
  if (needs.slackChannels.length === 0) return results;
  // Channels by name need conversations.list (scope channels:read); ids can be read one by one.
  const known = new Set<string>();
  let listed = true;
  try {
    let cursor: string | undefined;
    for (let page = 0; page < 5; page += 1) {
      const answer = await withTimeout(
        slack.conversations.list({
          limit: 1000,
          exclude_archived: true,
          types: 'public_channel,private_channel',
          ...(cursor ? { cursor } : {}),
        }),
        CHECK_TIMEOUT_MS,
        'Slack conversations.list',
      );
      for (const channel of answer.channels ?? []) {
        if (channel.id) known.add(channel.id);
        if (channel.name) known.add(`#${channel.name}`);
      }
      cursor = answer.response_metadata?.next_cursor || undefined;
      if (!cursor) break;
    }
  } catch {
    listed = false;
  }
  if (!listed) {
    results.push(
      warning(
        'slack channels',
        `could not list channels to check ${needs.slackChannels.join(', ')}`,
        'give the bot the channels:read scope to let doctor check them, and invite it to each channel',
      ),
    );
    return results;
  }
  const unknown = needs.slackChannels.filter(
    (c) => !known.has(c.startsWith('#') || /^[CGD][A-Z0-9]+$/.test(c) ? c : `#${c}`),
  );
  results.push(
    unknown.length === 0
      ? ok('slack channels', `${needs.slackChannels.join(', ')} known`)
      : problem(
          'slack channels',
          `not found in the workspace (or not visible to the bot): ${unknown.join(', ')}`,
          "create the channel or fix the runbook's notifications.slack.channel, and invite the bot (/invite @bot)",
        ),
  );
  return results;
}

/** The SMTP server answers and accepts the configured login (nodemailer's verify). */
export async function checkSmtp(config: Config, needs: RunbookNeeds): Promise<CheckResult> {
  if (!config.smtp.url)
    return needs.email
      ? warning(
          'smtp',
          'runbooks send email, but REBOUND_SMTP_URL is not set: those mails are not sent',
          'set REBOUND_SMTP_URL (smtp://user:pass@host:587) and REBOUND_MAIL_FROM',
        )
      : ok('smtp', 'not configured, and no runbook sends email');
  const shown = withoutCredentials(config.smtp.url);
  const transport = nodemailer.createTransport(config.smtp.url, {
    connectionTimeout: 3000,
    greetingTimeout: 3000,
    socketTimeout: 3000,
  } as object);
  try {
    await withTimeout(transport.verify(), CHECK_TIMEOUT_MS, shown);
    return ok('smtp', `${shown} answers`);
  } catch (error) {
    return problem(
      'smtp',
      `${shown}: ${why(error)}`,
      'check REBOUND_SMTP_URL (host, port, user and password) and that this host may reach it',
    );
  } finally {
    transport.close();
  }
}

/** Prometheus answers its build-info endpoint. */
export async function checkPrometheus(config: Config, needs: RunbookNeeds): Promise<CheckResult> {
  if (!config.prometheus.url)
    return needs.prometheus
      ? warning(
          'prometheus',
          'runbooks query Prometheus, but REBOUND_PROMETHEUS_URL is not set',
          'set REBOUND_PROMETHEUS_URL (http://prometheus:9090), or give those steps a url',
        )
      : ok('prometheus', 'not configured, and no runbook queries it');
  const shown = withoutCredentials(config.prometheus.url);
  try {
    const url = new URL('api/v1/status/buildinfo', config.prometheus.url.replace(/\/?$/, '/'));
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    const body = (await response.json().catch(() => ({}))) as { data?: { version?: string } };
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return ok('prometheus', `${shown} answers (Prometheus ${body.data?.version ?? 'version unknown'})`);
  } catch (error) {
    return problem(
      'prometheus',
      `${shown}: ${why(error)}`,
      'check REBOUND_PROMETHEUS_URL and that this host may reach it',
    );
  }
}
