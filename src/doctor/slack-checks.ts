// The doctor's Slack checks: the bot token is valid, and the channels the runbooks post to exist and
// are visible to the bot. Slack's own retries are off: a doctor answers in seconds.
import { ErrorCode, WebClient } from '@slack/web-api';
import type { Config } from '../config';
import { slackClientLogger } from '../log';
import { withTimeout } from '../with-timeout';
import {
  CHECK_TIMEOUT_MS,
  ok,
  problem,
  warning,
  why,
  withoutCredentials,
  type CheckResult,
} from './check-result';
import type { RunbookNeeds } from './runbook-checks';

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
