// All activities the worker registers, built from the configuration. Clients are created lazily, so a
// worker without Slack or SMTP settings starts fine and only a step that needs them fails, saying
// which setting to add.
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import { lazyClient } from '../temporal-connection';
import { createSafetyActivities } from './safety';
import { createDockerActivities } from './docker';
import { createEmailActivities } from './email';
import { httpCall } from './http-call';
import { httpProbe, tcpProbe } from './probes';
import { createPrometheusActivities } from './prometheus';
import { createSlackActivities } from './slack';
import type { ReboundActivities } from './types';
import { badParameters } from './errors';

/** `client` reaches the safety workflows; by default one is made from the configuration on first use. */
export function createActivities(config: Config, client?: Client): ReboundActivities {
  let safetyClient = client;
  const safety = createSafetyActivities(config, () => (safetyClient ??= lazyClient(config)));
  const docker = createDockerActivities(config.docker);
  const prometheus = createPrometheusActivities(config.prometheus);
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
    probeHttp: ({ params }) => httpProbe(params),
    probeTcp: ({ params }) => tcpProbe(params),
    ...prometheus,
    httpCall,
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
