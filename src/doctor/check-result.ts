// What a doctor check answers (ok, warning or problem, with the fix in one line), and the helpers every
// check uses to say it: an error in its own words, a URL without its credentials. No check prints a secret.
import { escapeControls } from '../terminal-text';

export type CheckStatus = 'ok' | 'warning' | 'problem';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** What was found, one line. */
  summary: string;
  /** What to do about it, one line (warnings and problems). */
  fix?: string;
}

/** How long any one check may take: a doctor that hangs is no help. */
export const CHECK_TIMEOUT_MS = 5000;

export const ok = (name: string, summary: string): CheckResult => ({ name, status: 'ok', summary });
export const warning = (name: string, summary: string, fix: string): CheckResult => ({
  name,
  status: 'warning',
  summary,
  fix,
});
export const problem = (name: string, summary: string, fix: string): CheckResult => ({
  name,
  status: 'problem',
  summary,
  fix,
});

/** An error's own words (a network error's cause is the useful part), one line, no control characters. */
export function why(error: unknown): string {
  const e = error as Error & { code?: string; cause?: unknown; details?: string };
  const cause = e.cause instanceof Error ? `${e.cause.message}` : undefined;
  const text = e.details || cause || e.message || String(error);
  return escapeControls(text.split('\n')[0] ?? '').slice(0, 200);
}

/** A URL with any user:password removed, for showing where something is. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    u.search = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(not a URL)';
  }
}
