// Runbook expressions: CEL (through @marcbachmann/cel-js) for `when` conditions and `{{ ... }}`
// templates. Runs inside the workflow sandbox, so everything here is pure: no I/O, no clock.
//
// Numbers: JSON numbers in the scope are CEL doubles, while CEL integer literals are ints. Plain CEL
// has no mixed int/double arithmetic, so `vars.replicas / 2` would fail with "no such overload". We
// register mixed overloads that promote the int to a double (the arithmetic a YAML author expects:
// `3 / 2` over scope values gives 1.5). Arithmetic on two int literals stays CEL integer arithmetic.
//
// Regexes: the library's `matches()` runs JavaScript's backtracking RegExp, which a hostile label can
// hold for minutes (and, in the workflow sandbox, kill the worker). We replace it with RE2 (re2js):
// no runbook or label text ever reaches a RegExp.
//
// Maps: the library tells a map from other objects by `value.constructor`, so a label named
// `constructor` (or `__proto__`, `toString`) would break it. Every object handed to it is a Map.
import type { ASTNode, Environment, ParseResult } from '@marcbachmann/cel-js';
import type * as CelLibrary from '@marcbachmann/cel-js';
import { patternProblem, search } from './re2';
import type { ExpressionScope } from './scope';

export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

/** The top-level names an expression may use; everything else is an unknown variable. */
export const SCOPE_NAMES = ['alert', 'labels', 'annotations', 'vars', 'steps', 'incident'] as const;

const MIXED_ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
};

/**
 * The CEL library, loaded on first use. In the worker every workflow execution evaluates its own copy
 * of the modules it imports (the SDK keeps module state per workflow), and loading the library and
 * building the environment was most of that cost: the guard workflows, which never evaluate an
 * expression, paid it at every start. A lazy require keeps it to the workflows that evaluate one.
 */
function celLibrary(): typeof CelLibrary {
  // eslint-disable-next-line no-restricted-globals, @typescript-eslint/no-require-imports -- a static, lazy require (above)
  return require('@marcbachmann/cel-js') as typeof CelLibrary;
}

function createEnvironment(): Environment {
  const env = new (celLibrary().Environment)({
    homogeneousAggregateLiterals: false,
    enableOptionalTypes: true,
  });
  for (const name of SCOPE_NAMES) env.registerVariable(name, 'map');
  for (const [op, apply] of Object.entries(MIXED_ARITHMETIC)) {
    env.registerOperator(`double ${op} int: double`, (a: number, b: bigint) => apply(a, Number(b)));
    env.registerOperator(`int ${op} double: double`, (a: bigint, b: number) => apply(Number(a), b));
  }
  env.registerOperator('double % double: double', (a: number, b: number) => a % b);
  registerRe2Matches(env);
  env.registerFunction('promql(string): string', promqlString);
  return env;
}

/** The parts of the library's checker and evaluator a macro uses (not in its type declarations). */
interface MacroChecker {
  check(node: ASTNode, ctx: unknown): { kind: string; name: string };
  getType(name: string): unknown;
  createError(code: string, message: string, node: ASTNode): Error;
}
interface MacroEvaluator {
  run(node: ASTNode, ctx: unknown): unknown;
}

/**
 * `text.matches(pattern)` on RE2. The library looks a receiver call's macro up by name and argument
 * count alone, so a macro named `matches` takes over every `x.matches(y)` at parse time, before its
 * built-in RegExp overload is considered. It is declared on a receiver type the built-in does not
 * have, because the library refuses a second declaration overlapping `string.matches(string)`; the
 * type check below still requires strings. A literal pattern RE2 cannot compile is a type error, so
 * `rebound runbooks lint` reports it.
 */
function registerRe2Matches(env: Environment): void {
  const expander = ({ receiver, args }: { receiver: ASTNode; args: ASTNode[] }) => {
    const pattern = args[0] as ASTNode;
    return {
      args,
      async: false,
      typeCheck(checker: MacroChecker, _macro: unknown, ctx: unknown): unknown {
        for (const node of [receiver, pattern]) {
          const type = checker.check(node, ctx);
          if (type.kind !== 'dyn' && type.name !== 'string')
            throw checker.createError(
              'no_matching_overload',
              `matches() works on strings: text.matches("pattern"), not ${type.name}`,
              node,
            );
        }
        if (pattern.op === 'value' && typeof pattern.args === 'string') {
          const problem = patternProblem(pattern.args);
          if (problem)
            throw checker.createError(
              'invalid_argument',
              `matches(${JSON.stringify(pattern.args)}): not a valid RE2 regular expression: ${problem}`,
              pattern,
            );
        }
        return checker.getType('bool');
      },
      evaluate(ev: MacroEvaluator, _macro: unknown, ctx: unknown): boolean {
        const text = ev.run(receiver, ctx);
        const source = ev.run(pattern, ctx);
        if (typeof text !== 'string' || typeof source !== 'string')
          throw new Error(`no such overload: ${celTypeName(text)}.matches(${celTypeName(source)})`);
        const problem = patternProblem(source);
        if (problem)
          throw new Error(
            `matches(${JSON.stringify(source)}): not a valid RE2 regular expression: ${problem}`,
          );
        return search(source, text);
      },
    };
  };
  env.registerFunction('int.matches(ast): bool', expander);
}

function celTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'double';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Map) return 'map';
  return typeof value;
}

/**
 * The scope as the library must see it: every JSON object becomes a Map, so no key (`constructor`,
 * `__proto__`, `toString`...) can be mistaken for the object's own machinery.
 */
export function toCelValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toCelValue);
  if (value !== null && typeof value === 'object' && !(value instanceof Map)) {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto === Object.prototype || proto === null) {
      const map = new Map<string, unknown>();
      for (const [key, item] of Object.entries(value)) map.set(key, toCelValue(item));
      return map;
    }
  }
  return value;
}

function celScope(scope: ExpressionScope): Record<string, unknown> {
  // The top level holds only Rebound's own names; everything under them is converted.
  const out: Record<string, unknown> = {};
  for (const name of SCOPE_NAMES) out[name] = toCelValue(scope[name]);
  return out;
}

/** Sets a key as an own data property, whatever its name (`obj["__proto__"] = v` would not). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A PromQL string literal holding `value`, quotes included: `promql(labels.service)` in a query, so a
 * label value can only ever be a value (`up{job={{ promql(labels.job) }}}`), never more PromQL.
 * PromQL strings take Go's escapes; backslash, the quote and control characters are escaped.
 */
export function promqlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

let environment: Environment | undefined;
function env(): Environment {
  environment ??= createEnvironment();
  return environment;
}

// Parsing is the costly part and the same few expressions are evaluated again and again.
const parsed = new Map<string, ParseResult>();
const PARSE_CACHE_LIMIT = 1000;

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? text).trim();
}

/** A CEL error message in the runbook author's terms. */
function explain(error: unknown): string {
  const text = firstLine(error);
  const noKey = /^No such key: (.*)$/.exec(text);
  if (noKey)
    return `no such key "${noKey[1]}" (test for it first with has(), e.g. has(labels.${noKey[1]}) ? labels.${noKey[1]} : "")`;
  const unknownVar = /^Unknown variable: (.*)$/.exec(text);
  if (unknownVar) return `unknown name "${unknownVar[1]}"; expressions can use ${SCOPE_NAMES.join(', ')}`;
  const overload = /^no such overload: (.*)$/.exec(text);
  if (overload)
    return `no such overload: ${overload[1]} (the operand types do not fit the operator; convert with int(), double() or string())`;
  return text;
}

function compile(expression: string): ParseResult {
  const cached = parsed.get(expression);
  if (cached) return cached;
  let result: ParseResult;
  try {
    result = env().parse(expression);
  } catch (error) {
    throw new ExpressionError(`invalid expression "${expression}": ${explain(error)}`);
  }
  if (parsed.size >= PARSE_CACHE_LIMIT) parsed.clear();
  parsed.set(expression, result);
  return result;
}

/** Parses and type-checks a CEL expression; returns an error message, or undefined when it is well formed. */
export function checkExpression(expression: string): string | undefined {
  if (expression.trim() === '') return 'empty expression';
  const result = env().check(expression);
  if (!result.valid) return explain(result.error);
  return undefined;
}

/** Like checkExpression, and also rejects expressions whose type is known not to be bool. */
export function checkCondition(expression: string): string | undefined {
  if (expression.trim() === '') return 'empty condition';
  const result = env().check(expression);
  if (!result.valid) return explain(result.error);
  if (result.type !== undefined && result.type !== 'bool' && result.type !== 'dyn')
    return `a condition must be a boolean, but this expression is ${result.type}; compare it, e.g. ... == ...`;
  return undefined;
}

/** The value an expression produces, as plain JSON (BigInt ints become numbers). */
export function evaluateExpression(expression: string, scope: ExpressionScope): unknown {
  const program = compile(expression);
  let value: unknown;
  try {
    value = program(celScope(scope));
  } catch (error) {
    throw new ExpressionError(`cannot evaluate "${expression}": ${explain(error)}`);
  }
  return toJson(value, expression);
}

/** Evaluates a `when` condition; must produce a boolean, else ExpressionError. */
export function evaluateCondition(expression: string, scope: ExpressionScope): boolean {
  const value = evaluateExpression(expression, scope);
  if (typeof value !== 'boolean') {
    throw new ExpressionError(
      `condition "${expression}" produced ${describeValue(value)}, not a boolean (true/false); write a comparison such as labels.severity == "critical"`,
    );
  }
  return value;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list ${JSON.stringify(value)}`;
  if (typeof value === 'object') return `a map ${JSON.stringify(value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Converts a CEL result into a JSON value. */
export function toJson(value: unknown, expression = ''): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'bigint':
      return Number(value);
    case 'number':
      if (!Number.isFinite(value))
        throw new ExpressionError(
          `expression "${expression}" produced ${String(value)}, which is not a finite number`,
        );
      return value;
    case 'object':
      break;
    default:
      // symbol or function: not JSON, and CEL does not produce them; say what it was.
      return `<${typeof value}>`;
  }
  if (Array.isArray(value)) return value.map((item) => toJson(item, expression));
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Array.from(value);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of value) setOwn(out, String(key), toJson(item, expression));
    return out;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) setOwn(out, key, toJson(item, expression));
    return out;
  }
  // Optional values (from `.?` chaining) and CEL durations/types: their value or their text form.
  const optional = value as { hasValue?: () => boolean; value?: () => unknown };
  if (typeof optional.hasValue === 'function' && typeof optional.value === 'function')
    return optional.hasValue() ? toJson(optional.value(), expression) : null;
  return (value as { toString(): string }).toString();
}

// ---------------------------------------------------------------------------------------------
// Templates

export type TemplatePart = { text: string } | { expression: string; source: string };

/**
 * Splits a string into literal text and `{{ expression }}` parts. A `}}` inside a quoted CEL string
 * does not end the expression. Throws ExpressionError for an unterminated or empty template.
 */
export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let index = 0;
  while (index < text.length) {
    const open = text.indexOf('{{', index);
    if (open < 0) {
      parts.push({ text: text.slice(index) });
      break;
    }
    if (open > index) parts.push({ text: text.slice(index, open) });
    const close = findTemplateEnd(text, open + 2);
    if (close < 0)
      throw new ExpressionError(`unterminated template: "{{" at position ${open + 1} has no closing "}}"`);
    const expression = text.slice(open + 2, close).trim();
    if (expression === '') throw new ExpressionError(`empty template "{{ }}" at position ${open + 1}`);
    parts.push({ expression, source: text.slice(open, close + 2) });
    index = close + 2;
  }
  return parts;
}

function findTemplateEnd(text: string, from: number): number {
  let quote: string | undefined;
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '}' && text[i + 1] === '}') return i;
  }
  return -1;
}

/** True when the string holds at least one `{{`. */
export function hasTemplate(text: string): boolean {
  return text.includes('{{');
}

function stringLeaves(value: unknown, visit: (text: string) => void): void {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) for (const item of value) stringLeaves(item, visit);
  else if (value !== null && typeof value === 'object')
    for (const item of Object.values(value)) stringLeaves(item, visit);
}

/** Every template expression inside a value, for validation. */
export function templateExpressions(value: unknown): string[] {
  const out: string[] = [];
  stringLeaves(value, (text) => {
    if (!hasTemplate(text)) return;
    for (const part of parseTemplate(text)) if ('expression' in part) out.push(part.expression);
  });
  return out;
}

/** Checks one string's templates; returns an error message, or undefined when they are well formed. */
export function checkTemplateString(text: string): string | undefined {
  if (!hasTemplate(text)) return undefined;
  let parts: TemplatePart[];
  try {
    parts = parseTemplate(text);
  } catch (error) {
    return firstLine(error);
  }
  for (const part of parts) {
    if (!('expression' in part)) continue;
    const problem = checkExpression(part.expression);
    if (problem) return `bad template ${part.source}: ${problem}`;
  }
  return undefined;
}

function interpolate(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return '';
}

function renderString(text: string, evaluate: (expression: string, source: string) => unknown): unknown {
  if (!hasTemplate(text)) return text;
  const parts = parseTemplate(text);
  const only = parts[0];
  if (parts.length === 1 && only && 'expression' in only) return evaluate(only.expression, only.source);
  return parts
    .map((part) => ('text' in part ? part.text : interpolate(evaluate(part.expression, part.source))))
    .join('');
}

function renderDeep(value: unknown, renderLeaf: (text: string) => unknown): unknown {
  if (typeof value === 'string') return renderLeaf(value);
  if (Array.isArray(value)) return value.map((item) => renderDeep(item, renderLeaf));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) setOwn(out, key, renderDeep(item, renderLeaf));
    return out;
  }
  return value;
}

/**
 * Renders templates in a parameter value, deeply: a string that is exactly one `{{ expr }}` becomes
 * the expression's value (number, bool, object); mixed text interpolates. Results are JSON values.
 */
export function renderTemplates(value: unknown, scope: ExpressionScope): unknown {
  return renderDeep(value, (text) =>
    renderString(text, (expression) => evaluateExpression(expression, scope)),
  );
}

/**
 * Renders runbook variables in declaration order; each variable sees the ones declared before it
 * through `vars`. Returns the rendered variables.
 */
export function renderVariables(
  variables: Record<string, unknown>,
  scope: ExpressionScope,
): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  const local: ExpressionScope = { ...scope, vars };
  for (const [name, value] of Object.entries(variables)) {
    try {
      setOwn(vars, name, renderTemplates(value, local));
    } catch (error) {
      throw new ExpressionError(`variable "${name}": ${firstLine(error)}`);
    }
  }
  return vars;
}

// ---------------------------------------------------------------------------------------------
// Partial evaluation, for `rebound runbooks plan`

function collectIdentifiers(node: unknown, out: Set<string>): void {
  if (node === null || typeof node !== 'object') return;
  const ast = node as Partial<ASTNode>;
  if (ast.op === 'id' && typeof ast.args === 'string') out.add(ast.args);
  const args: unknown = ast.args;
  if (Array.isArray(args)) for (const arg of args) collectIdentifiers(arg, out);
  else if (args !== null && typeof args === 'object') collectIdentifiers(args, out);
}

/** Top-level names an expression reads (alert, labels, vars, steps, ...). */
export function expressionReferences(expression: string): Set<string> {
  const names = new Set<string>();
  collectIdentifiers(compile(expression).ast, names);
  return names;
}

/** What a value looks like when some templates cannot be resolved yet. */
export interface PartialRender {
  value: unknown;
  /** Template expressions left as they are because they read earlier steps' results. */
  unresolved: string[];
}

/**
 * Renders what can be rendered before any step has run: templates that read `steps` stay as
 * written and are listed in `unresolved`; every other template is evaluated (errors propagate).
 */
export function renderTemplatesPartially(value: unknown, scope: ExpressionScope): PartialRender {
  const unresolved: string[] = [];
  const rendered = renderDeep(value, (text) => {
    if (!hasTemplate(text)) return text;
    const parts = parseTemplate(text);
    const deferred = parts.some(
      (part) => 'expression' in part && expressionReferences(part.expression).has('steps'),
    );
    if (deferred) {
      for (const part of parts)
        if ('expression' in part && expressionReferences(part.expression).has('steps'))
          unresolved.push(part.expression);
      // Resolve the parts that can be, keep the others as written.
      return parts
        .map((part) => {
          if ('text' in part) return part.text;
          if (expressionReferences(part.expression).has('steps')) return part.source;
          return interpolate(evaluateExpression(part.expression, scope));
        })
        .join('');
    }
    return renderString(text, (expression) => evaluateExpression(expression, scope));
  });
  return { value: rendered, unresolved };
}

function collectMembers(node: unknown, root: string, out: Set<string>): void {
  if (node === null || typeof node !== 'object') return;
  const ast = node as { op?: string; args?: unknown };
  const args = ast.args;
  if (Array.isArray(args)) {
    const [object, member] = args as [unknown, unknown];
    const isRoot = (n: unknown): boolean => {
      const candidate = n as { op?: string; args?: unknown } | null;
      return candidate?.op === 'id' && candidate.args === root;
    };
    if ((ast.op === '.' || ast.op === '.?') && isRoot(object) && typeof member === 'string') out.add(member);
    if ((ast.op === '[]' || ast.op === '[?]') && isRoot(object)) {
      const index = member as { op?: string; args?: unknown } | null;
      if (index?.op === 'value' && typeof index.args === 'string') out.add(index.args);
    }
    for (const arg of args) collectMembers(arg, root, out);
  } else if (args !== null && typeof args === 'object') collectMembers(args, root, out);
}

/** The members read directly off a top-level name: `steps.inspect.output` gives "inspect" for steps. */
export function memberReferences(expression: string, root: (typeof SCOPE_NAMES)[number]): string[] {
  const out = new Set<string>();
  collectMembers(compile(expression).ast, root, out);
  return [...out];
}
