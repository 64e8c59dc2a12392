// Regular expressions from runbooks (matchers, CEL `matches()`) run on RE2 through re2js: linear
// time whatever the pattern and the text, deterministic (pure JavaScript, so the workflow sandbox
// can run it), and the same syntax Alertmanager and CEL use. JavaScript's RegExp backtracks: a
// hostile label against `(a+)+b` would hold the receiver or kill a worker.
import type { RE2JS } from 're2js';
import type * as Re2Library from 're2js';

/** re2js, loaded on first use: each workflow execution evaluates its own module copies (see expressions.ts). */
function re2(): typeof Re2Library {
  // eslint-disable-next-line no-restricted-globals, @typescript-eslint/no-require-imports -- a static, lazy require (above)
  return require('re2js') as typeof Re2Library;
}

export class PatternError extends Error {
  override name = 'PatternError';
}

// Compiling is the costly part and runbooks use a handful of patterns; bounded, so a stream of
// different patterns from expressions cannot grow it without end.
const CACHE_LIMIT = 500;
const compiled = new Map<string, RE2JS>();

function compile(source: string): RE2JS {
  const cached = compiled.get(source);
  if (cached) return cached;
  let regex: RE2JS;
  try {
    regex = re2().RE2JS.compile(source);
  } catch (error) {
    throw new PatternError(describe(error));
  }
  if (compiled.size >= CACHE_LIMIT) compiled.clear();
  compiled.set(source, regex);
  return regex;
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/^error parsing regexp: /, '');
}

/** Why RE2 cannot compile the pattern (backreferences, lookaround, bad syntax), or undefined. */
export function patternProblem(source: string): string | undefined {
  try {
    compile(source);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** True when the pattern matches the whole text (Alertmanager matchers are fully anchored). */
export function fullMatch(source: string, text: string): boolean {
  return compile(`^(?:${source})$`).matcher(text).find();
}

/** True when the pattern matches somewhere in the text (CEL `matches()`). */
export function search(source: string, text: string): boolean {
  return compile(source).matcher(text).find();
}
