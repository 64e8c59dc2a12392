// Validates one runbook file: YAML syntax, the JSON Schema (ajv), then the checks a schema cannot
// express. Every problem carries the line and column of the offending key or value, and all problems
// are reported together so an author fixes them in one pass. file-checker.ts places problems in the
// file, schema-problems.ts explains the schema's errors, param-checks.ts checks each step's `with`.
import { createHash } from 'node:crypto';
import { parseDuration } from '../runbook-lang/duration';
import {
  checkCondition,
  checkTemplateString,
  expressionReferences,
  parseTemplate,
  memberReferences,
} from '../runbook-lang/expressions';
import { MatcherError, parseMatcher } from '../runbook-lang/matchers';
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
import { isStepType, routesToDockerHost } from '../steps/registry';
import { isObject } from '../workflows/values';
import { didYouMean, FileChecker, typeOfValue, type PathSegment, type RunbookProblem } from './file-checker';
import { checkDuration, checkStepParams } from './param-checks';
import { schemaProblems } from './schema-problems';

export type { RunbookProblem } from './file-checker';

export const DEFAULT_RETRY: Required<Omit<RetrySpec, 'nonRetryableErrorTypes'>> = {
  maximumAttempts: 3,
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
};
export const DEFAULT_TIMEOUT = '30s';
export const DEFAULT_HOLD_OPEN = '10m';

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
