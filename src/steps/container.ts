// The container step family: observe, restart, start, stop, fail over, wait until healthy and read the
// log of Docker containers. Carried out by src/activities/docker.ts on the step's Docker host.
import { defineSteps, type ParamSpec, type Targets } from './definition';
import { outputRecord, text } from './output-text';

const container: ParamSpec = {
  kind: 'string',
  required: true,
  check: 'container',
  description: 'Container name or id.',
};
/** Mutating container steps may name several containers; each is a target the guards count. */
const containers: ParamSpec = {
  kind: 'string-or-list',
  required: true,
  check: 'container',
  description: 'Container name or id, or a list of them (each one is a target; see maxTargets).',
};
const stopTimeout: ParamSpec = {
  kind: 'integer',
  minimum: 0,
  description: 'Seconds Docker waits for a clean stop before killing.',
};
const maxTargets: ParamSpec = {
  kind: 'integer',
  minimum: 1,
  description: 'Most targets this step may touch (default 1); a wider selection fails before acting.',
};

/** Most log lines one container.logs step returns; each is stored in the incident's history. */
export const CONTAINER_LOGS_MAX_TAIL = 1000;
export const CONTAINER_LOGS_DEFAULT_TAIL = 100;

/** A name or list of names, trimmed; anything else is an empty name (refused as "no target"). */
function names(value: unknown): string[] {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  return list.map((v) => (typeof v === 'string' ? v.trim() : ''));
}

const onHost = (host: string, name: string): string => (name ? `docker:${host}/${name}` : '');

/** Each named container is acted on by its own activity. */
function eachContainer(params: Readonly<Record<string, unknown>>, host: string): Targets {
  const list = names(params.container);
  return { resources: list.map((c) => onHost(host, c)), containers: list };
}

/** Log lines as `stream| text`, one per audit line. */
function logLines(output: unknown): string[] | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const { lines, truncated } = output as { lines?: unknown; truncated?: unknown };
  if (!Array.isArray(lines)) return undefined;
  const out = [`log: ${lines.length} line(s)${truncated === true ? ' (older lines or long lines cut)' : ''}`];
  for (const line of lines as unknown[]) {
    const { stream, text } = (line ?? {}) as { stream?: unknown; text?: unknown };
    out.push(`  ${stream === 'stderr' ? 'err' : 'out'}| ${typeof text === 'string' ? text : ''}`);
  }
  return out;
}

/** A container's state as containerInspect (and start, stop, wait-healthy) report it, in a few words. */
function describeContainer(state: Readonly<Record<string, unknown>>): string {
  if (state.exists === false) return 'no such container on the engine the worker uses';
  const status = state.running === true ? 'running' : text(state.status, 'not running');
  const exit =
    state.running !== true && typeof state.exitCode === 'number' ? ` (exit code ${state.exitCode})` : '';
  const health = typeof state.health === 'string' ? `, health ${state.health}` : '';
  return `${text(state.name, 'container')} is ${status}${exit}${health}`;
}

export const CONTAINER_STEPS = defineSteps({
  'container.inspect': {
    description: 'Observe a container: running, health, restarts.',
    params: { container },
    activity: 'containerInspect',
    check: true,
    dockerHost: true,
    dryRun: 'runs',
    summary: describeContainer,
  },
  'container.restart': {
    description: 'Restart a container (mutating).',
    params: { container: containers, stopTimeout, maxTargets },
    activity: 'containerRestart',
    mutates: true,
    targets: eachContainer,
    heartbeatMs: 30_000,
    dockerHost: true,
    dryRun: 'reports',
    summary: (out) =>
      out.restarted === false
        ? `${text(out.container, 'the container')} was already restarted by an earlier attempt`
        : `docker restart ${text(out.container, 'the container')}: started again`,
  },
  'container.start': {
    description: 'Start a stopped container (mutating).',
    params: { container: containers, maxTargets },
    activity: 'containerStart',
    mutates: true,
    targets: eachContainer,
    dockerHost: true,
    dryRun: 'reports',
    summary: describeContainer,
  },
  'container.stop': {
    description: 'Stop a container (mutating).',
    params: { container: containers, stopTimeout, maxTargets },
    activity: 'containerStop',
    mutates: true,
    targets: eachContainer,
    dockerHost: true,
    dryRun: 'reports',
    summary: describeContainer,
  },
  'container.failover': {
    description: 'Stop the primary container and start the standby (mutating).',
    params: {
      primary: {
        kind: 'string',
        required: true,
        check: 'container',
        description: 'Container that is failing.',
      },
      standby: {
        kind: 'string',
        required: true,
        check: 'container',
        description: 'Container that takes over.',
      },
      stopTimeout,
    },
    activity: 'containerFailover',
    mutates: true,
    // Both containers are targets, acted on together by one activity.
    targets: (params, host) => ({
      resources: names([params.primary, params.standby]).map((c) => onHost(host, c)),
      containers: [],
    }),
    defaultMaxTargets: 2,
    heartbeatMs: 30_000,
    dockerHost: true,
    dryRun: 'reports',
  },
  'container.wait-healthy': {
    description: 'Wait until a container is running and healthy (bounded by the step timeout).',
    params: {
      container,
      url: { kind: 'string', description: 'HTTP URL to probe when the container has no health check.' },
      intervalMs: { kind: 'integer', minimum: 1, description: 'Milliseconds between observations.' },
    },
    activity: 'containerWaitHealthy',
    heartbeatMs: 30_000,
    dockerHost: true,
    dryRun: 'runs',
    summary: (out) =>
      out.healthy === true
        ? `healthy again (${text(out.observations, '?')} observation${out.observations === 1 ? '' : 's'})`
        : `not healthy: ${describeContainer(outputRecord(out.last))}`,
  },
  'container.logs': {
    description: "Read the last lines of a container's log (stdout and stderr) into the incident's record.",
    params: {
      container,
      tail: {
        kind: 'integer',
        minimum: 1,
        maximum: CONTAINER_LOGS_MAX_TAIL,
        description: `How many of the newest lines (default ${CONTAINER_LOGS_DEFAULT_TAIL}, at most ${CONTAINER_LOGS_MAX_TAIL}).`,
      },
      since: {
        kind: 'duration',
        description: 'Only lines written in this last stretch of time, e.g. 10m (default: any age).',
      },
    },
    activity: 'containerLogs',
    dockerHost: true,
    dryRun: 'runs',
    auditLines: logLines,
  },
});
