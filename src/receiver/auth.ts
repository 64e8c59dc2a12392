// Webhook authentication: the bearer token or basic auth Alertmanager's http_config sends.
// Secrets are compared as SHA-256 digests with timingSafeEqual, so neither the comparison time nor
// a length difference tells an attacker how much of a guess was right.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Config } from '../config';
import { HttpError } from './http';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** IANA's HTTP authentication schemes: the only words of a refused header worth naming. */
const KNOWN_SCHEMES = new Set([
  'basic',
  'bearer',
  'concealed',
  'digest',
  'dpop',
  'gnap',
  'hoba',
  'mutual',
  'negotiate',
  'ntlm',
  'oauth',
  'privatetoken',
  'scram-sha-1',
  'scram-sha-256',
  'vapid',
  'aws4-hmac-sha256',
]);

export class AuthError extends HttpError {}

/** A check that throws 401 (with WWW-Authenticate) unless the request carries the configured credentials. */
export function webhookAuthenticator(receiver: Config['receiver']): (req: IncomingMessage) => void {
  if (receiver.auth === 'none') return () => {};
  const { token, basicUser, basicPassword } = receiver;
  if (!token && !basicUser)
    // receiverAuthProblems refuses this at start; refusing every request keeps a misconfiguration closed.
    return () => {
      throw new AuthError(401, 'webhook authentication is required but no credentials are configured');
    };
  const challenges = [
    ...(token ? ['Bearer realm="rebound"'] : []),
    ...(basicUser ? ['Basic realm="rebound", charset="UTF-8"'] : []),
  ].join(', ');
  const refuse = (message: string): never => {
    throw new AuthError(401, message, { 'www-authenticate': challenges });
  };
  const accepted = [token ? 'a bearer token' : '', basicUser ? 'basic auth' : '']
    .filter(Boolean)
    .join(' or ');
  return (req) => {
    const header = req.headers.authorization;
    if (!header) return refuse(`authentication required: send ${accepted} in the Authorization header`);
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const credentials = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'bearer' && token) {
      if (credentials && sameSecret(credentials, token)) return;
      return refuse('the bearer token is not valid');
    }
    if (scheme === 'basic' && basicUser) {
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      // Both halves are always compared, so a wrong user takes as long as a wrong password.
      const userOk = sameSecret(colon < 0 ? decoded : decoded.slice(0, colon), basicUser);
      const passwordOk = sameSecret(colon < 0 ? '' : decoded.slice(colon + 1), basicPassword ?? '');
      if (colon >= 0 && userOk && passwordOk) return;
      return refuse('the basic auth user or password is not valid');
    }
    // Only a registered scheme name is quoted back: a header without a scheme is the secret itself.
    const named =
      space > 0 && KNOWN_SCHEMES.has(scheme)
        ? `the ${scheme} authorization scheme`
        : 'this authorization scheme';
    return refuse(`${named} is not accepted here; send ${accepted}`);
  };
}
