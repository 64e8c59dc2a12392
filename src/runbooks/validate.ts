// Validates one runbook file: YAML syntax, the JSON Schema (ajv), then the checks a schema cannot
// express. Every problem carries the line and column of the offending key or value, and all problems
// are reported together so an author fixes them in one pass.
import { createHash } from 'node:crypto';
import { Ajv } from 'ajv';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { parseDuration } from '../runbook-lang/duration';
import {
  checkCondition,
  checkTemplateString,
  expressionReferences,
  parseTemplate,
  memberReferences,
} from '../runbook-lang/expressions';
import { CONTAINER_NAME_RULE, isContainerName } from '../runbook-lang/container-names';
import { MatcherError, parseMatcher } from '../runbook-lang/matchers';
import { headerValueProblem } from '../runbook-lang/secret-refs';
import {
  PHASES,
  type Duration,
  type Matcher,
  type OnFailure,
  type Phase,
  type RetrySpec,
  type Runbook,
  type RunbookSnapshot,
  type Step,
  type StepType,
} from '../runbook-lang/types';
import type { ParamKind, ParamSpec } from '../steps/definition';
import { PARAM_KINDS, literalSchema } from '../steps/params';
import { STEP_DEFINITIONS, isStepType, routesToDockerHost } from '../steps/registry';
import { isObject } from '../workflows/values';
import { runbookSchema } from './schema';

export interface RunbookProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export const DEFAULT_RETRY: Required<Omit<RetrySpec, 'nonRetryableErrorTypes'>> = {
  maximumAttempts: 3,
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
};
export const DEFAULT_TIMEOUT = '30s';
export const DEFAULT_HOLD_OPEN = '10m';

const DURATION_HINT = 'write e.g. 500ms, 30s, 5m, 1h, 1h30m or a number of milliseconds';

type PathSegment = string | number;

let validateSchema: ReturnType<Ajv['compile']> | undefined;
function schemaValidator(): ReturnType<Ajv['compile']> {
  validateSchema ??= new Ajv({ allErrors: true, strict: false, verbose: true }).compile(runbookSchema(false));
  return validateSchema;
}

/** Edit distance, for "did you mean" hints on typos. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

function didYouMean(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 3))
    ? ` (did you mean "${best}"?)`
    : '';
}

class FileChecker {
  readonly problems: RunbookProblem[] = [];
  private readonly lines = new LineCounter();
  readonly doc: Document;

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: true });
    for (const error of this.doc.errors) {
      const at = error.linePos?.[0] ?? { line: 1, col: 1 };
      this.problems.push({
        file,
        line: at.line,
        column: at.col,
        message: `YAML: ${(error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
      });
    }
  }

  private position(offset: number | undefined): { line: number; column: number } {
    if (offset === undefined) return { line: 1, column: 1 };
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** The YAML node at a path, or the nearest existing ancestor. */
  private nodeAt(path: readonly PathSegment[]): Node | undefined {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, depth), true);
      if (node && typeof node === 'object' && 'range' in node) return node as Node;
    }
    return undefined;
  }

  /** The key node of the last path segment, when the parent is a mapping. */
  private keyAt(path: readonly PathSegment[]): Node | undefined {
    const parent = path.length === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true);
    const last = path[path.length - 1];
    if (!isMap(parent)) return undefined;
    for (const pair of parent.items) {
      if (isPair(pair) && isScalar(pair.key) && pair.key.value === last) return pair.key;
    }
    return undefined;
  }

  /** Reports a problem at the value of path (or at its key with at='key'). */
  report(path: readonly PathSegment[], message: string, at: 'value' | 'key' = 'value'): void {
    const node = at === 'key' ? (this.keyAt(path) ?? this.nodeAt(path)) : this.nodeAt(path);
    const { line, column } = this.position(node?.range?.[0]);
    this.problems.push({ file: this.file, line, column, message });
  }

  lineOf(path: readonly PathSegment[]): number {
    return this.position(this.nodeAt(path)?.range?.[0]).line;
  }
}

function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((seg) => (/^\d+$/.test(seg) ? Number(seg) : seg));
}

/** A path as the author reads it: steps[2] (id "restart").retry. */
function describePath(path: readonly PathSegment[], data: unknown): string {
  if (path.length === 0) return 'the runbook';
  let out = '';
  let node: unknown = data;
  for (const seg of path) {
    if (typeof seg === 'number') {
      out += `[${seg}]`;
      node = Array.isArray(node) ? node[seg] : undefined;
      const id = isObject(node) && typeof node.id === 'string' ? node.id : undefined;
      if (id !== undefined && path[0] === 'steps' && out === `steps[${seg}]`) out = `step "${id}"`;
    } else {
      out += out === '' ? seg : out.endsWith('"') ? ` ${seg}` : `.${seg}`;
      node = isObject(node) ? node[seg] : undefined;
    }
  }
  return out;
}

function typeOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let node = data;
  for (const seg of path) {
    if (typeof seg === 'number') node = Array.isArray(node) ? node[seg] : undefined;
    else node = isObject(node) ? node[seg] : undefined;
  }
  return node;
}

const PATTERN_MESSAGES: Record<string, string> = {
  name: 'must be lowercase letters, digits and single dashes, e.g. restart-container',
  id: 'must be lowercase letters, digits, - and _, starting with a letter or digit, e.g. restart-api',
};

function schemaProblems(checker: FileChecker, data: unknown): void {
  const validate = schemaValidator();
  if (validate(data)) return;
  const errors = validate.errors ?? [];
  // oneOf/anyOf failures explain themselves once; their branches' errors would only add noise.
  const alternatives = errors
    .filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')
    .map((e) => e.instancePath);
  const seen = new Set<string>();
  for (const error of errors) {
    const underAlternative = alternatives.some(
      (p) =>
        error.keyword !== 'oneOf' &&
        error.keyword !== 'anyOf' &&
        (error.instancePath === p || error.instancePath.startsWith(`${p}/`)),
    );
    if (underAlternative) continue;
    const path = pointerToPath(error.instancePath);
    const where = describePath(path, data);
    const field = String(path[path.length - 1] ?? '');
    const value = valueAt(data, path);
    const params = error.params as Record<string, unknown>;
    let message: string;
    let at: 'value' | 'key' = 'value';
    let reportPath = path;
    switch (error.keyword) {
      case 'additionalProperties': {
        const key = String(params.additionalProperty);
        const allowed = Object.keys((error.parentSchema as Record<string, unknown>).properties ?? {});
        message = `unknown key "${key}" in ${where}${didYouMean(key, allowed)}; allowed keys: ${allowed.join(', ')}`;
        reportPath = [...path, key];
        at = 'key';
        break;
      }
      case 'required':
        message = `${where} is missing the required key "${String(params.missingProperty)}"`;
        break;
      case 'enum': {
        const allowed = (params.allowedValues as unknown[]).map(String);
        const got = typeof value === 'string' ? `"${value}"` : typeOfValue(value);
        const what = field === 'type' && path[0] === 'steps' ? 'unknown step type' : `${where} has the value`;
        message = `${what} ${got}${typeof value === 'string' ? didYouMean(value, allowed) : ''}; allowed: ${allowed.join(', ')}`;
        break;
      }
      case 'type':
        message = `${where} must be ${String(params.type).replace(',', ' or ')}, not ${typeOfValue(value)}`;
        break;
      case 'pattern':
        message = `${where} "${String(value)}" ${PATTERN_MESSAGES[field] ?? `must match ${String(params.pattern)}`}`;
        break;
      case 'minItems':
        message =
          field === 'steps'
            ? 'steps is empty; a runbook needs at least one step'
            : `${where} must have at least ${String(params.limit)} item(s)`;
        break;
      case 'minimum':
        message = `${where} is ${String(value)} but must be at least ${String(params.limit)}`;
        break;
      case 'oneOf':
      case 'anyOf':
        message =
          field === 'onFailure'
            ? `${where} must be abort, continue, escalate or { goto: step-id }, not ${typeOfValue(value)}`
            : `${where} has an unexpected form (${typeOfValue(value)}): ${error.message ?? 'no alternative fits'}`;
        break;
      default:
        message = `${where} ${error.message ?? 'is invalid'}`;
    }
    const signature = `${reportPath.join('/')}|${message}`;
    if (seen.has(signature)) continue;
    seen.add(signature);
    checker.report(reportPath, message, at);
  }
}

function checkDuration(checker: FileChecker, path: PathSegment[], value: unknown, what: string): void {
  if (value === undefined) return;
  if ((typeof value !== 'string' && typeof value !== 'number') || parseDuration(value) === undefined)
    checker.report(path, `${what} ${JSON.stringify(value)} is not a duration; ${DURATION_HINT}`);
}

function checkRetry(checker: FileChecker, path: PathSegment[], retry: unknown, where: string): void {
  if (!isObject(retry)) return;
  checkDuration(checker, [...path, 'initialInterval'], retry.initialInterval, `${where}.initialInterval`);
  checkDuration(checker, [...path, 'maximumInterval'], retry.maximumInterval, `${where}.maximumInterval`);
  const initial =
    typeof retry.initialInterval === 'string' || typeof retry.initialInterval === 'number'
      ? parseDuration(retry.initialInterval)
      : undefined;
  const maximum =
    typeof retry.maximumInterval === 'string' || typeof retry.maximumInterval === 'number'
      ? parseDuration(retry.maximumInterval)
      : undefined;
  if (initial !== undefined && maximum !== undefined && maximum < initial)
    checker.report(
      [...path, 'maximumInterval'],
      `${where}.maximumInterval is shorter than initialInterval; it must be at least as long`,
    );
}

/** Reports every template string under value that does not parse. */
function checkTemplates(
  checker: FileChecker,
  path: PathSegment[],
  value: unknown,
  context: TemplateContext,
): void {
  if (typeof value === 'string') {
    const problem = checkTemplateString(value);
    if (problem) {
      checker.report(path, `${problem}${dashHint(value, context.allSteps)}`);
      return;
    }
    if (!value.includes('{{')) return;
    for (const part of parseTemplate(value)) {
      if ('expression' in part) checkReferences(checker, path, part.expression, context);
    }
  } else if (Array.isArray(value))
    value.forEach((item, i) => checkTemplates(checker, [...path, i], item, context));
  else if (isObject(value))
    for (const [key, item] of Object.entries(value)) checkTemplates(checker, [...path, key], item, context);
}

/** CEL reads `steps.a-b` as a subtraction: point authors at the bracket form. */
function dashHint(expression: string, stepIds: readonly string[]): string {
  const dashed = stepIds.find((id) => id.includes('-') && expression.includes(`steps.${id}`));
  return dashed
    ? `; a step id with "-" is read as steps["${dashed}"] (steps.${dashed} means a subtraction)`
    : '';
}

interface TemplateContext {
  /** Variables declared (so far). */
  variables: readonly string[];
  /** Ids of the steps before this one; undefined where steps cannot be referenced at all. */
  earlierSteps?: readonly string[];
  allSteps: readonly string[];
}

/** steps.X must be an earlier step and vars.X a declared variable; typos otherwise fail at run time. */
function checkReferences(
  checker: FileChecker,
  path: PathSegment[],
  expression: string,
  context: TemplateContext,
): void {
  const roots = expressionReferences(expression);
  if (roots.has('steps')) {
    if (!context.earlierSteps) {
      checker.report(
        path,
        `"${expression}" reads steps, but no step has run when this is rendered; use labels, annotations, alert or vars`,
      );
    } else {
      for (const id of memberReferences(expression, 'steps')) {
        if (context.earlierSteps.includes(id)) continue;
        const later = context.allSteps.includes(id);
        checker.report(
          path,
          later
            ? `"${expression}" reads steps.${id}, which runs later; only earlier steps' results are available (${context.earlierSteps.join(', ') || 'none yet'})`
            : `"${expression}" reads steps.${id}, but there is no step "${id}"${didYouMean(id, context.allSteps)}; steps: ${context.allSteps.join(', ')}`,
        );
      }
    }
  }
  if (roots.has('vars')) {
    for (const name of memberReferences(expression, 'vars')) {
      if (!context.variables.includes(name))
        checker.report(
          path,
          `"${expression}" reads vars.${name}, but no such variable is declared before it${didYouMean(name, context.variables)}; variables: ${context.variables.join(', ') || 'none'}`,
        );
    }
  }
}

function hasUserInfo(text: string): boolean {
  try {
    const url = new URL(text);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}

/** Names whose values an alert sender controls: in PromQL they must be quoted with promql(). */
const UNTRUSTED_SCOPE = ['labels', 'annotations', 'alert', 'vars'];

function checkPromqlTemplates(
  checker: FileChecker,
  path: PathSegment[],
  name: string,
  text: string,
  type: string,
): void {
  let parts: ReturnType<typeof parseTemplate>;
  try {
    parts = parseTemplate(text);
  } catch {
    return; // reported by the template check
  }
  for (const part of parts) {
    if (!('expression' in part)) continue;
    const expression = part.expression.trim();
    if (expression.startsWith('promql(') && expression.endsWith(')')) continue;
    let names: Set<string>;
    try {
      names = expressionReferences(expression);
    } catch {
      continue; // reported by the template check
    }
    if (UNTRUSTED_SCOPE.some((n) => names.has(n)))
      checker.report(
        path,
        `${type} parameter "${name}" puts ${part.source} into PromQL unquoted: a label value could change the query; write {{ promql(${expression}) }} in place of "${part.source}" (it adds the quotes)`,
      );
  }
}

function checkParamValue(
  checker: FileChecker,
  path: PathSegment[],
  name: string,
  spec: ParamSpec,
  value: unknown,
  type: string,
): void {
  if (spec.check === 'promql' && typeof value === 'string')
    checkPromqlTemplates(checker, path, name, value, type);
  if (typeof value === 'string' && value.includes('{{')) return; // a template: checked at run time
  if (name === 'url' && typeof value === 'string' && hasUserInfo(value))
    checker.report(
      path,
      `${type} parameter "url" carries a user or password, which would be stored in every incident's history; name a secret in a header instead (Authorization: { secret: NAME })`,
    );
  if (spec.check === 'container')
    for (const literal of typeof value === 'string' ? [value] : Array.isArray(value) ? value : [])
      if (typeof literal === 'string' && !literal.includes('{{') && !isContainerName(literal))
        checker.report(
          path,
          `${type} parameter "${name}" is ${JSON.stringify(literal)}, not ${CONTAINER_NAME_RULE}`,
        );
  const ownCheck = OWN_CHECKS[spec.kind];
  if (ownCheck) return ownCheck(checker, path, name, value, type);
  // Everything else is checked against the parameter's JSON Schema, the one the editor schema holds.
  const validate = literalValidator(spec);
  if (validate(value)) return;
  const error = validate.errors?.[0];
  if (error?.instancePath === '' && error.keyword === 'enum')
    checker.report(
      path,
      `${type} parameter "${name}" is "${String(value)}"; allowed: ${(spec.allowed ?? []).join(', ')}`,
    );
  else if (error?.instancePath === '' && error.keyword === 'minimum')
    checker.report(
      path,
      `${type} parameter "${name}" is ${String(value)} but must be at least ${spec.minimum}`,
    );
  else if (error?.instancePath === '' && error.keyword === 'maximum')
    checker.report(
      path,
      `${type} parameter "${name}" is ${String(value)} but must be at most ${spec.maximum}`,
    );
  else
    checker.report(
      path,
      `${type} parameter "${name}" must be ${PARAM_KINDS[spec.kind].expected ?? 'valid'}, not ${typeOfValue(value)}`,
    );
}

const literalValidators = new WeakMap<ParamSpec, ReturnType<Ajv['compile']>>();
let paramAjv: Ajv | undefined;
function literalValidator(spec: ParamSpec): ReturnType<Ajv['compile']> {
  let validate = literalValidators.get(spec);
  if (!validate) {
    paramAjv ??= new Ajv({ strict: false });
    validate = paramAjv.compile(literalSchema(spec));
    literalValidators.set(spec, validate);
  }
  return validate;
}

type OwnCheck = (
  checker: FileChecker,
  path: PathSegment[],
  name: string,
  value: unknown,
  type: string,
) => void;

/** Kinds with rules a JSON Schema cannot state (a duration's syntax, secret references, reminders' messages). */
const OWN_CHECKS: Partial<Record<ParamKind, OwnCheck>> = {
  duration: (checker, path, name, value, type) =>
    checkDuration(checker, path, value, `${type} parameter "${name}"`),
  headers: (checker, path, name, value, type) => {
    if (!isObject(value))
      return checker.report(
        path,
        `${type} parameter "${name}" must be a mapping of header name to a string or { secret: NAME }, not ${typeOfValue(value)}`,
      );
    for (const [header, headerValue] of Object.entries(value)) {
      const problem = headerValueProblem(header, headerValue);
      if (problem) checker.report([...path, header], `${type} ${problem}`);
    }
  },
  reminders: (checker, path, name, value, type) => {
    if (!Array.isArray(value))
      return checker.report(
        path,
        `${type} parameter "${name}" must be a list of { after, channel, to? }, not ${typeOfValue(value)}`,
      );
    value.forEach((reminder, i) => {
      const at = [...path, i];
      if (!isObject(reminder))
        return checker.report(
          at,
          `reminder ${i + 1} must be a mapping { after: 5m, channel: slack|email, to?: ... }`,
        );
      for (const key of Object.keys(reminder))
        if (!['after', 'channel', 'to'].includes(key))
          checker.report(
            [...at, key],
            `unknown key "${key}" in reminder; allowed keys: after, channel, to`,
            'key',
          );
      if (reminder.after === undefined)
        checker.report(at, 'reminder is missing "after" (how long to wait before reminding, e.g. 5m)');
      else checkDuration(checker, [...at, 'after'], reminder.after, 'reminder after');
      if (reminder.channel !== 'slack' && reminder.channel !== 'email')
        checker.report(
          reminder.channel === undefined ? at : [...at, 'channel'],
          `reminder channel must be slack or email, not ${typeOfValue(reminder.channel)}`,
        );
    });
  },
  any: () => {},
};

function checkStepParams(
  checker: FileChecker,
  path: PathSegment[],
  type: StepType,
  params: Record<string, unknown>,
  stepName: string,
): void {
  const spec = STEP_DEFINITIONS[type];
  const known = Object.keys(spec.params);
  for (const [name, value] of Object.entries(params)) {
    const paramSpec = spec.params[name];
    if (!paramSpec) {
      checker.report(
        [...path, name],
        `unknown parameter "${name}" for ${type}${didYouMean(name, known)}; ${type} takes: ${known.join(', ')}`,
        'key',
      );
      continue;
    }
    checkParamValue(checker, [...path, name], name, paramSpec, value, type);
  }
  for (const [name, paramSpec] of Object.entries(spec.params)) {
    if (paramSpec.required && params[name] === undefined)
      checker.report(
        path,
        `${stepName} (${type}) is missing the required parameter "${name}" in with: ${paramSpec.description}`,
      );
  }
  if (type === 'approval') {
    const approvers = Array.isArray(params.approvers) ? params.approvers.length : 0;
    const groups = Array.isArray(params.groups) ? params.groups.length : 0;
    const templated = typeof params.approvers === 'string' || typeof params.groups === 'string';
    if (approvers === 0 && groups === 0 && !templated)
      checker.report(
        path,
        `${stepName} (approval) names nobody who may approve; set with.approvers (identities) and/or with.groups (group names)`,
      );
    const min = params.minApprovers;
    if (typeof min === 'number' && groups === 0 && !templated && approvers > 0 && min > approvers)
      checker.report(
        [...path, 'minApprovers'],
        `${stepName} needs ${min} approvers but names only ${approvers}; lower minApprovers or add approvers or groups`,
      );
  }
}

function semanticProblems(checker: FileChecker, data: Record<string, unknown>): void {
  // Matchers.
  if (Array.isArray(data.matchers)) {
    data.matchers.forEach((text, i) => {
      if (typeof text !== 'string') return;
      try {
        parseMatcher(text);
      } catch (error) {
        checker.report(['matchers', i], error instanceof MatcherError ? error.message : String(error));
      }
    });
  }
  checkDuration(checker, ['holdOpen'], data.holdOpen, 'holdOpen');
  if (isObject(data.defaults)) {
    checkDuration(checker, ['defaults', 'timeout'], data.defaults.timeout, 'defaults.timeout');
    checkRetry(checker, ['defaults', 'retry'], data.defaults.retry, 'defaults.retry');
  }

  const steps = Array.isArray(data.steps) ? data.steps : [];
  const stepIds = steps.map((s) => (isObject(s) && typeof s.id === 'string' ? s.id : ''));
  const allSteps = [...new Set(stepIds.filter(Boolean))];
  const variables = isObject(data.variables) ? data.variables : {};
  const variableNames = Object.keys(variables);

  // Templates outside steps: no step has run when they are rendered.
  if (typeof data.target === 'string')
    checkTemplates(checker, ['target'], data.target, { variables: variableNames, allSteps });
  Object.entries(variables).forEach(([name, value], index) =>
    checkTemplates(checker, ['variables', name], value, {
      variables: variableNames.slice(0, index),
      allSteps,
    }),
  );

  const firstLineOfId = new Map<string, number>();
  let highestPhase = -1;
  let highestPhaseStep = '';
  steps.forEach((step, index) => {
    if (!isObject(step)) return;
    const path: PathSegment[] = ['steps', index];
    const id = typeof step.id === 'string' ? step.id : `#${index + 1}`;
    const stepName = `step "${id}"`;
    if (typeof step.id === 'string') {
      const first = firstLineOfId.get(step.id);
      if (first !== undefined)
        checker.report(
          [...path, 'id'],
          `duplicate step id "${step.id}" (already used on line ${first}); step ids must be unique`,
        );
      else firstLineOfId.set(step.id, checker.lineOf([...path, 'id']));
    }
    const phaseIndex = typeof step.phase === 'string' ? PHASES.indexOf(step.phase as Phase) : -1;
    if (phaseIndex >= 0) {
      if (phaseIndex < highestPhase)
        checker.report(
          [...path, 'phase'],
          `${stepName} is in phase "${String(step.phase)}" after step "${highestPhaseStep}" in "${PHASES[highestPhase]}"; phases must not go backwards: ${PHASES.join(' → ')}`,
        );
      else [highestPhase, highestPhaseStep] = [phaseIndex, id];
    }
    const type = isStepType(step.type) ? step.type : undefined;
    if (step.host !== undefined && type && !routesToDockerHost(type))
      checker.report(
        [...path, 'host'],
        `${stepName} is ${type}; host applies to container.* steps only`,
        'key',
      );
    if (type && (step.with === undefined || isObject(step.with)))
      checkStepParams(
        checker,
        step.with === undefined ? path : [...path, 'with'],
        type,
        step.with ?? {},
        stepName,
      );
    checkDuration(checker, [...path, 'timeout'], step.timeout, `${stepName} timeout`);
    checkRetry(checker, [...path, 'retry'], step.retry, `${stepName} retry`);
    const context: TemplateContext = {
      variables: variableNames,
      earlierSteps: stepIds.slice(0, index).filter(Boolean),
      allSteps,
    };
    if (step.with !== undefined) checkTemplates(checker, [...path, 'with'], step.with, context);
    if (typeof step.when === 'string') {
      const problem = step.when.includes('{{')
        ? 'when is a CEL expression: write it without {{ }}, e.g. labels.severity == "critical"'
        : checkCondition(step.when);
      if (problem)
        checker.report([...path, 'when'], `${stepName} when: ${problem}${dashHint(step.when, allSteps)}`);
      else checkReferences(checker, [...path, 'when'], step.when, context);
    }
    if (isObject(step.onFailure) && typeof step.onFailure.goto === 'string') {
      const target = step.onFailure.goto;
      if (!allSteps.includes(target))
        checker.report(
          [...path, 'onFailure', 'goto'],
          `${stepName} onFailure goto "${target}" names no step${didYouMean(target, allSteps)}; step ids: ${allSteps.join(', ')}`,
        );
      else if (target === id)
        checker.report(
          [...path, 'onFailure', 'goto'],
          `${stepName} onFailure goto names itself; retry covers repeating a step`,
        );
    }
  });
}

function normalise(data: Record<string, unknown>): Runbook {
  const defaults = isObject(data.defaults) ? data.defaults : {};
  const steps = (data.steps as Record<string, unknown>[]).map((raw): Step => {
    const step: Step = {
      id: raw.id as string,
      phase: raw.phase as Phase,
      type: raw.type as StepType,
      with: isObject(raw.with) ? raw.with : {},
    };
    if (typeof raw.when === 'string') step.when = raw.when;
    if (isObject(raw.retry)) step.retry = raw.retry;
    if (raw.timeout !== undefined) step.timeout = raw.timeout as Duration;
    if (raw.onFailure !== undefined) step.onFailure = raw.onFailure as OnFailure;
    if (typeof raw.host === 'string') step.host = raw.host;
    if (typeof raw.description === 'string') step.description = raw.description;
    return step;
  });
  const runbook: Runbook = {
    name: data.name as string,
    description: typeof data.description === 'string' ? data.description : '',
    matchers: (data.matchers as string[]).map((text): Matcher => parseMatcher(text)),
    variables: isObject(data.variables) ? data.variables : {},
    defaults: {
      timeout: (defaults.timeout as Duration | undefined) ?? DEFAULT_TIMEOUT,
      retry: { ...DEFAULT_RETRY, ...(isObject(defaults.retry) ? defaults.retry : {}) },
    },
    onResolvedBeforeAction: data.onResolvedBeforeAction === 'continue' ? 'continue' : 'stop',
    holdOpen: (data.holdOpen as Duration | undefined) ?? DEFAULT_HOLD_OPEN,
    steps,
  };
  if (typeof data.target === 'string' && data.target.trim() !== '') runbook.target = data.target;
  if (isObject(data.notifications)) runbook.notifications = data.notifications;
  return runbook;
}

/** sha256 of the file's bytes, hex. */
export function contentHash(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Validates one file's text; returns the problems (empty when valid) and the runbook when valid.
 * The hash is of `bytes` when given (the file as read), else of the text as UTF-8.
 */
export function validateRunbookText(
  file: string,
  text: string,
  bytes?: Uint8Array,
): { problems: RunbookProblem[]; snapshot?: RunbookSnapshot } {
  const checker = new FileChecker(file, text);
  if (checker.problems.length > 0) return { problems: checker.problems };
  const data: unknown = checker.doc.toJS();
  if (!isObject(data)) {
    checker.report([], `a runbook is a YAML mapping with name, matchers and steps, not ${typeOfValue(data)}`);
    return { problems: checker.problems };
  }
  schemaProblems(checker, data);
  semanticProblems(checker, data);
  const problems = checker.problems.sort((a, b) => a.line - b.line || a.column - b.column);
  if (problems.length > 0) return { problems };
  return { problems, snapshot: { runbook: normalise(data), hash: contentHash(bytes ?? text), source: file } };
}
