// CONTRACT STUB — replaced by the runbook-language implementation (CEL via @marcbachmann/cel-js).
import type { ExpressionScope } from './scope';

export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

/** Parses a CEL expression; returns an error message, or undefined when it is well formed. */
export function checkExpression(_expression: string): string | undefined {
  return undefined;
}

/** Evaluates a `when` condition; must produce a boolean, else ExpressionError. */
export function evaluateCondition(_expression: string, _scope: ExpressionScope): boolean {
  throw new ExpressionError('not implemented');
}

/**
 * Renders templates in a parameter value, deeply: a string that is exactly one `{{ expr }}` becomes
 * the expression's value (number, bool, object); mixed text interpolates. Results are JSON values.
 */
export function renderTemplates(value: unknown, _scope: ExpressionScope): unknown {
  return value;
}

/** Every template expression inside a value, for validation. */
export function templateExpressions(_value: unknown): string[] {
  return [];
}
