// CONTRACT STUB — replaced by the runbook-language implementation.
import type { Matcher } from './types';

/** Parses `name="value"`, `name!="v"`, `name=~"re"`, `name!~"re"` (Alertmanager matcher syntax). */
export function parseMatcher(_text: string): Matcher {
  throw new Error('not implemented');
}

/** True when every matcher fits the labels (a missing label is the empty string, as in Alertmanager). */
export function matchesAll(_matchers: Matcher[], _labels: Record<string, string>): boolean {
  return false;
}
