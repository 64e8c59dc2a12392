// Slack interactivity: the Approve / Reject buttons of the incident message. Every request is
// checked against Slack's signature (v0, HMAC-SHA256 with the signing secret) and its age; the Slack
// user is mapped to a Rebound identity through slack.users; the message is then updated with
// chat.update through the bot token. We never post to the payload's response_url: it is a URL from
// the request, and not following it means no request forgery can be steered through us.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { WebClient } from '@slack/web-api';
import { escapeMrkdwn, incidentBlocks } from '../slack/blocks';
import { createSlackClient } from '../slack/client';
import { ApprovalError, applyDecision, type DecisionResult } from '../decisions';
import type { Config } from '../config';
import { logger } from '../log';
import { HttpError, sendJson } from './http';
import type { RouteModule } from './index';

const log = logger('slack');
const BODY_LIMIT = 64 * 1024;
/** Slack's own advice: refuse requests more than five minutes old (replays). */
export const MAX_SIGNATURE_AGE_S = 300;
/** Slack gives an interaction three seconds; answer before that even when Temporal is slow. */
const DECISION_BUDGET_MS = 2_500;
/** How long a decision Temporal has not confirmed in time keeps trying in the background. */
const DECISION_TIMEOUT_MS = 30_000;

function channelOf(interaction: Interaction): string | undefined {
  return interaction.container?.channel_id ?? interaction.channel?.id;
}

function sha256(data: string | Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Why the request is not from Slack, or undefined when its signature and age are right. */
export function slackSignatureProblem(
  secret: string,
  timestampHeader: string | undefined,
  signatureHeader: string | undefined,
  rawBody: Buffer,
  nowMs = Date.now(),
): string | undefined {
  if (!timestampHeader || !/^\d{1,12}$/.test(timestampHeader))
    return 'missing or malformed X-Slack-Request-Timestamp';
  if (!signatureHeader) return 'missing X-Slack-Signature';
  const age = nowMs / 1000 - Number(timestampHeader);
  if (age > MAX_SIGNATURE_AGE_S) return 'request timestamp is more than five minutes old';
  if (age < -MAX_SIGNATURE_AGE_S) return 'request timestamp is in the future';
  const expected =
    'v0=' + createHmac('sha256', secret).update(`v0:${timestampHeader}:`).update(rawBody).digest('hex');
  // Hashing both sides gives equal lengths, so the comparison's time says nothing about the secret.
  return timingSafeEqual(sha256(expected), sha256(signatureHeader)) ? undefined : 'signature mismatch';
}

interface Interaction {
  type?: string;
  user?: { id?: string };
  actions?: Array<{ action_id?: string; block_id?: string; value?: string }>;
  channel?: { id?: string };
  container?: { channel_id?: string; message_ts?: string };
  message?: { ts?: string };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A string field of an object, undefined when absent; any other type is bad input. */
function optionalString(object: Record<string, unknown>, key: string, where: string): string | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new HttpError(400, `malformed Slack interaction: ${where}.${key} must be a string`);
  return value;
}

/** An object field, undefined when absent; any other type is bad input. */
function optionalObject(
  object: Record<string, unknown>,
  key: string,
  where: string,
): Record<string, unknown> | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value))
    throw new HttpError(400, `malformed Slack interaction: ${where}.${key} must be an object`);
  return value;
}

/**
 * The interaction in a signed request body, checked field by field: a valid signature says who sent
 * it, not that it is well formed. Anything malformed is a 400 naming the field.
 */
export function parseInteraction(raw: Buffer): Interaction {
  const payload = new URLSearchParams(raw.toString('utf8')).get('payload');
  if (!payload) throw new HttpError(400, 'malformed Slack interaction: no payload field');
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch (error) {
    throw new HttpError(400, `malformed Slack interaction: payload is not JSON: ${(error as Error).message}`);
  }
  if (!isRecord(parsed))
    throw new HttpError(400, 'malformed Slack interaction: payload must be a JSON object');
  const out: Interaction = {};
  const type = optionalString(parsed, 'type', 'payload');
  if (type !== undefined) out.type = type;
  const user = optionalObject(parsed, 'user', 'payload');
  if (user) out.user = { id: optionalString(user, 'id', 'payload.user') };
  const channel = optionalObject(parsed, 'channel', 'payload');
  if (channel) out.channel = { id: optionalString(channel, 'id', 'payload.channel') };
  const container = optionalObject(parsed, 'container', 'payload');
  if (container)
    out.container = {
      channel_id: optionalString(container, 'channel_id', 'payload.container'),
      message_ts: optionalString(container, 'message_ts', 'payload.container'),
    };
  const message = optionalObject(parsed, 'message', 'payload');
  if (message) out.message = { ts: optionalString(message, 'ts', 'payload.message') };
  const actions = parsed.actions;
  if (actions !== undefined && actions !== null) {
    if (!Array.isArray(actions))
      throw new HttpError(400, 'malformed Slack interaction: payload.actions must be an array');
    out.actions = actions.map((a: unknown, i) => {
      const where = `payload.actions[${i}]`;
      if (!isRecord(a)) throw new HttpError(400, `malformed Slack interaction: ${where} must be an object`);
      return {
        action_id: optionalString(a, 'action_id', where),
        block_id: optionalString(a, 'block_id', where),
        value: optionalString(a, 'value', where),
      };
    });
  }
  return out;
}

function ephemeral(text: string): { response_type: 'ephemeral'; replace_original: false; text: string } {
  return { response_type: 'ephemeral', replace_original: false, text };
}

function describeRefusal(error: ApprovalError): string {
  switch (error.kind) {
    case 'unavailable':
      return 'Rebound cannot reach Temporal right now; try again in a moment.';
    case 'not-found':
      return `${escapeMrkdwn(error.message)}: it has already finished.`;
    default:
      return `Not recorded: ${escapeMrkdwn(error.message)}`;
  }
}

export const slackInteractionRoutes: RouteModule = (router, deps) => {
  const { config, client, metrics, background } = deps;
  let web: WebClient | undefined;
  const slackWeb = (): WebClient | undefined => {
    if (!config.slack.token) return undefined;
    web ??= createSlackClient({
      token: config.slack.token,
      apiUrl: config.slack.apiUrl,
      publicUrl: config.receiver.publicUrl,
      timeoutMs: 10_000,
    });
    return web;
  };

  /** Shows the decision in the incident message; the workflow's own updates render the same way. */
  const updateMessage = async (interaction: Interaction, result: DecisionResult): Promise<void> => {
    const slack = slackWeb();
    const channel = channelOf(interaction);
    const ts = interaction.container?.message_ts ?? interaction.message?.ts;
    if (!slack || !channel || !ts || !result.state) return;
    const { text, blocks } = incidentBlocks(result.state, config.receiver.publicUrl);
    try {
      await slack.chat.update({ channel, ts, text, blocks, link_names: false });
    } catch (error) {
      log.warn('could not update the Slack incident message', { error });
    }
  };

  /**
   * A message only the clicker sees, through the bot token (never the request's response_url). When
   * Slack cannot be reached either, the log is all that is left: it says the clicker was not told.
   */
  const tellClicker = async (interaction: Interaction, user: string, text: string): Promise<void> => {
    const slack = slackWeb();
    const channel = channelOf(interaction);
    if (!slack || !channel || !user) return;
    try {
      await slack.chat.postEphemeral({ channel, user, text });
    } catch (error) {
      log.error('could not tell the Slack user how their late decision ended', { user, error });
    }
  };

  router.add('POST', '/v1/slack/interactions', async (ctx) => {
    const { req, res } = ctx;
    const count = (outcome: string): void => metrics.approvals.inc({ channel: 'slack', outcome });
    const secret = config.slack.signingSecret;
    if (!secret) {
      req.resume();
      throw new HttpError(503, 'Slack interactivity is not configured: set SLACK_SIGNING_SECRET');
    }
    const raw = await ctx.body(BODY_LIMIT);
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const problem = slackSignatureProblem(
      secret,
      header('x-slack-request-timestamp'),
      header('x-slack-signature'),
      raw,
    );
    if (problem) {
      count('unauthenticated');
      log.warn('refused a Slack request', { reason: problem });
      throw new HttpError(401, `not a valid Slack request: ${problem}`);
    }

    let interaction: Interaction;
    try {
      interaction = parseInteraction(raw);
    } catch (error) {
      count('bad_request');
      throw error;
    }
    const act = interaction.actions?.find(
      (a) =>
        a.block_id === 'rebound_approval' &&
        (a.action_id === 'rebound_approve' || a.action_id === 'rebound_reject'),
    );
    if (interaction.type !== 'block_actions' || !act) {
      sendJson(res, 200, {}); // Some other interaction: acknowledged, nothing to do.
      return;
    }
    let target: unknown;
    try {
      target = JSON.parse(act.value ?? '');
    } catch {
      target = undefined;
    }
    if (!isRecord(target) || typeof target.incidentId !== 'string' || typeof target.stepId !== 'string') {
      count('bad_request');
      sendJson(res, 200, ephemeral('This button does not name an incident step; it was not recorded.'));
      return;
    }
    const { incidentId, stepId } = target;
    const slackUser = interaction.user?.id ?? '';
    const identity = slackIdentity(config, slackUser);
    if (!identity) {
      count('unauthorized');
      sendJson(
        res,
        200,
        ephemeral(
          `Your Slack user (${escapeMrkdwn(slackUser || 'unknown')}) is not mapped to a Rebound identity, so your decision was not recorded. Ask an admin to add it to slack.users (REBOUND_SLACK_USERS).`,
        ),
      );
      return;
    }

    const decision = act.action_id === 'rebound_approve' ? 'approve' : 'reject';
    // No request id: the same button clicked twice by the same person is the same decision, and
    // the deterministic update id makes Temporal record it once.
    const pendingDecision = applyDecision(
      client,
      config,
      {
        incidentId: incidentId,
        stepId: stepId,
        decision,
        identity,
        channel: 'slack',
      },
      { timeoutMs: DECISION_TIMEOUT_MS },
    );
    const settled = pendingDecision.then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      settled,
      new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), DECISION_BUDGET_MS))),
    ]);
    clearTimeout(timer);

    if (outcome === 'late') {
      // Nothing is known yet: the decision may land or fail. Say exactly that, keep waiting in the
      // background (the receiver's shutdown waits too) and tell the clicker how it ended.
      count('late');
      const canFollowUp =
        slackWeb() !== undefined && channelOf(interaction) !== undefined && slackUser !== '';
      sendJson(
        res,
        200,
        ephemeral(
          canFollowUp
            ? `Not recorded yet: Temporal has not confirmed your decision (${decision} step ${escapeMrkdwn(stepId)}) within ${DECISION_BUDGET_MS / 1000} s. Rebound keeps trying for up to ${DECISION_TIMEOUT_MS / 1000} s and will tell you here whether it was recorded; until then, treat it as not recorded. Clicking again is safe: a decision is recorded once.`
            : `Not recorded yet: Temporal has not confirmed your decision (${decision} step ${escapeMrkdwn(stepId)}) within ${DECISION_BUDGET_MS / 1000} s, so it may not have been recorded. Click again in a moment; a decision is recorded once.`,
        ),
      );
      void background.track(
        settled.then(async (late) => {
          if ('result' in late) {
            count(late.result.duplicate ? 'duplicate' : 'accepted');
            await updateMessage(interaction, late.result);
            await tellClicker(
              interaction,
              slackUser,
              `Your decision (${decision} step ${escapeMrkdwn(stepId)} of ${escapeMrkdwn(incidentId)}) is now recorded.`,
            );
            return;
          }
          const error = late.error;
          count(error instanceof ApprovalError && error.kind !== 'unavailable' ? 'refused' : 'unavailable');
          log.warn('a late Slack decision was not recorded; the clicker is told to click again', {
            incident: incidentId,
            step: stepId,
            identity,
            error,
          });
          const reason =
            error instanceof ApprovalError ? describeRefusal(error) : 'Rebound could not record it.';
          await tellClicker(
            interaction,
            slackUser,
            `Your decision (${decision} step ${escapeMrkdwn(stepId)} of ${escapeMrkdwn(incidentId)}) was NOT recorded. ${reason} Click the button again.`,
          );
        }),
      );
      return;
    }
    if ('error' in outcome) {
      const error = outcome.error;
      if (!(error instanceof ApprovalError)) {
        log.error('a Slack decision failed unexpectedly', { incident: incidentId, error });
        count('error');
        sendJson(
          res,
          200,
          ephemeral(
            'Not recorded: Rebound could not record it (see the receiver log). Click again in a moment.',
          ),
        );
        return;
      }
      count(
        error.kind === 'unavailable' ? 'unavailable' : error.kind === 'not-found' ? 'not_found' : 'refused',
      );
      if (error.kind === 'unavailable') metrics.temporalErrors.inc({ operation: 'approval' });
      sendJson(res, 200, ephemeral(describeRefusal(error)));
      return;
    }
    count(outcome.result.duplicate ? 'duplicate' : 'accepted');
    // Answer Slack first; the message update is a second call that must not eat into the 3 s.
    sendJson(res, 200, {});
    await updateMessage(interaction, outcome.result);
  });
};

/** The identity a Slack user maps to, for tests and docs. */
export function slackIdentity(config: Config, userId: string): string | undefined {
  return Object.hasOwn(config.slack.users, userId) ? config.slack.users[userId] : undefined;
}
