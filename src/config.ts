// Every setting Rebound has, declared once: name, environment variable, flag, default, meaning and
// validation. Commands build their flags from this table and the configuration reference in the
// docs is generated from it, so the three cannot drift apart.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_EGRESS_ALLOW, parseEgressAllow } from './activities/egress';
import { parseDuration } from './runbook-lang/duration';

type Kind = 'string' | 'int' | 'bool' | 'duration' | 'url' | 'enum' | 'map' | 'list';

export interface SettingSpec {
  /** Dotted key, as in the config file. */
  key: string;
  env: string;
  kind: Kind;
  default?: string;
  allowed?: readonly string[];
  /** Never printed back; shown as *** in errors and `rebound config`. */
  secret?: boolean;
  min?: number;
  max?: number;
  describe: string;
}

export const SETTINGS = [
  // Temporal connection (rebound worker / serve against any cluster).
  {
    key: 'temporal.address',
    env: 'TEMPORAL_ADDRESS',
    kind: 'string',
    default: '127.0.0.1:7233',
    describe: 'Temporal frontend host:port.',
  },
  {
    key: 'temporal.namespace',
    env: 'TEMPORAL_NAMESPACE',
    kind: 'string',
    default: 'default',
    describe: 'Temporal namespace incidents live in.',
  },
  {
    key: 'temporal.taskQueue',
    env: 'TEMPORAL_TASK_QUEUE',
    kind: 'string',
    default: 'rebound',
    describe: 'Task queue the worker polls and the receiver starts incidents on.',
  },
  {
    key: 'temporal.tls',
    env: 'TEMPORAL_TLS',
    kind: 'bool',
    default: 'false',
    describe: 'Connect to Temporal over TLS (implied by a client certificate or an API key).',
  },
  {
    key: 'temporal.tlsCert',
    env: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
    kind: 'string',
    describe: 'Client certificate (PEM file) for mTLS.',
  },
  {
    key: 'temporal.tlsKey',
    env: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
    kind: 'string',
    describe: 'Client private key (PEM file) for mTLS.',
  },
  {
    key: 'temporal.tlsCa',
    env: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
    kind: 'string',
    describe: 'CA certificate (PEM file) that signed the server certificate.',
  },
  {
    key: 'temporal.tlsServerName',
    env: 'TEMPORAL_TLS_SERVER_NAME',
    kind: 'string',
    describe: 'Server name to verify, when it differs from the address host.',
  },
  {
    key: 'temporal.apiKey',
    env: 'TEMPORAL_API_KEY',
    kind: 'string',
    secret: true,
    describe: 'API key (Temporal Cloud); sent as a bearer token over TLS.',
  },

  // Embedded default: `rebound dev`.
  {
    key: 'dev.dataDir',
    env: 'REBOUND_DATA_DIR',
    kind: 'string',
    default: '.rebound',
    describe: 'Where `rebound dev` keeps the Temporal SQLite database and the built Temporal CLI.',
  },
  {
    key: 'dev.temporalPort',
    env: 'REBOUND_TEMPORAL_PORT',
    kind: 'int',
    default: '7233',
    min: 1,
    max: 65535,
    describe: 'Port of the embedded Temporal frontend.',
  },
  {
    key: 'dev.uiPort',
    env: 'REBOUND_UI_PORT',
    kind: 'int',
    default: '8233',
    min: 0,
    max: 65535,
    describe: 'Port of the embedded Temporal Web UI (0 turns it off).',
  },
  {
    key: 'dev.retention',
    env: 'REBOUND_RETENTION',
    kind: 'duration',
    default: '30d',
    describe: 'How long closed incidents are kept by the embedded server (namespace retention).',
  },

  // Receiver.
  {
    key: 'receiver.host',
    env: 'REBOUND_HOST',
    kind: 'string',
    default: '127.0.0.1',
    describe: 'Address the HTTP receiver listens on.',
  },
  {
    key: 'receiver.port',
    env: 'REBOUND_PORT',
    kind: 'int',
    default: '9097',
    min: 0,
    max: 65535,
    describe: 'Port the HTTP receiver listens on (0 picks a free one).',
  },
  {
    key: 'receiver.auth',
    env: 'REBOUND_WEBHOOK_AUTH',
    kind: 'enum',
    default: 'required',
    allowed: ['required', 'none'],
    describe: 'Webhook authentication; `none` turns it off explicitly.',
  },
  {
    key: 'receiver.token',
    env: 'REBOUND_WEBHOOK_TOKEN',
    kind: 'string',
    secret: true,
    describe: 'Bearer token Alertmanager sends (http_config.authorization.credentials).',
  },
  {
    key: 'receiver.basicUser',
    env: 'REBOUND_WEBHOOK_USER',
    kind: 'string',
    describe: 'Basic auth user Alertmanager sends (http_config.basic_auth).',
  },
  {
    key: 'receiver.basicPassword',
    env: 'REBOUND_WEBHOOK_PASSWORD',
    kind: 'string',
    secret: true,
    describe: 'Basic auth password.',
  },
  {
    key: 'receiver.maxAlerts',
    env: 'REBOUND_MAX_ALERTS',
    kind: 'int',
    default: '1000',
    min: 1,
    max: 100000,
    describe: 'Most alerts one webhook may carry (match Alertmanager max_alerts); sizes the body limit.',
  },
  {
    key: 'receiver.apiTokens',
    env: 'REBOUND_API_TOKENS',
    kind: 'map',
    secret: true,
    describe:
      'Operator API tokens as token=identity pairs, comma separated (split at the last `=`, so base64 padding stays in the token); the identity approves over HTTP.',
  },
  {
    key: 'receiver.publicUrl',
    env: 'REBOUND_PUBLIC_URL',
    kind: 'url',
    describe: 'URL operators reach the receiver at, for links in messages.',
  },

  // Console: the web page for operators and auditors, served by the receiver.
  {
    key: 'console.roles',
    env: 'REBOUND_CONSOLE_ROLES',
    kind: 'map',
    describe:
      'Console roles as name=role pairs, comma separated; a name is an identity or a group (approvals.groups), a role is viewer or operator. Anyone else with an API token is a viewer.',
  },
  {
    key: 'console.sessionSecret',
    env: 'REBOUND_SESSION_SECRET',
    kind: 'string',
    secret: true,
    describe:
      'Signs console session cookies; give every receiver copy the same one (default: random per process, so sessions end at a restart).',
  },
  {
    key: 'console.sessionLifetime',
    env: 'REBOUND_SESSION_LIFETIME',
    kind: 'duration',
    default: '12h',
    describe: 'How long a console login lasts.',
  },
  {
    key: 'console.pollInterval',
    env: 'REBOUND_CONSOLE_POLL_INTERVAL',
    kind: 'duration',
    default: '2s',
    describe:
      'How often the console asks Temporal for changes while someone watches (shared by all viewers).',
  },
  {
    key: 'console.temporalUiUrl',
    env: 'REBOUND_TEMPORAL_UI_URL',
    kind: 'url',
    describe:
      'Temporal Web UI base URL, for links from an incident to its execution (`rebound dev` sets its own).',
  },

  // Runbooks.
  {
    key: 'runbooks.dir',
    env: 'REBOUND_RUNBOOKS',
    kind: 'string',
    default: 'runbooks',
    describe: 'Directory of runbooks: YAML files and TypeScript code runbooks (*.ts).',
  },
  {
    key: 'runbooks.dryRun',
    env: 'REBOUND_DRY_RUN',
    kind: 'bool',
    default: 'false',
    describe: 'Run every incident as a dry run: mutating steps only report what they would do.',
  },

  // Integrations.
  {
    key: 'docker.host',
    env: 'DOCKER_HOST',
    kind: 'string',
    describe: 'Docker Engine API: unix:///path/docker.sock or tcp://host:port (default: the local socket).',
  },
  {
    key: 'docker.certPath',
    env: 'DOCKER_CERT_PATH',
    kind: 'string',
    describe: 'Directory with ca.pem, cert.pem and key.pem for Docker over TLS.',
  },
  {
    key: 'docker.tlsVerify',
    env: 'DOCKER_TLS_VERIFY',
    kind: 'bool',
    default: 'false',
    describe: 'Use TLS to reach a tcp:// Docker host.',
  },
  {
    key: 'docker.hostName',
    env: 'REBOUND_DOCKER_HOST_NAME',
    kind: 'string',
    describe: 'Name of the Docker host this worker serves; runbook steps with `host:` that name reach it.',
  },
  {
    key: 'docker.timeoutMs',
    env: 'REBOUND_DOCKER_TIMEOUT_MS',
    kind: 'int',
    default: '30000',
    min: 100,
    describe: 'Timeout of one Docker API request.',
  },
  {
    key: 'prometheus.url',
    env: 'REBOUND_PROMETHEUS_URL',
    kind: 'url',
    describe: 'Prometheus HTTP API base URL for PromQL and impact steps.',
  },
  {
    key: 'slack.token',
    env: 'SLACK_BOT_TOKEN',
    kind: 'string',
    secret: true,
    describe: 'Slack bot token (xoxb-...).',
  },
  {
    key: 'slack.apiUrl',
    env: 'SLACK_API_URL',
    kind: 'url',
    default: 'https://slack.com/api/',
    describe: 'Slack Web API base URL.',
  },
  {
    key: 'slack.signingSecret',
    env: 'SLACK_SIGNING_SECRET',
    kind: 'string',
    secret: true,
    describe: 'Verifies Slack interaction requests (Approve / Reject buttons).',
  },
  {
    key: 'slack.users',
    env: 'REBOUND_SLACK_USERS',
    kind: 'map',
    describe: 'Slack user id to identity, as U123=alice pairs, comma separated.',
  },
  {
    key: 'smtp.url',
    env: 'REBOUND_SMTP_URL',
    kind: 'url',
    describe: 'SMTP server, smtp://user:pass@host:587 (STARTTLS) or smtps://host:465.',
  },
  {
    key: 'smtp.from',
    env: 'REBOUND_MAIL_FROM',
    kind: 'string',
    default: 'rebound@localhost',
    describe: 'From address of escalation mail.',
  },
  {
    key: 'smtp.timeoutMs',
    env: 'REBOUND_SMTP_TIMEOUT_MS',
    kind: 'int',
    default: '10000',
    min: 100,
    describe: 'Connection and socket timeout for SMTP.',
  },
  {
    key: 'approvals.groups',
    env: 'REBOUND_GROUPS',
    kind: 'map',
    describe:
      'Group membership as group=alice|bob pairs, comma separated; runbooks may name groups as approvers.',
  },

  // The guards: remediation budgets, the breaker and per-target locks. The keys, flags and variables
  // keep their `safety.` names so existing configuration files and scripts go on working.
  {
    key: 'safety.budgetMax',
    env: 'REBOUND_BUDGET_MAX',
    kind: 'int',
    default: '3',
    min: 0,
    describe:
      'Most mutating actions per target within the budget window (then the incident escalates instead).',
  },
  {
    key: 'safety.budgetWindow',
    env: 'REBOUND_BUDGET_WINDOW',
    kind: 'duration',
    default: '1h',
    describe: 'The budget window.',
  },
  {
    key: 'safety.backoff',
    env: 'REBOUND_BUDGET_BACKOFF',
    kind: 'duration',
    default: '1m',
    describe: 'Wait before the second action on a target; each later one waits longer.',
  },
  {
    key: 'safety.backoffCoefficient',
    env: 'REBOUND_BUDGET_BACKOFF_COEFFICIENT',
    kind: 'int',
    default: '2',
    min: 1,
    max: 10,
    describe: 'How much each wait grows.',
  },
  {
    key: 'safety.maxBackoff',
    env: 'REBOUND_BUDGET_MAX_BACKOFF',
    kind: 'duration',
    default: '15m',
    describe: 'The longest wait between actions on one target.',
  },
  {
    key: 'safety.breakerMaxActive',
    env: 'REBOUND_BREAKER_MAX_ACTIVE',
    kind: 'int',
    default: '5',
    min: 1,
    describe: 'Trip the breaker when more targets than this are being remediated at once.',
  },
  {
    key: 'safety.breakerMaxPercent',
    env: 'REBOUND_BREAKER_MAX_PERCENT',
    kind: 'int',
    default: '50',
    min: 0,
    max: 100,
    describe:
      'Also trip when more than this share (%) of the targets seen in the last hour are being remediated (0 turns it off).',
  },
  {
    key: 'safety.breakerMinTargets',
    env: 'REBOUND_BREAKER_MIN_TARGETS',
    kind: 'int',
    default: '10',
    min: 1,
    describe: 'The share rule applies only once this many targets have been seen.',
  },
  {
    key: 'safety.breakerQuiet',
    env: 'REBOUND_BREAKER_QUIET',
    kind: 'duration',
    default: '10m',
    describe: 'The breaker closes by itself after this long without a held-back remediation.',
  },
  {
    key: 'safety.lease',
    env: 'REBOUND_REMEDIATION_LEASE',
    kind: 'duration',
    default: '30m',
    describe: 'A remediation that neither finishes nor renews within this long stops counting as active.',
  },
  {
    key: 'safety.lockWait',
    env: 'REBOUND_LOCK_WAIT',
    kind: 'duration',
    default: '10m',
    describe:
      'How long an incident waits for another incident to finish with the same target before escalating.',
  },
  {
    key: 'safety.summarySlackChannel',
    env: 'REBOUND_SUMMARY_SLACK_CHANNEL',
    kind: 'string',
    describe: 'Slack channel for the breaker summary (one message instead of one per incident).',
  },
  {
    key: 'safety.summaryEmail',
    env: 'REBOUND_SUMMARY_EMAIL',
    kind: 'string',
    describe: 'Comma-separated addresses for the breaker summary.',
  },

  // Secrets and egress: what runbooks may reach, and the credentials they name.
  {
    key: 'secrets.file',
    env: 'REBOUND_SECRETS_FILE',
    kind: 'string',
    describe:
      'File of secrets runbooks name ({ secret: NAME } in http.call headers): a YAML mapping or NAME=value lines, readable by its owner only (chmod 600). REBOUND_SECRET_<NAME> in the environment takes precedence.',
  },
  {
    key: 'egress.allow',
    env: 'REBOUND_EGRESS_ALLOW',
    kind: 'list',
    default: DEFAULT_EGRESS_ALLOW,
    describe:
      'Where probe.http, probe.tcp, http.call, wait-healthy URLs and step Prometheus URLs may go, checked after templating: comma-separated host names, *.domain suffixes, IP addresses or CIDR blocks, each with an optional :port ([v6]:port), or * for anywhere. The configured prometheus.url is always allowed.',
  },

  {
    key: 'worker.cachedIncidents',
    env: 'REBOUND_WORKER_CACHED_INCIDENTS',
    kind: 'int',
    min: 0,
    describe:
      'Incidents a worker keeps in memory (its workflow cache, about 0.7-0.8 MiB of rss each); one it evicted replays its history on its next event (tens of milliseconds). Default: the SDK’s, derived from the V8 heap limit (2,310 on a 23.5 GiB machine); `rebound worker` logs the value in effect. 0 keeps none.',
  },
  {
    key: 'cache.dir',
    env: 'REBOUND_CACHE_DIR',
    kind: 'string',
    describe:
      'Where the bundled workflow code is cached for `rebound replay`, `worker` and `dev`, keyed by a hash of the sources, packages and SDK (default: $XDG_CACHE_HOME/rebound, else ~/.cache/rebound); `off` bundles on every start.',
  },

  {
    key: 'log.level',
    env: 'REBOUND_LOG_LEVEL',
    kind: 'enum',
    default: 'info',
    allowed: ['debug', 'info', 'warn', 'error'],
    describe: 'Log verbosity.',
  },
] as const satisfies readonly SettingSpec[];

export type SettingKey = (typeof SETTINGS)[number]['key'];

export interface Config {
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    tls: boolean;
    tlsCert?: string;
    tlsKey?: string;
    tlsCa?: string;
    tlsServerName?: string;
    apiKey?: string;
  };
  dev: { dataDir: string; temporalPort: number; uiPort: number; retentionMs: number };
  receiver: {
    host: string;
    port: number;
    auth: 'required' | 'none';
    token?: string;
    basicUser?: string;
    basicPassword?: string;
    maxAlerts: number;
    apiTokens: Record<string, string>;
    publicUrl?: string;
  };
  runbooks: { dir: string; dryRun: boolean };
  console: {
    /** Identity or group -> role. */
    roles: Record<string, string>;
    sessionSecret?: string;
    /** Milliseconds. */
    sessionLifetime: number;
    /** Milliseconds. */
    pollInterval: number;
    temporalUiUrl?: string;
  };
  docker: { host?: string; certPath?: string; tlsVerify: boolean; hostName?: string; timeoutMs: number };
  prometheus: { url?: string };
  slack: { token?: string; apiUrl: string; signingSecret?: string; users: Record<string, string> };
  smtp: { url?: string; from: string; timeoutMs: number };
  approvals: { groups: Record<string, string[]> };
  /** Durations in milliseconds. */
  safety: {
    budgetMax: number;
    budgetWindow: number;
    backoff: number;
    backoffCoefficient: number;
    maxBackoff: number;
    breakerMaxActive: number;
    breakerMaxPercent: number;
    breakerMinTargets: number;
    breakerQuiet: number;
    lease: number;
    lockWait: number;
    summarySlackChannel?: string;
    summaryEmail?: string;
  };
  secrets: { file?: string };
  egress: { allow: string };
  /** cachedIncidents: unset means the SDK's default (derived from the V8 heap limit). */
  worker: { cachedIncidents?: number };
  /** dir: unset means the user's cache directory; `off` means none. */
  cache: { dir?: string };
  log: { level: 'debug' | 'info' | 'warn' | 'error' };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The flag a setting gets on the command line: temporal.taskQueue -> --temporal-task-queue. */
export function flagName(key: string): string {
  return `--${key.replace(/\./g, '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Commander's camel-cased option property for a setting's flag. */
export function flagProperty(key: string): string {
  return flagName(key)
    .slice(2)
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export interface ConfigSources {
  /** Values from flags, by setting key. */
  flags?: Partial<Record<string, string | boolean | number | undefined>>;
  env?: NodeJS.ProcessEnv;
  /** Path of a YAML or JSON config file (also REBOUND_CONFIG). */
  file?: string;
}

function readConfigFile(file: string, problems: string[]): Map<string, unknown> {
  const values = new Map<string, unknown>();
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    // Only the first line: YAML's later lines quote the file, which may hold passwords.
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    problems.push(`config file ${file}: ${message}`);
    return values;
  }
  if (parsed === null || parsed === undefined) return values;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    problems.push(`config file ${file}: expected a mapping of sections (temporal:, receiver:, ...)`);
    return values;
  }
  const known = new Set<string>(SETTINGS.map((s) => s.key));
  const walk = (prefix: string, node: Record<string, unknown>): void => {
    for (const [name, value] of Object.entries(node)) {
      const key = prefix ? `${prefix}.${name}` : name;
      if (known.has(key)) values.set(key, value);
      else if (value !== null && typeof value === 'object' && !Array.isArray(value) && !prefix)
        walk(key, value as Record<string, unknown>);
      else problems.push(`config file ${file}: unknown setting "${key}"`);
    }
  };
  walk('', parsed as Record<string, unknown>);
  return values;
}

function parseMap(spec: SettingSpec, raw: unknown, problems: string[]): Record<string, string> | undefined {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) out[k] = Array.isArray(v) ? v.map(String).join('|') : String(v);
    return out;
  }
  const text = String(raw).trim();
  if (!text) return {};
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    // The last `=`: base64 tokens end in `=` padding, identities and group names never contain one.
    const eq = pair.lastIndexOf('=');
    if (eq <= 0 || eq === pair.length - 1) {
      problems.push(`${spec.key} (${spec.env}): "${spec.secret ? '***' : pair}" is not a key=value pair`);
      return undefined;
    }
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

/**
 * A URL-ish text with its user and password replaced by ***. Works on text `new URL` refuses too (a
 * password with `#` or `/`), so everything between `://` and the last `@` goes.
 */
export function maskUrlCredentials(text: string): string {
  const start = text.indexOf('://');
  const at = text.lastIndexOf('@');
  if (start < 0 || at < start) return text;
  return `${text.slice(0, start + 3)}***${text.slice(at)}`;
}

function convert(spec: SettingSpec, raw: unknown, origin: string, problems: string[]): unknown {
  const shown = spec.secret
    ? '***'
    : JSON.stringify(spec.kind === 'url' && typeof raw === 'string' ? maskUrlCredentials(raw) : raw);
  const bad = (allowed: string): undefined => {
    problems.push(`${spec.key} (from ${origin}): ${shown} is not valid; expected ${allowed}`);
    return undefined;
  };
  switch (spec.kind) {
    case 'string':
    case 'list': {
      const text = String(raw).trim();
      return text === '' ? undefined : text;
    }
    case 'int': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      const range =
        spec.min === undefined && spec.max === undefined
          ? 'a whole number'
          : spec.max === undefined
            ? `a whole number of at least ${spec.min}`
            : `a whole number from ${spec.min ?? 0} to ${spec.max}`;
      if (!Number.isInteger(n) || String(raw).trim() === '') return bad(range);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max))
        return bad(range);
      return n;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const text = String(raw).trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(text)) return true;
      if (['false', '0', 'no', 'off', ''].includes(text)) return false;
      return bad('true or false');
    }
    case 'duration': {
      const ms = parseDuration(typeof raw === 'number' ? raw : String(raw));
      return ms === undefined ? bad('a duration such as 90s, 15m, 24h or 30d') : ms;
    }
    case 'url': {
      const text = String(raw).trim();
      if (text === '') return undefined;
      try {
        new URL(text);
        return text;
      } catch {
        return bad('an absolute URL such as http://host:port/');
      }
    }
    case 'enum': {
      const text = String(raw).trim();
      return spec.allowed?.includes(text) ? text : bad(`one of: ${spec.allowed?.join(', ')}`);
    }
    case 'map':
      return parseMap(spec, raw, problems);
  }
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const [section, name] = key.split('.') as [string, string];
  const node = (target[section] ??= {}) as Record<string, unknown>;
  node[name] = value;
}

/**
 * Resolves every setting: flag, then environment, then config file, then default. All problems are
 * collected and reported together so a user fixes them in one go.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const problems: string[] = [];
  const file = sources.file ?? env.REBOUND_CONFIG;
  const fromFile = file ? readConfigFile(path.resolve(file), problems) : new Map<string, unknown>();
  const out: Record<string, unknown> = {};
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const flag = sources.flags?.[flagProperty(spec.key)];
    let raw: unknown;
    let origin: string;
    if (flag !== undefined) [raw, origin] = [flag, flagName(spec.key)];
    else if (env[spec.env] !== undefined) [raw, origin] = [env[spec.env], spec.env];
    else if (fromFile.has(spec.key)) [raw, origin] = [fromFile.get(spec.key), `${file}`];
    else [raw, origin] = [spec.default, 'default'];
    setPath(out, spec.key, raw === undefined ? undefined : convert(spec, raw, origin, problems));
  }
  const config = out as unknown as Config & { dev: { retention?: number }; approvals: { groups?: unknown } };
  config.dev.retentionMs = (config.dev as { retention?: number }).retention ?? 30 * 86_400_000;
  delete (config.dev as { retention?: number }).retention;
  config.receiver.apiTokens ??= {};
  config.slack.users ??= {};
  config.egress.allow ??= ''; // set but empty: nothing is allowed beyond the configured Prometheus
  config.console.roles ??= {};
  config.worker ??= {};
  config.cache ??= {};
  const groups = (config.approvals.groups ?? {}) as unknown as Record<string, string>;
  config.approvals.groups = Object.fromEntries(
    Object.entries(groups).map(([g, members]) => [
      g,
      String(members)
        .split('|')
        .map((m) => m.trim())
        .filter(Boolean),
    ]),
  );
  problems.push(...crossChecks(config));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function crossChecks(config: Config): string[] {
  const problems: string[] = [];
  const t = config.temporal;
  if ((t.tlsCert === undefined) !== (t.tlsKey === undefined))
    problems.push(
      'temporal.tlsCert and temporal.tlsKey go together: set both (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH) or neither',
    );
  const r = config.receiver;
  if ((r.basicUser === undefined) !== (r.basicPassword === undefined))
    problems.push(
      'receiver.basicUser and receiver.basicPassword go together: set both (REBOUND_WEBHOOK_USER, REBOUND_WEBHOOK_PASSWORD) or neither',
    );
  for (const [name, role] of Object.entries(config.console.roles))
    if (role !== 'viewer' && role !== 'operator')
      problems.push(
        `console.roles (REBOUND_CONSOLE_ROLES): "${name}=${role}" names no role; use viewer or operator`,
      );
  if (!/^[A-Za-z0-9_.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(t.address))
    problems.push(`temporal.address (TEMPORAL_ADDRESS): "${t.address}" is not host:port`);
  for (const problem of parseEgressAllow(config.egress.allow).problems)
    problems.push(`egress.allow (REBOUND_EGRESS_ALLOW): ${problem}`);
  return problems;
}

/** Webhook authentication must be configured unless explicitly turned off; checked where the receiver starts. */
export function receiverAuthProblems(config: Config): string[] {
  const r = config.receiver;
  if (r.auth === 'none') return [];
  if (r.token || r.basicUser) return [];
  return [
    'receiver.auth is "required" but no credentials are set: set REBOUND_WEBHOOK_TOKEN (bearer) or REBOUND_WEBHOOK_USER and REBOUND_WEBHOOK_PASSWORD (basic), or set REBOUND_WEBHOOK_AUTH=none to accept unauthenticated webhooks',
  ];
}

/** The configuration with secrets masked, for `rebound config` and start-up logs. */
export function describeConfig(config: Config): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const [section, name] = spec.key.split('.') as [string, string];
    const sectionValues = (config as unknown as Record<string, Record<string, unknown>>)[section] ?? {};
    let value = name === 'retention' ? `${sectionValues.retentionMs as number}ms` : sectionValues[name];
    if (
      spec.secret &&
      value !== undefined &&
      !(typeof value === 'object' && Object.keys(value as object).length === 0)
    )
      value = '***';
    shown[spec.key] = value;
  }
  return shown;
}
