// The JSON Schema half of runbook validation: ajv's errors turned into one message per problem an
// author can act on, at the key or value it is about, with "did you mean" hints for misspelt keys.
import { Ajv } from 'ajv';
import { runbookSchema } from './schema';
import {
  describePath,
  didYouMean,
  pointerToPath,
  typeOfValue,
  valueAt,
  type FileChecker,
} from './file-checker';

let validateSchema: ReturnType<Ajv['compile']> | undefined;
function schemaValidator(): ReturnType<Ajv['compile']> {
  validateSchema ??= new Ajv({ allErrors: true, strict: false, verbose: true }).compile(runbookSchema(false));
  return validateSchema;
}

const PATTERN_MESSAGES: Record<string, string> = {
  name: 'must be lowercase letters, digits and single dashes, e.g. restart-container',
  id: 'must be lowercase letters, digits, - and _, starting with a letter or digit, e.g. restart-api',
};

export function schemaProblems(checker: FileChecker, data: unknown): void {
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
