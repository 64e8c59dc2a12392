// Plain leveled logs on stderr: one line per event, key=value fields, easy to read at 3 a.m. and to grep.
// Values from alerts may hold control characters: the line is escaped, so a log is one line and
// carries no terminal escapes.
// Types only: loading the Slack SDK for every log user would slow every command's start.
import type { LogLevel as SlackLogLevel, Logger as SlackLogger } from '@slack/web-api';
import { escapeControls } from './terminal-text';
type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: Level = (process.env.REBOUND_LOG_LEVEL as Level | undefined) ?? 'info';

export function setLogLevel(level: Level): void {
  threshold = level;
}

function format(value: unknown): string {
  const text =
    value instanceof Error ? value.message : typeof value === 'string' ? value : JSON.stringify(value);
  return /[\s"=]/.test(text ?? '') ? JSON.stringify(text) : (text ?? '');
}

function write(level: Level, message: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < ORDER[threshold]) return;
  const extra = fields
    ? Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => ` ${k}=${format(v)}`)
        .join('')
    : '';
  process.stderr.write(
    `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${escapeControls(message + extra)}\n`,
  );
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function logger(component: string): Logger {
  const tag = (message: string): string => `[${component}] ${message}`;
  return {
    debug: (m, f) => write('debug', tag(m), f),
    info: (m, f) => write('info', tag(m), f),
    warn: (m, f) => write('warn', tag(m), f),
    error: (m, f) => write('error', tag(m), f),
  };
}

/**
 * A logger for @slack/web-api that writes through ours (stderr, escaped): its default writes to stdout,
 * which broke `--json` output. Its own messages are debug detail: the caller reports the failure.
 */
export function slackClientLogger(): SlackLogger {
  const log = logger('slack-client');
  let level = 'error' as SlackLogLevel;
  const text = (parts: unknown[]): string =>
    parts.map((p) => (typeof p === 'string' ? p : format(p))).join(' ');
  return {
    debug: (...parts: unknown[]) => log.debug(text(parts)),
    info: (...parts: unknown[]) => log.debug(text(parts)),
    warn: (...parts: unknown[]) => log.debug(text(parts)),
    error: (...parts: unknown[]) => log.debug(text(parts)),
    setLevel: (next: SlackLogLevel) => (level = next),
    getLevel: () => level,
    setName: () => undefined,
  };
}
