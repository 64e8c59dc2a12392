// Text from outside (alert labels and annotations, runbook fields, comments, error messages) shown on
// a terminal. A label may carry ESC, BEL, NUL or other control characters and bidi overrides; written
// raw they would retitle the window, write the clipboard (OSC 52), erase lines or reorder what the
// reader sees. Incidents store such values verbatim; every terminal or text output goes through
// escapeControls, here and nowhere else, so the reader sees `\x1b` or `\u202e` instead.

/**
 * C0 controls, DEL, C1 controls, and the Unicode characters that change how a line is drawn: bidi
 * embeddings, overrides and isolates, the Arabic letter mark, and the line/paragraph separators.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export interface EscapeOptions {
  /** Keep `\n` and `\t` (a whole multi-line output); otherwise they are escaped too (one field). */
  keepLineBreaks?: boolean;
  /**
   * The text is JSON: write every escape as `\uXXXX`, which JSON reads back as the same character,
   * so the escaped output is still the same JSON value.
   */
  json?: boolean;
}

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, '0');
}

/** The text with every control and bidi character written as a visible escape. */
export function escapeControls(text: string, options: EscapeOptions = {}): string {
  return text.replace(UNSAFE, (ch) => {
    if (options.keepLineBreaks && (ch === '\n' || ch === '\t')) return ch;
    const code = ch.charCodeAt(0);
    if (options.json) return `\\u${hex(code, 4)}`;
    if (ch === '\n') return '\\n';
    if (ch === '\t') return '\\t';
    if (ch === '\r') return '\\r';
    return code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`;
  });
}

/**
 * A copy of the value with every string in it escaped as one field (line breaks too), for formatters
 * that lay values out in lines and columns: a label's newline cannot forge a row.
 */
export function escapedStrings<T>(value: T): T {
  if (typeof value === 'string') return escapeControls(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => escapedStrings(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of Object.entries(value)) out[escapeControls(k)] = escapedStrings(v);
    return out as T;
  }
  return value;
}

/** Prints lines for a person on stdout, escaped. */
export function printOut(text: string): void {
  process.stdout.write(`${escapeControls(text, { keepLineBreaks: true })}\n`);
}

/** Prints a message on stderr, escaped. */
export function printErr(text: string): void {
  process.stderr.write(`${escapeControls(text, { keepLineBreaks: true })}\n`);
}

/** JSON for stdout: the same value, with control and bidi characters as `\uXXXX` escapes. */
export function jsonForTerminal(value: unknown, indent = 2): string {
  return escapeControls(JSON.stringify(value, null, indent) ?? 'null', { json: true, keepLineBreaks: true });
}
