// Container steps through the Docker Engine API (dockerode): inspect, restart, start, stop, failover,
// wait-until-healthy and the tail of a container's log. Activities run at least once, so every mutating call is written to be safe to
// repeat: a restart that already happened is not repeated, "already started/stopped" (304) is success.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import Docker from 'dockerode';
import type { Config } from '../config';
import { CONTAINER_NAME_RULE, isContainerName } from '../runbook-lang/container-names';
import { parseDuration } from '../runbook-lang/duration';
import { CONTAINER_LOGS_DEFAULT_TAIL, CONTAINER_LOGS_MAX_TAIL } from '../steps/container';
import { escapeControls } from '../terminal-text';
import type { EgressPolicy } from './egress';
import { badParameters, FailureType, optionalPositiveInt, requireString } from './errors';
import { httpProbe } from './probes';
import { maskLogLine } from './log-masking';
import type {
  ContainerLogLine,
  ContainerLogsParams,
  ContainerLogsResult,
  ContainerRef,
  ContainerState,
  DryRunReport,
  FailoverParams,
  FailoverResult,
  RestartParams,
  RestartResult,
  StepInput,
  WaitHealthyParams,
  WaitHealthyResult,
} from './types';

const DEFAULT_STOP_TIMEOUT_S = 10;
const DEFAULT_INTERVAL_MS = 2000;
/** Docker reports "never" as the zero time. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** dockerode connection options from the docker.* settings; the settings win over the process env. */
export function dockerOptions(settings: Config['docker']): Docker.DockerOptions {
  const host = settings.host?.trim();
  const tls = (): Pick<Docker.DockerOptions, 'ca' | 'cert' | 'key'> => {
    if (!settings.certPath) return {};
    const file = (name: string): Buffer => readFileSync(path.join(settings.certPath as string, name));
    return { ca: file('ca.pem'), cert: file('cert.pem'), key: file('key.pem') };
  };
  if (!host) return { socketPath: '/var/run/docker.sock', timeout: settings.timeoutMs };
  if (host.startsWith('unix://')) {
    return {
      socketPath: host.slice('unix://'.length) || '/var/run/docker.sock',
      timeout: settings.timeoutMs,
    };
  }
  if (host.startsWith('tcp://') || host.startsWith('http://') || host.startsWith('https://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    const secure =
      settings.tlsVerify || Boolean(settings.certPath) || url.protocol === 'https:' || url.port === '2376';
    return {
      host: url.hostname,
      port: url.port || (secure ? '2376' : '2375'),
      protocol: secure ? 'https' : 'http',
      timeout: settings.timeoutMs,
      ...(secure ? tls() : {}),
    };
  }
  throw ApplicationFailure.nonRetryable(
    `docker.host (DOCKER_HOST) must be unix:///path/docker.sock or tcp://host:port, got ${JSON.stringify(host)}`,
    FailureType.NotConfigured,
  );
}

interface DockerError {
  statusCode?: number;
  message?: string;
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null ? (error as DockerError).statusCode : undefined;
}

/** Docker's nanosecond timestamps, as epoch ms (Date.parse wants at most milliseconds). */
function dockerTimeMs(value: string | undefined): number | undefined {
  if (!value || value === ZERO_TIME) return undefined;
  const ms = Date.parse(value.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? undefined : ms;
}

function toState(info: Docker.ContainerInspectInfo): ContainerState {
  const state = info.State;
  const started = state.StartedAt && state.StartedAt !== ZERO_TIME ? state.StartedAt : undefined;
  const finished = state.FinishedAt && state.FinishedAt !== ZERO_TIME ? state.FinishedAt : undefined;
  return {
    exists: true,
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config?.Image,
    status: state.Status,
    running: state.Running,
    ...(state.Health?.Status ? { health: state.Health.Status } : {}),
    restartCount: info.RestartCount,
    ...(started ? { startedAt: started } : {}),
    ...(finished ? { finishedAt: finished } : {}),
    exitCode: state.ExitCode,
  };
}

function isHealthy(state: ContainerState): boolean {
  return state.running && (state.health === undefined || state.health === 'healthy');
}

/**
 * Heartbeats every 2 s while a slow Docker call (a stop waits up to its timeout) runs. Without it a
 * restart longer than the heartbeat timeout would be retried while the first one is still stopping
 * the container, whose StartedAt is still the old one: the retry would restart it a second time.
 */
async function beating<T>(details: unknown, fn: () => Promise<T>): Promise<T> {
  heartbeat(details);
  const timer = setInterval(() => heartbeat(details), 2000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** Seconds beyond the stop timeout to wait for an earlier attempt's restart before concluding it never began. */
const EARLIER_RESTART_GRACE_S = 10;
const EARLIER_RESTART_POLL_MS = 250;
/** How long a container stopped by an earlier attempt is given to be started by that attempt's restart. */
const EARLIER_RESTART_SETTLE_MS = 3000;

/** What an earlier attempt of this activity said in its last heartbeat, if it was restarting this container. */
function earlierRestart(container: string): { waitingSince?: number } | undefined {
  const details: unknown = activityContext()?.info.heartbeatDetails;
  if (typeof details !== 'object' || details === null) return undefined;
  const { restarting, waitingSince } = details as { restarting?: unknown; waitingSince?: unknown };
  if (restarting !== container) return undefined;
  return typeof waitingSince === 'number' ? { waitingSince } : {};
}

/** Best-effort heartbeat: outside an activity (unit use) there is no context to beat. */
function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Not running inside an activity; nothing to report to.
  }
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export interface DockerIntegration {
  containerInspect: (input: StepInput<ContainerRef>) => Promise<ContainerState>;
  containerRestart: (input: StepInput<RestartParams>) => Promise<RestartResult | DryRunReport>;
  containerStart: (input: StepInput<ContainerRef>) => Promise<ContainerState | DryRunReport>;
  containerStop: (input: StepInput<RestartParams>) => Promise<ContainerState | DryRunReport>;
  containerFailover: (input: StepInput<FailoverParams>) => Promise<FailoverResult | DryRunReport>;
  containerWaitHealthy: (input: StepInput<WaitHealthyParams>) => Promise<WaitHealthyResult>;
  containerLogs: (input: StepInput<ContainerLogsParams>) => Promise<ContainerLogsResult>;
}

/** A log line longer than this is cut (bytes of the line as written). */
export const LOG_LINE_MAX_BYTES = 500;
/** The lines a container.logs step returns add up to at most this many bytes; older lines give way. */
export const LOG_TOTAL_MAX_BYTES = 16 * 1024;
/** Reading stops after this much from Docker (a runaway line); what was read so far is returned. */
const LOG_READ_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Splits Docker's log stream into lines, keeping the newest `tail` within the byte limits. Without a TTY
 * Docker multiplexes stdout and stderr into frames: one byte stream type (1 stdout, 2 stderr), three zero
 * bytes, a 4-byte big-endian length, then that many bytes. With a TTY the stream is the raw output.
 */
export class LogLines {
  private readonly kept: ContainerLogLine[] = [];
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of the line being read, per stream, up to the line limit, and whether it was cut. */
  private readonly partial = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  private readonly partialBytes = { stdout: 0, stderr: 0 };
  private readonly partialCut = { stdout: false, stderr: false };
  truncated = false;

  constructor(
    private readonly tty: boolean,
    private readonly tail: number,
    /** Secret values this worker knows: masked in every line (see log-masking.ts). */
    private readonly secretValues: readonly string[] = [],
  ) {}

  push(chunk: Buffer): void {
    if (this.tty) return this.text('stdout', chunk);
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 8) {
      const type = this.pending[0];
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const payload = this.pending.subarray(8, 8 + size);
      this.pending = this.pending.subarray(8 + size);
      // 0 would be stdin, which logs never carry; anything else is not a frame header at all.
      this.text(type === 2 ? 'stderr' : 'stdout', payload);
    }
  }

  /** The kept lines, oldest first, within the total byte limit (the newest win). */
  finish(): { lines: ContainerLogLine[]; truncated: boolean } {
    for (const stream of ['stdout', 'stderr'] as const)
      if (this.partialBytes[stream] > 0) this.endLine(stream);
    const lines: ContainerLogLine[] = [];
    let bytes = 0;
    for (let i = this.kept.length - 1; i >= 0; i--) {
      const line = this.kept[i] as ContainerLogLine;
      bytes += Buffer.byteLength(line.text) + 1;
      if (bytes > LOG_TOTAL_MAX_BYTES) {
        this.truncated = true;
        break;
      }
      lines.push(line);
    }
    return { lines: lines.reverse(), truncated: this.truncated };
  }

  private text(stream: 'stdout' | 'stderr', data: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = data.indexOf(0x0a, start);
      const end = newline === -1 ? data.length : newline;
      this.append(stream, data.subarray(start, end));
      if (newline === -1) return;
      this.endLine(stream);
      start = newline + 1;
    }
  }

  private append(stream: 'stdout' | 'stderr', bytes: Buffer): void {
    const room = LOG_LINE_MAX_BYTES - this.partialBytes[stream];
    if (bytes.length > room) this.partialCut[stream] = true;
    const taken = bytes.subarray(0, Math.max(0, room));
    if (taken.length === 0) return;
    this.partial[stream].push(taken);
    this.partialBytes[stream] += taken.length;
  }

  private endLine(stream: 'stdout' | 'stderr'): void {
    // A cut multi-byte character decodes as U+FFFD; a CRLF line loses its CR.
    const raw = Buffer.concat(this.partial[stream]).toString('utf8').replace(/\r$/, '');
    const cut = this.partialCut[stream];
    this.partial[stream] = [];
    this.partialBytes[stream] = 0;
    this.partialCut[stream] = false;
    if (cut) this.truncated = true;
    // Masked before escaping, so a secret with a control character in it still matches; escaped
    // here, so the history never holds a raw ESC or bidi override for a terminal to act on.
    const masked = maskLogLine(raw, this.secretValues, cut);
    this.kept.push({ stream, text: escapeControls(masked, { keepLineBreaks: true }) + (cut ? ' …' : '') });
    if (this.kept.length > this.tail) this.kept.shift();
  }
}

/** The promise's value, or undefined when the deadline (epoch ms) comes first; a late failure is dropped. */
async function beforeDeadline<T>(promise: Promise<T>, deadline: number): Promise<{ value: T } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  promise.catch(() => undefined);
  try {
    return await Promise.race([
      promise.then((value) => ({ value })),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A container name or id that is safe to put into a Docker API path, or BadParameters (nothing is called). */
export function containerName(value: unknown, name = 'container'): string {
  const text = requireString(value, name);
  if (!isContainerName(text))
    throw badParameters(
      `${name} ${JSON.stringify(text)} is not ${CONTAINER_NAME_RULE}; nothing was sent to Docker`,
    );
  return text;
}

/**
 * `secretValues` lists the secret values this worker knows (secrets.ts), read at each container.logs
 * step so a rotated secret is masked without a restart.
 */
export function createDockerActivities(
  settings: Config['docker'],
  egress?: EgressPolicy,
  secretValues: () => readonly string[] = () => [],
): DockerIntegration {
  const hostLabel = settings.hostName ?? settings.host ?? 'unix:///var/run/docker.sock';
  const clients = new Map<number, Docker>();
  /**
   * A client whose request timeout fits the call: a stop or restart legitimately takes the stop
   * timeout plus the usual request time, so one fixed timeout would either cut it or be too lax.
   */
  const client = (extraMs = 0): Docker => {
    const timeout = settings.timeoutMs + extraMs;
    let docker = clients.get(timeout);
    if (!docker) {
      docker = new Docker({ ...dockerOptions(settings), timeout });
      clients.set(timeout, docker);
    }
    return docker;
  };

  const notFound = (container: string): ApplicationFailure =>
    ApplicationFailure.nonRetryable(
      `container ${JSON.stringify(container)} does not exist on Docker host ${hostLabel}`,
      FailureType.ContainerNotFound,
      { container, host: hostLabel },
    );

  const abortSignal = (): AbortSignal | undefined => activityContext()?.cancellationSignal;

  /** Inspects a container; undefined when it does not exist. */
  const tryInspect = async (container: string): Promise<ContainerState | undefined> => {
    try {
      const signal = abortSignal();
      return toState(
        await client()
          .getContainer(container)
          .inspect(signal ? { abortSignal: signal } : {}),
      );
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  };

  const inspectOrFail = async (container: string): Promise<ContainerState> => {
    const state = await tryInspect(container);
    if (!state) throw notFound(container);
    return state;
  };

  /** Runs a start/stop/restart call; 304 (already in that state) is success, 404 is ContainerNotFound. */
  const mutate = async (container: string, call: () => Promise<unknown>): Promise<void> => {
    try {
      await call();
    } catch (error) {
      const status = statusOf(error);
      if (status === 304) return;
      if (status === 404) throw notFound(container);
      throw error;
    }
  };

  const stopTimeoutOf = (params: { stopTimeout?: number }): number =>
    optionalPositiveInt(params.stopTimeout, 'stopTimeout') ?? DEFAULT_STOP_TIMEOUT_S;

  const dryRun = (wouldDo: string, observed: unknown): DryRunReport => ({ dryRun: true, wouldDo, observed });

  /**
   * Observes a container until it is healthy or the deadline passes. Healthy means: Docker's health
   * check says healthy when the container has one; else the HTTP probe answers 2xx when a URL is given;
   * else the container is running.
   */
  const watch = async (
    container: string,
    options: { url?: string; intervalMs: number; deadline: number },
  ): Promise<WaitHealthyResult> => {
    const ctx = activityContext();
    let observations = 0;
    let previous: ContainerState | undefined;
    for (;;) {
      // Past the first look, an answer that comes after the deadline is not waited for: on a busy
      // host one slow inspect would otherwise run the attempt into its timeout, and the step would
      // fail as timed out instead of with the last state seen.
      const answer = previous
        ? await beforeDeadline(tryInspect(container), options.deadline)
        : { value: await tryInspect(container) };
      if (!answer)
        return { healthy: false, observations, last: previous ?? { exists: false, running: false } };
      const state = answer.value;
      // A container can vanish briefly while it is being recreated; only missing from the start is fatal.
      if (!state && observations === 0) throw notFound(container);
      observations += 1;
      const last: ContainerState = state ?? { exists: false, running: false };
      previous = last;
      let healthy = isHealthy(last);
      let probe: string | undefined;
      if (healthy && last.health === undefined && options.url) {
        const result = await httpProbe({
          url: options.url,
          timeoutMs: Math.max(100, Math.min(5000, options.intervalMs * 2, options.deadline - Date.now())),
        });
        healthy = result.ok;
        probe = result.ok ? `HTTP ${result.status}` : (result.error ?? `HTTP ${result.status}`);
      }
      heartbeat({ observations, last, probe });
      if (healthy) return { healthy: true, observations, last };
      if (Date.now() + options.intervalMs >= options.deadline) return { healthy: false, observations, last };
      if (ctx) await ctx.sleep(options.intervalMs);
      else await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
    }
  };

  /**
   * Polls until an earlier attempt's restart shows (started since the step began), the container is
   * left stopped since the step began, or the deadline passes; returns the last state seen.
   */
  const awaitEarlierRestart = async (
    container: string,
    sinceStep: (time: string | undefined) => boolean,
    deadline: number,
  ): Promise<ContainerState> => {
    for (;;) {
      const state = await inspectOrFail(container);
      if (state.running && sinceStep(state.startedAt)) return state;
      const stoppedSinceStep = !state.running && sinceStep(state.finishedAt);
      // A stopped container is given a moment: the earlier restart's start may be just behind its stop.
      if (stoppedSinceStep && Date.now() - (dockerTimeMs(state.finishedAt) ?? 0) > EARLIER_RESTART_SETTLE_MS)
        return state;
      if (Date.now() + EARLIER_RESTART_POLL_MS >= deadline) return state;
      await new Promise((resolve) => setTimeout(resolve, EARLIER_RESTART_POLL_MS));
    }
  };

  /** Just before this attempt's own timeout, so the step fails with what was seen, not a bare timeout. */
  const attemptDeadline = (): number => {
    const info = activityContext()?.info;
    const started = Date.now();
    if (!info) return started + 60_000;
    let budget = info.startToCloseTimeoutMs;
    if (info.scheduleToCloseTimeoutMs > 0) {
      const left = info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs - started;
      budget = Math.min(budget, left);
    }
    // Room to report before Temporal's timeout fires; a busy host can take most of a second to return.
    const margin = Math.min(5000, Math.max(1000, budget * 0.1));
    return started + budget - margin;
  };

  return {
    async containerInspect({ params }) {
      const container = containerName(params?.container);
      return (await tryInspect(container)) ?? { exists: false, running: false };
    },

    async containerRestart({ params, ctx }) {
      const container = containerName(params?.container);
      const t = stopTimeoutOf(params);
      const before = await inspectOrFail(container);
      if (ctx.dryRun)
        return dryRun(`restart container ${container} on host ${hostLabel} (stop timeout ${t}s)`, before);
      // At least once, never twice. If the container started after this step began, an earlier attempt
      // (or Docker's own restart policy) already restarted it; a second restart would only cut it off again.
      const stepStarted = Date.parse(ctx.stepStartedAt);
      const sinceStep = (time: string | undefined): boolean => {
        const ms = dockerTimeMs(time);
        return ms !== undefined && !Number.isNaN(stepStarted) && ms > stepStarted;
      };
      if (before.running && sinceStep(before.startedAt))
        return { container, restarted: false, startedAt: before.startedAt };
      // An earlier attempt that Temporal gave up on (timed out, or its worker died) may have asked Docker
      // for a restart that is still under way: Docker finishes it whoever asked. Its heartbeat says so,
      // or the container stopped after the step began. Wait for that restart instead of adding a second.
      const earlier = earlierRestart(container);
      if (earlier || sinceStep(before.finishedAt)) {
        const waitingSince = earlier?.waitingSince ?? Date.now();
        const grace = (t + EARLIER_RESTART_GRACE_S) * 1000;
        const settled = await beating({ restarting: container, waitingSince }, () =>
          awaitEarlierRestart(container, sinceStep, Math.min(waitingSince + grace, attemptDeadline())),
        );
        if (settled.running && sinceStep(settled.startedAt))
          return { container, restarted: false, startedAt: settled.startedAt };
        if (!settled.running && sinceStep(settled.finishedAt)) {
          // Stopped by the earlier attempt and not started again: finish its restart with a start.
          await mutate(container, () => client().getContainer(container).start());
          const after = await inspectOrFail(container);
          heartbeat({ restarted: container });
          return { container, restarted: true, startedAt: after.startedAt };
        }
        if (Date.now() < waitingSince + grace)
          throw ApplicationFailure.retryable(
            `an earlier attempt's restart of container ${container} on host ${hostLabel} is still under way; waiting for it rather than restarting twice`,
            FailureType.RestartInProgress,
          );
        // Nothing happened within the grace: the earlier attempt never reached Docker. Restart now.
      }
      await beating({ restarting: container, waitingSince: Date.now() }, () =>
        mutate(container, () =>
          client(t * 1000)
            .getContainer(container)
            .restart({ t }),
        ),
      );
      const after = await inspectOrFail(container);
      heartbeat({ restarted: container });
      return { container, restarted: true, startedAt: after.startedAt };
    },

    async containerStart({ params, ctx }) {
      const container = containerName(params?.container);
      const before = await inspectOrFail(container);
      if (ctx.dryRun) return dryRun(`start container ${container} on host ${hostLabel}`, before);
      await mutate(container, () => client().getContainer(container).start());
      return inspectOrFail(container);
    },

    async containerStop({ params, ctx }) {
      const container = containerName(params?.container);
      const t = stopTimeoutOf(params);
      const before = await inspectOrFail(container);
      if (ctx.dryRun)
        return dryRun(`stop container ${container} on host ${hostLabel} (stop timeout ${t}s)`, before);
      await beating({ stopping: container }, () =>
        mutate(container, () =>
          client(t * 1000)
            .getContainer(container)
            .stop({ t }),
        ),
      );
      return inspectOrFail(container);
    },

    async containerFailover({ params, ctx }) {
      const primary = containerName(params?.primary, 'primary');
      const standby = containerName(params?.standby, 'standby');
      if (primary === standby) throw badParameters('primary and standby must be different containers');
      const t = stopTimeoutOf(params);
      const [p, s] = await Promise.all([inspectOrFail(primary), inspectOrFail(standby)]);
      if (ctx.dryRun) {
        return dryRun(
          `fail over on host ${hostLabel}: stop container ${primary} (stop timeout ${t}s), start container ${standby}`,
          { primary: p, standby: s },
        );
      }
      // Stop first: starting the standby while the primary still runs could leave two primaries.
      await beating({ stopping: primary }, () =>
        mutate(primary, () =>
          client(t * 1000)
            .getContainer(primary)
            .stop({ t }),
        ),
      );
      await beating({ starting: standby }, () =>
        mutate(standby, () => client().getContainer(standby).start()),
      );
      const verified = await watch(standby, { intervalMs: 500, deadline: attemptDeadline() });
      const primaryAfter = await inspectOrFail(primary);
      if (!verified.healthy) {
        // Retryable: stop/start are idempotent, so another attempt picks up where this one stopped.
        throw ApplicationFailure.retryable(
          `standby container ${standby} on host ${hostLabel} is not ${verified.last.running ? 'healthy' : 'running'} after failover (status ${verified.last.status ?? 'unknown'}${verified.last.health ? `, health ${verified.last.health}` : ''})`,
          FailureType.ContainerNotHealthy,
          { primary: primaryAfter, standby: verified.last },
        );
      }
      return { primary: primaryAfter, standby: verified.last };
    },

    async containerLogs({ params }) {
      const container = containerName(params?.container);
      const tail = optionalPositiveInt(params.tail, 'tail') ?? CONTAINER_LOGS_DEFAULT_TAIL;
      if (tail < 1 || tail > CONTAINER_LOGS_MAX_TAIL)
        throw badParameters(`tail must be from 1 to ${CONTAINER_LOGS_MAX_TAIL}, got ${tail}`);
      let since: number | undefined;
      if (params.since !== undefined && params.since !== '') {
        const ms =
          typeof params.since === 'string' || typeof params.since === 'number'
            ? parseDuration(params.since)
            : undefined;
        if (ms === undefined)
          throw badParameters(`since must be a duration such as 10m, got ${JSON.stringify(params.since)}`);
        since = Math.floor((Date.now() - ms) / 1000);
      }
      let tty: boolean;
      try {
        tty = (await client().getContainer(container).inspect()).Config?.Tty === true;
      } catch (error) {
        if (statusOf(error) === 404) throw notFound(container);
        throw error;
      }
      const signal = abortSignal();
      // Streamed rather than buffered by dockerode, so a runaway line costs bounded memory.
      const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
        client().modem.dial(
          {
            path: `/containers/${encodeURIComponent(container)}/logs?`,
            method: 'GET',
            isStream: true,
            statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
            options: {
              stdout: true,
              stderr: true,
              follow: false,
              tail,
              ...(since !== undefined ? { since } : {}),
            },
            ...(signal ? { abortSignal: signal } : {}),
          },
          (error, data) => (error ? reject(error) : resolve(data as NodeJS.ReadableStream)),
        ),
      ).catch((error: unknown) => {
        throw statusOf(error) === 404 ? notFound(container) : error;
      });
      const lines = new LogLines(tty, tail, secretValues());
      let read = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        read += chunk.length;
        lines.push(chunk);
        if (read > LOG_READ_MAX_BYTES) {
          lines.truncated = true;
          (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
          break;
        }
      }
      return { container, ...lines.finish() };
    },

    async containerWaitHealthy({ params }) {
      const container = containerName(params?.container);
      const intervalMs = optionalPositiveInt(params.intervalMs, 'intervalMs') ?? DEFAULT_INTERVAL_MS;
      if (intervalMs < 50) throw badParameters('intervalMs must be at least 50');
      // An empty url (a runbook variable with nothing in it) means no HTTP check.
      const url =
        params.url === undefined || params.url === '' ? undefined : requireString(params.url, 'url');
      if (url !== undefined && egress) egress.checkUrl('container.wait-healthy', url);
      const deadline = attemptDeadline();
      const result = await watch(container, { intervalMs, deadline, ...(url ? { url } : {}) }).catch(
        (error: unknown) => {
          // Cancelled while an inspect was in flight: Docker's call ends with an AbortError, but what
          // Temporal must hear is that the activity honoured the cancellation.
          if (activityContext()?.cancellationSignal.aborted)
            throw new CancelledFailure(`waiting for container ${container} to become healthy was cancelled`);
          throw error;
        },
      );
      if (result.healthy) return result;
      const last = result.last;
      throw ApplicationFailure.create({
        message: `container ${container} on host ${hostLabel} did not become healthy after ${result.observations} observations (last: ${last.exists ? `status ${last.status ?? 'unknown'}${last.health ? `, health ${last.health}` : ''}` : 'missing'})`,
        type: FailureType.ContainerNotHealthy,
        nonRetryable: true,
        details: [result],
      });
    },
  };
}
