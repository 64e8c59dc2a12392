// Console sessions: an API token (receiver.apiTokens) names the person; logging in with it gives a
// signed session cookie (HttpOnly, SameSite=Strict, Secure when the public URL is https) that lasts
// console.sessionLifetime. Every form carries a CSRF token derived from the session and checked in
// constant time. Roles come from console.roles at each request, so a change applies at once.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { groupsOf } from '../decisions';
import type { Config } from '../config';

export type Role = 'viewer' | 'operator';

export interface Session {
  /** Random id: the CSRF token and logout are bound to it. */
  id: string;
  identity: string;
  /** Expiry, epoch milliseconds. */
  expires: number;
}

export const SESSION_COOKIE = 'rebound_session';
export const LOGIN_COOKIE = 'rebound_login';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time equality of two strings of any length. */
export function sameText(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

export function parseCookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/** The highest role any of the identity's names (itself, its groups) maps to; viewer otherwise. */
export function roleOf(config: Config, identity: string): Role {
  const names = [identity, ...groupsOf(config, identity)];
  return names.some((n) => config.console.roles[n] === 'operator') ? 'operator' : 'viewer';
}

export class SessionKeeper {
  private readonly secret: Buffer;
  /** Logged-out sessions, until they would have expired anyway (per process). */
  private readonly revoked = new Map<string, number>();

  constructor(
    secret: string | undefined,
    private readonly lifetimeMs: number,
    private readonly secure: boolean,
  ) {
    this.secret = secret ? sha256(`rebound-session\0${secret}`) : randomBytes(32);
  }

  private sign(text: string): string {
    return createHmac('sha256', this.secret).update(text).digest('base64url');
  }

  /** A new session for identity and the Set-Cookie header that carries it. */
  issue(identity: string, now = Date.now()): { session: Session; cookie: string } {
    const session: Session = {
      id: randomBytes(16).toString('base64url'),
      identity,
      expires: now + this.lifetimeMs,
    };
    const body = Buffer.from(JSON.stringify({ i: session.id, u: identity, e: session.expires })).toString(
      'base64url',
    );
    const value = `${body}.${this.sign(body)}`;
    return { session, cookie: this.cookie(SESSION_COOKIE, value, Math.floor(this.lifetimeMs / 1000)) };
  }

  cookie(name: string, value: string, maxAgeSeconds: number): string {
    return `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${this.secure ? '; Secure' : ''}`;
  }

  clearCookie(name = SESSION_COOKIE): string {
    return this.cookie(name, '', 0);
  }

  /** The session the request's cookie carries, when it is signed by us, unexpired and not logged out. */
  read(req: IncomingMessage, now = Date.now()): Session | undefined {
    const value = parseCookies(req).get(SESSION_COOKIE);
    if (!value) return undefined;
    const dot = value.indexOf('.');
    if (dot <= 0) return undefined;
    const body = value.slice(0, dot);
    if (!sameText(value.slice(dot + 1), this.sign(body))) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const p = parsed as { i?: unknown; u?: unknown; e?: unknown };
    if (typeof p.i !== 'string' || typeof p.u !== 'string' || typeof p.e !== 'number') return undefined;
    if (p.e <= now || this.revoked.has(p.i)) return undefined;
    return { id: p.i, identity: p.u, expires: p.e };
  }

  revoke(session: Session, now = Date.now()): void {
    for (const [id, expires] of this.revoked) if (expires <= now) this.revoked.delete(id);
    this.revoked.set(session.id, session.expires);
  }

  /** The CSRF token of a session: bound to it, unguessable without the secret. */
  csrfToken(session: Session): string {
    return this.sign(`csrf\0${session.id}`);
  }

  checkCsrf(session: Session, given: string | undefined | null): boolean {
    return sameText(given ?? '', this.csrfToken(session));
  }
}

/**
 * One-time login links (`rebound dev` prints one for its local user): a random token, kept only as
 * its digest, that creates a session once and then is gone.
 */
const oneTimeLogins = new Map<string, { identity: string; expires: number }>();

export function createOneTimeLogin(identity: string, ttlMs = 24 * 3_600_000): string {
  const token = randomBytes(24).toString('base64url');
  oneTimeLogins.set(sha256(token).toString('hex'), { identity, expires: Date.now() + ttlMs });
  return token;
}

export function consumeOneTimeLogin(token: string): string | undefined {
  const key = sha256(token).toString('hex');
  const entry = oneTimeLogins.get(key);
  oneTimeLogins.delete(key);
  if (!entry || entry.expires <= Date.now()) return undefined;
  return entry.identity;
}
