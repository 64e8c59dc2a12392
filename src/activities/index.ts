// All activities the worker registers, built from the configuration. Clients are created lazily, so a
// worker without Slack or SMTP settings starts fine and only a step that needs them fails, saying
// which setting to add.
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import { lazyClient } from '../temporal-connection';
import { createSafetyActivities } from './safety';
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

/** `client` reaches the safety workflows; by default one is made from the configuration on first use. */
export function createActivities(config: Config, client?: Client): ReboundActivities {
  let safetyClient = client;
  const safety = createSafetyActivities(config, () => (safetyClient ??= lazyClient(config)));
  // Where probes and calls may go, checked after templating; the configured Prometheus always may.
  const egress = createEgressPolicy(config.egress.allow, [config.prometheus.url]);
  const secrets = createSecretStore({ file: config.secrets.file });
  const docker = createDockerActivities(config.docker, egress);
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
      switch (input.params?.channel) {
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
    slackIncidentMessage: (input) => slack.slackIncidentMessage(input),
    ...safety,
  };
}
