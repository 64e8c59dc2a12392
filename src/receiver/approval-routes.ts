// HTTP approvals: POST /v1/incidents/:id/approve and /reject, authenticated by operator API tokens.
// The identity comes from the token alone; the body only says which step and why.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApprovalError, applyDecision, type DecisionRequest } from '../decisions';
import { logger } from '../log';
import { HttpError, sendJson, type Router } from './http';
import type { ReceiverDeps, RouteModule } from './index';

const log = logger('approvals');
const BODY_LIMIT = 16 * 1024;
/** How long an HTTP caller waits for Temporal before a 503 (retrying is safe: update ids dedupe). */
const TEMPORAL_TIMEOUT_MS = 5_000;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The identity whose API token this is, or undefined. Both sides are hashed to equal length and
 * every configured token is compared, so timing says neither which token nor how much matched.
 */
export function identityForToken(
  tokens: Record<string, string>,
  presented: string | undefined,
): string | undefined {
  if (!presented) return undefined;
  const given = sha256(presented);
  let found: string | undefined;
  for (const [token, identity] of Object.entries(tokens)) {
    const match = timingSafeEqual(given, sha256(token));
    if (match && found === undefined) found = identity;
  }
  return found;
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

interface DecisionBody {
  step?: string;
  comment?: string;
  requestId?: string;
}

function parseBody(raw: Buffer): DecisionBody {
  const text = raw.toString('utf8').trim();
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `body is not JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new HttpError(400, 'body must be a JSON object: {"step"?, "comment"?, "requestId"?}');
  const body = parsed as Record<string, unknown>;
  const out: DecisionBody = {};
  for (const key of ['step', 'comment', 'requestId'] as const) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw new HttpError(400, `"${key}" must be a string`);
    if (value.length > (key === 'comment' ? 4000 : 200)) throw new HttpError(400, `"${key}" is too long`);
    if (value !== '') out[key] = value;
  }
  // Anything else (an "identity", say) is ignored on purpose: who decides is the token's identity.
  return out;
}

/** HTTP status for a decision that was not recorded. */
export function statusFor(error: ApprovalError): number {
  switch (error.kind) {
    case 'not-found':
      return 404;
    case 'forbidden':
      return 403;
    case 'conflict':
      return 409;
    case 'invalid':
      return 400;
    case 'unavailable':
      return 503;
  }
}

function addRoute(router: Router, deps: ReceiverDeps, decision: DecisionRequest['decision']): void {
  const { config, client, metrics } = deps;
  router.add('POST', `/v1/incidents/:id/${decision}`, async (ctx) => {
    const { req, res, params } = ctx;
    const count = (outcome: string): void => metrics.approvals.inc({ channel: 'http', outcome });
    const identity = identityForToken(config.receiver.apiTokens, bearer(req));
    if (!identity) {
      req.resume();
      count('unauthenticated');
      throw new HttpError(
        401,
        'missing or unknown API token: send Authorization: Bearer <token> (receiver.apiTokens)',
        { 'www-authenticate': 'Bearer realm="rebound"' },
      );
    }
    let parsed: DecisionBody;
    try {
      parsed = parseBody(await ctx.body(BODY_LIMIT));
    } catch (error) {
      count('bad_request');
      throw error;
    }
    const incidentId = params.id ?? '';
    try {
      const result = await applyDecision(
        client,
        config,
        {
          incidentId,
          decision,
          identity,
          channel: 'http',
          ...(parsed.step ? { stepId: parsed.step } : {}),
          ...(parsed.comment ? { comment: parsed.comment } : {}),
          ...(parsed.requestId ? { requestId: parsed.requestId } : {}),
        },
        { timeoutMs: TEMPORAL_TIMEOUT_MS },
      );
      count(result.duplicate ? 'duplicate' : 'accepted');
      const pending = result.state?.pendingApproval;
      sendJson(res, 200, {
        incidentId,
        recorded: result.recorded,
        duplicate: result.duplicate,
        ...(pending ? { pending } : {}),
      });
    } catch (error) {
      if (!(error instanceof ApprovalError)) throw error;
      const status = statusFor(error);
      count(status === 503 ? 'unavailable' : status === 404 ? 'not_found' : 'refused');
      if (status === 503) {
        metrics.temporalErrors.inc({ operation: 'approval' });
        log.warn('Temporal unreachable for an approval', { incident: incidentId, error: error.message });
      }
      sendJson(res, status, { error: error.message, incidentId });
    }
  });
}

export const approvalRoutes: RouteModule = (router, deps) => {
  addRoute(router, deps, 'approve');
  addRoute(router, deps, 'reject');
};
