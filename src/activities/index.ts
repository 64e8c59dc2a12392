// All activities the worker registers, built from the configuration. Clients are created lazily, so a
// worker without Slack or SMTP settings starts fine and only a step that needs them fails, saying
// which setting to add.
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import { lazyClient } from '../temporal-connection';
import { createGuardActivities } from './guards';
import { createDockerActivities } from './docker';
import { createEmailActivities } from './email';
import { createEgressPolicy } from './egress';
import { createHttpCall } from './http-call';
import { httpProbe, tcpProbe } from './probes';
import { createSecretStore } from './secrets';
import { createPrometheusActivities } from './prometheus';
import { createSlackActivities } from './slack';
import type { ReboundActivities } from './types';
import { badParameters } from './errors';
import { writeOutbox } from './outbox';

export interface ActivityOptions {
  /**
   * `rebound dev` only: where notifications go when their channel (Slack, SMTP) is not configured,
   * instead of failing. Absent, a missing channel fails the step saying which setting to add.
   */
  outboxFile?: string;
}

function incidentLink(publicUrl: string | undefined, incidentId: string): string | undefined {
  return publicUrl
    ? `${publicUrl.replace(/\/+$/, '')}/incidents/${encodeURIComponent(incidentId)}`
    : undefined;
}

/** `client` reaches the guard workflows; by default one is made from the configuration on first use. */
export function createActivities(
  config: Config,
  client?: Client,
  options: ActivityOptions = {},
): ReboundActivities {
  const outbox = options.outboxFile;
  let guardClient = client;
  const guards = createGuardActivities(config, () => (guardClient ??= lazyClient(config)));
  // Where probes and calls may go, checked after templating; the configured Prometheus always may.
  const egress = createEgressPolicy(config.egress.allow, [config.prometheus.url]);
  const secrets = createSecretStore({ file: config.secrets.file });
  const docker = createDockerActivities(config.docker, egress, () => secrets.values());
  const prometheus = createPrometheusActivities(config.prometheus, egress);
  const slack = createSlackActivities({
    token: config.slack.token,
    apiUrl: config.slack.apiUrl,
    publicUrl: config.receiver.publicUrl,
  });
  const email = createEmailActivities({
    url: config.smtp.url,
    from: config.smtp.from,
    timeoutMs: config.smtp.timeoutMs,
    publicUrl: config.receiver.publicUrl,
  });
  return {
    ...docker,
    probeHttp: async ({ params }) => {
      egress.checkUrl('probe.http', params?.url);
      return await httpProbe(params);
    },
    probeTcp: async ({ params }) => {
      // tcpProbe checks the port's form; the policy needs a number to compare.
      if (typeof params?.host === 'string' && typeof params.port === 'number')
        egress.checkHost('probe.tcp', params.host, params.port);
      return await tcpProbe(params);
    },
    ...prometheus,
    httpCall: createHttpCall({ egress, secrets }),
    notify: (input) => {
      const channel = input.params?.channel;
      const unconfigured =
        (channel === 'slack' && !config.slack.token) || (channel === 'email' && !config.smtp.url);
      if (outbox && unconfigured && channel) {
        const link = incidentLink(config.receiver.publicUrl, input.ctx.incidentId);
        const id = writeOutbox(outbox, {
          at: new Date().toISOString(),
          channel,
          kind: 'notify',
          ...(input.params.to !== undefined ? { to: input.params.to } : {}),
          ...(input.params.subject ? { subject: input.params.subject } : {}),
          text: String(input.params.text ?? ''),
          incidentId: input.ctx.incidentId,
          stepId: input.ctx.stepId,
          ...(link ? { link } : {}),
        });
        return Promise.resolve({ channel, id, outbox: true });
      }
      switch (channel) {
        case 'slack':
          return slack.notify(input);
        case 'email':
          return email.notify(input);
        default:
          return Promise.reject(
            badParameters(
              `notify channel must be slack or email, got ${JSON.stringify(input.params?.channel)}`,
            ),
          );
      }
    },
    slackIncidentMessage: (input) => {
      if (outbox && !config.slack.token) {
        const link = incidentLink(config.receiver.publicUrl, input.state.incidentId);
        writeOutbox(outbox, {
          at: new Date().toISOString(),
          channel: 'slack',
          kind: 'incident-message',
          to: input.channel,
          text:
            input.threadText ??
            `Incident ${input.state.incidentId}: ${input.state.status}, phase ${input.state.phase}`,
          incidentId: input.state.incidentId,
          ...(link ? { link } : {}),
        });
        return Promise.resolve({ ts: input.ts ?? `outbox-${Date.now()}`, channel: input.channel });
      }
      return slack.slackIncidentMessage(input);
    },
    ...guards,
  };
}
