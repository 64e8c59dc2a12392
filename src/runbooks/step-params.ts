// The `with` parameters of every step type, declared once: the validator checks runbooks against this
// table and the JSON Schema's per-type hints (editor completion) are generated from it.
import type { StepType } from '../runbook-lang/types';

export type ParamKind =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'duration'
  | 'string-list'
  | 'string-or-list'
  | 'status'
  | 'string-map'
  | 'headers'
  | 'any'
  | 'reminders';

export interface ParamSpec {
  kind: ParamKind;
  required?: boolean;
  allowed?: readonly string[];
  minimum?: number;
  /** Extra rules for literal values: Docker container names; PromQL, whose label values must be quoted with promql(). */
  check?: 'container' | 'promql';
  description: string;
}

export interface StepTypeSpec {
  description: string;
  params: Record<string, ParamSpec>;
}

const container: ParamSpec = {
  kind: 'string',
  required: true,
  check: 'container',
  description: 'Container name or id.',
};
const stopTimeout: ParamSpec = {
  kind: 'integer',
  minimum: 0,
  description: 'Seconds Docker waits for a clean stop before killing.',
};
const expectStatus: ParamSpec = {
  kind: 'status',
  description: 'Expected HTTP status code or list of codes (default 2xx).',
};
const timeoutMs: ParamSpec = { kind: 'integer', minimum: 1, description: 'Request timeout in milliseconds.' };
/** Mutating container steps may name several containers; each is a target the safety guards count. */
const containers: ParamSpec = {
  kind: 'string-or-list',
  required: true,
  check: 'container',
  description: 'Container name or id, or a list of them (each one is a target; see maxTargets).',
};
const maxTargets: ParamSpec = {
  kind: 'integer',
  minimum: 1,
  description: 'Most targets this step may touch (default 1); a wider selection fails before acting.',
};

export const STEP_TYPE_SPECS: Record<StepType, StepTypeSpec> = {
  'container.inspect': {
    description: 'Observe a container: running, health, restarts.',
    params: { container },
  },
  'container.restart': {
    description: 'Restart a container (mutating).',
    params: { container: containers, stopTimeout, maxTargets },
  },
  'container.start': {
    description: 'Start a stopped container (mutating).',
    params: { container: containers, maxTargets },
  },
  'container.stop': {
    description: 'Stop a container (mutating).',
    params: { container: containers, stopTimeout, maxTargets },
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
  },
  'container.wait-healthy': {
    description: 'Wait until a container is running and healthy (bounded by the step timeout).',
    params: {
      container,
      url: { kind: 'string', description: 'HTTP URL to probe when the container has no health check.' },
      intervalMs: { kind: 'integer', minimum: 1, description: 'Milliseconds between observations.' },
    },
  },
  'probe.http': {
    description: 'Probe an HTTP endpoint.',
    params: {
      url: { kind: 'string', required: true, description: 'URL to request.' },
      method: { kind: 'string', description: 'HTTP method (default GET).' },
      expectStatus,
      bodyMatch: { kind: 'string', description: 'Regular expression the body must match.' },
      timeoutMs,
    },
  },
  'probe.tcp': {
    description: 'Open a TCP connection.',
    params: {
      host: { kind: 'string', required: true, description: 'Host name or address.' },
      port: { kind: 'integer', required: true, minimum: 1, description: 'TCP port.' },
      timeoutMs,
    },
  },
  'prometheus.query': {
    description: 'Run an instant PromQL query.',
    params: {
      query: {
        kind: 'string',
        required: true,
        check: 'promql',
        description:
          'PromQL expression; put label values in with {{ promql(labels.x) }} (a quoted PromQL string).',
      },
      url: { kind: 'string', description: 'Prometheus base URL (default: the configured prometheus.url).' },
    },
  },
  'impact.assess': {
    description: 'Count affected targets and services through PromQL.',
    params: {
      query: {
        kind: 'string',
        check: 'promql',
        description:
          'PromQL returning one series per affected target; label values with {{ promql(labels.x) }}.',
      },
      totalQuery: {
        kind: 'string',
        check: 'promql',
        description:
          'PromQL returning one series per target in scope; label values with {{ promql(labels.x) }}.',
      },
      serviceLabel: { kind: 'string', description: 'Label naming the service (default job).' },
      url: { kind: 'string', description: 'Prometheus base URL (default: the configured prometheus.url).' },
    },
  },
  'http.call': {
    description: 'Call an HTTP API (mutating).',
    params: {
      url: { kind: 'string', required: true, description: 'URL to call.' },
      method: { kind: 'string', description: 'HTTP method (default POST).' },
      headers: {
        kind: 'headers',
        description:
          'Request headers; credentials are named, never written: Authorization: { secret: NAME, prefix: "Bearer " } (resolved on the worker).',
      },
      body: { kind: 'any', description: 'Request body; objects are sent as JSON.' },
      expectStatus,
      timeoutMs,
    },
  },
  notify: {
    description: 'Send a Slack message or an email.',
    params: {
      channel: {
        kind: 'string',
        required: true,
        allowed: ['slack', 'email'],
        description: 'slack or email.',
      },
      to: {
        kind: 'string-or-list',
        description: 'Slack channel, or email addresses (default: the runbook notifications).',
      },
      subject: { kind: 'string', description: 'Email subject.' },
      text: { kind: 'string', required: true, description: 'Message text; templates allowed.' },
    },
  },
  approval: {
    description: 'Wait for operators to approve before going on.',
    params: {
      approvers: { kind: 'string-list', description: 'Identities who may approve.' },
      groups: {
        kind: 'string-list',
        description: 'Groups (approvals.groups setting) whose members may approve.',
      },
      minApprovers: { kind: 'integer', minimum: 1, description: 'Distinct approvals needed (default 1).' },
      allowSelfApproval: {
        kind: 'boolean',
        description: 'May whoever triggered the incident approve (default false).',
      },
      prompt: { kind: 'string', description: 'What the approvers are asked.' },
      timeout: { kind: 'duration', description: 'How long to wait (default 30m).' },
      onTimeout: {
        kind: 'string',
        allowed: ['escalate', 'reject', 'proceed'],
        description: 'What happens when nobody decides in time: escalate (default), reject or proceed.',
      },
      reminders: {
        kind: 'reminders',
        description: 'Reminders while waiting: [{ after: 5m, channel: slack|email, to?: ... }].',
      },
    },
  },
  sleep: {
    description: 'Wait for a duration.',
    params: { duration: { kind: 'duration', required: true, description: 'How long to wait, e.g. 30s.' } },
  },
  escalate: {
    description: 'Mark the incident escalated and jump to the escalate phase.',
    params: { reason: { kind: 'string', required: true, description: 'Why the incident is escalated.' } },
  },
};

/** Step types whose `host` routes to a Docker host's task queue. */
export function isContainerStep(type: string): boolean {
  return type.startsWith('container.');
}
