// Answers from the console: HTML with a strict Content-Security-Policy (nothing inline, nothing from
// elsewhere), redirects after forms, and url-encoded form bodies.
import type { ServerResponse } from 'node:http';
import { HttpError, type RequestContext } from '../receiver/http';
import type { Markup } from './html';

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

export function sendHtml(
  res: ServerResponse,
  status: number,
  body: Markup | string,
  headers: Record<string, string | string[]> = {},
): void {
  if (res.headersSent) return;
  const text = String(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function redirect(
  res: ServerResponse,
  location: string,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, 'content-length': 0, ...headers });
  res.end();
}

export function sendDownload(res: ServerResponse, text: string, contentType: string, fileName: string): void {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'content-disposition': `attachment; filename="${fileName.replace(/[^A-Za-z0-9._-]+/g, '_')}"`,
  });
  res.end(text);
}

const FORM_LIMIT = 64 * 1024;

/** The url-encoded form of a POST; anything else is refused with 415. */
export async function readForm(ctx: RequestContext): Promise<URLSearchParams> {
  const type = (ctx.req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    ctx.req.resume();
    throw new HttpError(415, 'send the form as application/x-www-form-urlencoded');
  }
  return new URLSearchParams((await ctx.body(FORM_LIMIT)).toString('utf8'));
}

/** A path on this site to go back to after logging in; anything else goes to the start page. */
export function localPath(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return '/incidents';
  return next;
}
