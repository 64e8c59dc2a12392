// Alertmanager label matchers: `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`.
// Regexes are RE2 (as in Alertmanager, linear time) and fully anchored; a missing label matches as the
// empty string.
import { fullMatch, patternProblem } from './re2';
import type { Matcher } from './types';

export class MatcherError extends Error {
  override name = 'MatcherError';
}

const MATCHER_FORM = 'expected name="value", name!="value", name=~"regex" or name!~"regex"';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const OPERATORS = ['=~', '!~', '!=', '='] as const;

/** The value of a double-quoted string that must span all of raw; Go-style escapes. */
function unquote(raw: string, text: string): string {
  let out = '';
  for (let i = 1; i < raw.length; i++) {
    const ch = raw[i] as string;
    if (ch === '"') {
      if (i !== raw.length - 1)
        throw new MatcherError(`matcher "${text}" has text after the closing quote; ${MATCHER_FORM}`);
      return out;
    }
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = raw[++i];
    if (next === 'n') out += '\n';
    else if (next === 't') out += '\t';
    else if (next === '"' || next === '\\') out += next;
    // Alertmanager keeps an unknown escape as written, so regex escapes like \d survive.
    else out += `\\${next ?? ''}`;
  }
  throw new MatcherError(`matcher "${text}" has an unterminated quoted value; ${MATCHER_FORM}`);
}

/** Parses `name="value"`, `name!="v"`, `name=~"re"`, `name!~"re"` (Alertmanager matcher syntax). */
export function parseMatcher(text: string): Matcher {
  const trimmed = text.trim();
  const nameMatch = /^[^=!~\s]*/.exec(trimmed);
  const name = nameMatch?.[0] ?? '';
  if (name === '') throw new MatcherError(`matcher "${text}" has no label name; ${MATCHER_FORM}`);
  if (!LABEL_NAME.test(name))
    throw new MatcherError(
      `"${name}" is not a label name (letters, digits and _, not starting with a digit); ${MATCHER_FORM}`,
    );
  const rest = trimmed.slice(name.length).trimStart();
  const op = OPERATORS.find((candidate) => rest.startsWith(candidate));
  if (!op) throw new MatcherError(`matcher "${text}" has no operator; ${MATCHER_FORM}`);
  const rawValue = rest.slice(op.length).trim();
  let value: string;
  if (rawValue.startsWith('"')) {
    value = unquote(rawValue, text);
  } else {
    // Alertmanager accepts unquoted values; quotes are needed only for spaces, commas and quotes.
    if (/["\s,]/.test(rawValue))
      throw new MatcherError(
        `matcher "${text}": quote a value holding spaces, commas or quotes; ${MATCHER_FORM}`,
      );
    value = rawValue;
  }
  const matcher: Matcher = { name, op, value };
  if (op === '=~' || op === '!~') {
    const problem = patternProblem(`^(?:${value})$`);
    if (problem)
      throw new MatcherError(
        `matcher "${text}": invalid regular expression (RE2, as in Alertmanager): ${problem}`,
      );
  }
  return matcher;
}

/** True when one matcher fits the labels. */
export function matches(matcher: Matcher, labels: Record<string, string>): boolean {
  const actual = Object.prototype.hasOwnProperty.call(labels, matcher.name)
    ? (labels[matcher.name] ?? '')
    : '';
  switch (matcher.op) {
    case '=':
      return actual === matcher.value;
    case '!=':
      return actual !== matcher.value;
    case '=~':
      return fullMatch(matcher.value, actual);
    case '!~':
      return !fullMatch(matcher.value, actual);
  }
}

/** True when every matcher fits the labels (a missing label is the empty string, as in Alertmanager). */
export function matchesAll(matchers: Matcher[], labels: Record<string, string>): boolean {
  return matchers.every((matcher) => matches(matcher, labels));
}

/** The matcher as Alertmanager would print it. */
export function formatMatcher(matcher: Matcher): string {
  return `${matcher.name}${matcher.op}${JSON.stringify(matcher.value)}`;
}
