// The Slack Web API client as Rebound uses it, for the activity and for the receiver's interaction
// handler alike: it never retries on its own, so a retried post cannot appear twice.
import { WebClient } from '@slack/web-api';
import { slackClientLogger } from '../log';

export interface SlackSettings {
  token?: string;
  apiUrl: string;
  publicUrl?: string;
  timeoutMs?: number;
}

/** A Web API client that never retries on its own (Temporal or the caller decides about retrying). */
export function createSlackClient(settings: SlackSettings & { token: string }): WebClient {
  return new WebClient(settings.token, {
    slackApiUrl: settings.apiUrl.endsWith('/') ? settings.apiUrl : `${settings.apiUrl}/`,
    // Temporal retries the activity; the client's own retries (about 30 minutes) could post twice.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: settings.timeoutMs ?? 15_000,
    // Through our logger (stderr, escaped): the client's own writes would mix into a command's output.
    logger: slackClientLogger(),
  });
}
