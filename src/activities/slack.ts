// Slack: the incident message (created once, then updated in place), step results in its thread, and
// notify steps. Temporal owns retrying, so the client never retries on its own; every post carries a
// metadata key so a retried attempt can find what an earlier attempt already posted.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorCode, type KnownBlock, type WebClient } from '@slack/web-api';
import { escapeMrkdwn, incidentBlocks, TEXT_LIMIT, truncate } from '../slack/blocks';
import { createSlackClient, type SlackSettings } from '../slack/client';
import { badParameters, errorMessage, FailureType, notConfigured, requireString } from './errors';
import type {
  IncidentMessageInput,
  IncidentMessageResult,
  NotifyParams,
  NotifyResult,
  StepInput,
} from './types';

export const SLACK_EVENT_TYPE = 'rebound_message';

/** A stable key for one message: the same incident and purpose give the same key on every attempt. */
export function messageKey(incidentId: string, purpose: string): string {
  return createHash('sha256').update(`${incidentId}\n${purpose}`).digest('hex').slice(0, 32);
}

function attempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

/** Slack errors that retrying the same call cannot fix. */
const PERMANENT_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'msg_too_long',
  'no_text',
  'invalid_blocks',
  'invalid_blocks_format',
  'invalid_arguments',
  'invalid_metadata_format',
  'invalid_metadata_schema',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
  'thread_not_found',
]);

/** Maps a Slack client error to a Temporal failure: rate limits and outages retry, the rest do not. */
export function slackFailure(error: unknown, method: string): ApplicationFailure {
  const e = error as { code?: string; retryAfter?: number; data?: { error?: string }; statusCode?: number };
  if (e.code === ErrorCode.RateLimitedError) {
    const seconds = typeof e.retryAfter === 'number' && e.retryAfter > 0 ? e.retryAfter : 1;
    return ApplicationFailure.create({
      message: `Slack rate limited ${method}; retry after ${seconds}s`,
      type: 'SlackRateLimited',
      nonRetryable: false,
      nextRetryDelay: seconds * 1000,
    });
  }
  if (e.code === ErrorCode.PlatformError) {
    const code = e.data?.error ?? 'unknown_error';
    return ApplicationFailure.create({
      message: `Slack ${method} failed: ${code}`,
      type: FailureType.SlackError,
      nonRetryable: PERMANENT_ERRORS.has(code),
      details: [{ error: code }],
    });
  }
  if (e.code === ErrorCode.HTTPError) {
    return ApplicationFailure.create({
      message: `Slack ${method} answered HTTP ${e.statusCode}`,
      type: FailureType.SlackError,
      nonRetryable: typeof e.statusCode === 'number' && e.statusCode < 500,
    });
  }
  return ApplicationFailure.retryable(
    `Slack ${method} failed: ${errorMessage(error)}`,
    FailureType.SlackError,
  );
}

interface FoundMessage {
  ts?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

export interface SlackIntegration {
  notify: (input: StepInput<NotifyParams>) => Promise<NotifyResult>;
  slackIncidentMessage: (input: IncidentMessageInput) => Promise<IncidentMessageResult>;
}

export function createSlackActivities(settings: SlackSettings): SlackIntegration {
  let client: WebClient | undefined;
  const slack = (): WebClient => {
    if (!settings.token) throw notConfigured('Slack', 'SLACK_BOT_TOKEN (slack.token)');
    client ??= createSlackClient({ ...settings, token: settings.token });
    return client;
  };

  const call = async <T>(method: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof ApplicationFailure) throw error;
      throw slackFailure(error, method);
    }
  };

  const hasKey = (message: FoundMessage, key: string): boolean =>
    message.metadata?.event_type === SLACK_EVENT_TYPE && message.metadata.event_payload?.key === key;

  /** Looks for a message an earlier attempt posted, by its metadata key. */
  const findPosted = async (
    channel: string,
    key: string,
    where: { threadTs?: string; oldest?: string },
  ): Promise<string | undefined> => {
    let cursor: string | undefined;
    // A few pages are plenty: we only look back to when the step began.
    for (let page = 0; page < 5; page += 1) {
      const answer = where.threadTs
        ? await call('conversations.replies', () =>
            slack().conversations.replies({
              channel,
              ts: where.threadTs as string,
              include_all_metadata: true,
              limit: 200,
              ...(cursor ? { cursor } : {}),
            }),
          )
        : await call('conversations.history', () =>
            slack().conversations.history({
              channel,
              include_all_metadata: true,
              limit: 200,
              ...(where.oldest ? { oldest: where.oldest } : {}),
              ...(cursor ? { cursor } : {}),
            }),
          );
      const found = answer.messages?.find((m) => hasKey(m, key));
      if (found?.ts) return found.ts;
      cursor = answer.response_metadata?.next_cursor || undefined;
      if (!cursor) return undefined;
    }
    return undefined;
  };

  /** Posts once: on a retried attempt it first looks for the message the earlier attempt may have posted. */
  const postOnce = async (args: {
    channel: string;
    text: string;
    blocks?: KnownBlock[];
    threadTs?: string;
    key: string;
    oldest?: string;
  }): Promise<{ ts: string; channel: string; duplicate: boolean }> => {
    if (attempt() > 1) {
      const ts = await findPosted(args.channel, args.key, { threadTs: args.threadTs, oldest: args.oldest });
      if (ts) return { ts, channel: args.channel, duplicate: true };
    }
    const answer = await call('chat.postMessage', () =>
      slack().chat.postMessage({
        channel: args.channel,
        text: args.text,
        ...(args.blocks ? { blocks: args.blocks } : {}),
        ...(args.threadTs ? { thread_ts: args.threadTs } : {}),
        link_names: false,
        unfurl_links: false,
        unfurl_media: false,
        metadata: { event_type: SLACK_EVENT_TYPE, event_payload: { key: args.key } },
      }),
    );
    if (!answer.ts)
      throw ApplicationFailure.retryable('Slack chat.postMessage returned no ts', FailureType.SlackError);
    return { ts: answer.ts, channel: answer.channel ?? args.channel, duplicate: false };
  };

  return {
    async slackIncidentMessage(input) {
      const channel = requireString(input?.channel, 'channel');
      if (!input.state || typeof input.state !== 'object') throw badParameters('state is required');
      const { text, blocks } = incidentBlocks(input.state, settings.publicUrl);
      const incidentId = input.state.incidentId;
      let ts = input.ts;
      let channelId = channel;
      if (ts) {
        await call('chat.update', () =>
          slack().chat.update({ channel, ts: ts as string, text, blocks, link_names: false }),
        );
      } else {
        const posted = await postOnce({
          channel,
          text,
          blocks,
          key: messageKey(incidentId, 'incident-message'),
        });
        ts = posted.ts;
        channelId = posted.channel;
        // The earlier attempt's message may show an older state: bring it up to date.
        if (posted.duplicate)
          await call('chat.update', () =>
            slack().chat.update({ channel: channelId, ts: posted.ts, text, blocks, link_names: false }),
          );
      }
      if (input.threadText) {
        const purpose =
          input.threadKey ?? `thread:${createHash('sha256').update(input.threadText).digest('hex')}`;
        await postOnce({
          channel: channelId,
          threadTs: ts,
          text: truncate(escapeMrkdwn(input.threadText), TEXT_LIMIT),
          key: messageKey(incidentId, purpose),
        });
      }
      return { ts, channel: channelId };
    },

    async notify({ params, ctx }) {
      if (params?.channel !== 'slack')
        throw badParameters(
          `the Slack integration cannot deliver to channel ${JSON.stringify(params?.channel)}`,
        );
      const to = Array.isArray(params.to) ? params.to[0] : params.to;
      const channel = requireString(to, 'to (the Slack channel)');
      const text = requireString(params.text, 'text');
      const subject = params.subject ? `*${escapeMrkdwn(params.subject)}*\n` : '';
      // Look back a little before the step began, in case the Slack and worker clocks differ.
      const startedMs = Date.parse(ctx.stepStartedAt);
      const oldest = Number.isNaN(startedMs) ? undefined : ((startedMs - 60_000) / 1000).toFixed(6);
      const posted = await postOnce({
        channel,
        text: truncate(subject + escapeMrkdwn(text), TEXT_LIMIT),
        key: messageKey(ctx.incidentId, `notify:${ctx.stepId}`),
        ...(oldest ? { oldest } : {}),
      });
      return { channel: 'slack', id: posted.ts, ...(posted.duplicate ? { duplicateSuppressed: true } : {}) };
    },
  };
}
