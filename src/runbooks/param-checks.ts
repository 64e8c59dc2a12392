// A step's `with` parameters: each literal value checked against its kind's schema and own rules
// (Docker container names, PromQL quoting, URLs without credentials), templates parsed, and untrusted
// values kept out of PromQL unless quoted. The parameter specs come from the step registry.
import { Ajv } from 'ajv';
import { parseDuration } from '../runbook-lang/duration';
import { expressionReferences, parseTemplate } from '../runbook-lang/expressions';
import { CONTAINER_NAME_RULE, isContainerName } from '../runbook-lang/container-names';
import { headerValueProblem } from '../runbook-lang/secret-refs';
import { type StepType } from '../runbook-lang/types';
import type { ParamKind, ParamSpec } from '../steps/definition';
import { PARAM_KINDS, literalSchema } from '../steps/params';
import { STEP_DEFINITIONS } from '../steps/registry';
import { isObject } from '../workflows/values';
import { didYouMean, typeOfValue, type FileChecker, type PathSegment } from './file-checker';

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

export function checkStepParams(
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

const DURATION_HINT = 'write e.g. 500ms, 30s, 5m, 1h, 1h30m or a number of milliseconds';

export function checkDuration(checker: FileChecker, path: PathSegment[], value: unknown, what: string): void {
  if (value === undefined) return;
  if ((typeof value !== 'string' && typeof value !== 'number') || parseDuration(value) === undefined)
    checker.report(path, `${what} ${JSON.stringify(value)} is not a duration; ${DURATION_HINT}`);
}
