// Each parameter kind, declared once: the JSON Schema of a literal value (which the runbook schema holds
// for editors and which the validator checks values against) and how a problem with it is worded.
// Durations, headers and reminders have rules a schema cannot state; the validator adds those checks.
import type { ParamKind, ParamSpec } from './definition';

export type Schema = Record<string, unknown>;

const STRING_OR_LIST: Schema = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };

interface KindInfo {
  /** JSON Schema of a literal value of this kind (before the spec's own enum/minimum/maximum). */
  schema: Schema;
  /** What a value must be, for "must be …, not …"; absent where the validator's own check words it. */
  expected?: string;
}

export const PARAM_KINDS: Record<ParamKind, KindInfo> = {
  string: { schema: { type: 'string' }, expected: 'a string' },
  integer: { schema: { type: 'integer' }, expected: 'a whole number' },
  number: { schema: { type: 'number' }, expected: 'a number' },
  boolean: { schema: { type: 'boolean' }, expected: 'true or false' },
  duration: { schema: { type: ['string', 'integer'] } },
  'string-list': { schema: { type: 'array', items: { type: 'string' } }, expected: 'a list of strings' },
  'string-or-list': { schema: STRING_OR_LIST, expected: 'a string or a list of strings' },
  status: {
    schema: { anyOf: [{ type: 'integer' }, { type: 'array', items: { type: 'integer' } }] },
    expected: 'a status code or a list of status codes',
  },
  headers: {
    schema: {
      type: 'object',
      additionalProperties: {
        anyOf: [
          { type: 'string' },
          {
            type: 'object',
            required: ['secret'],
            additionalProperties: false,
            properties: {
              secret: { type: 'string', description: 'Name of a secret the worker holds.' },
              prefix: { type: 'string', description: 'Sent before the value, e.g. "Bearer ".' },
            },
          },
        ],
      },
    },
  },
  reminders: {
    schema: {
      type: 'array',
      items: {
        type: 'object',
        required: ['after', 'channel'],
        additionalProperties: false,
        properties: {
          after: {
            type: ['string', 'integer'],
            description: 'A duration: 500ms, 30s, 5m, 1h, 1h30m, 7d, or a number of milliseconds.',
            examples: ['30s', '5m'],
          },
          channel: { type: 'string', enum: ['slack', 'email'] },
          to: STRING_OR_LIST,
        },
      },
    },
  },
  any: { schema: {} },
};

/** The JSON Schema a literal value of this parameter must satisfy. */
export function literalSchema(spec: ParamSpec): Schema {
  const own: Schema = { ...PARAM_KINDS[spec.kind].schema };
  if (spec.allowed) own.enum = [...spec.allowed];
  if (spec.minimum !== undefined) own.minimum = spec.minimum;
  if (spec.maximum !== undefined) own.maximum = spec.maximum;
  return own;
}

const TEMPLATE = { type: 'string', pattern: '\\{\\{', description: 'A {{ template }} producing the value.' };

/** The parameter as the editor schema describes it: a literal value, or a template producing one. */
export function paramSchema(spec: ParamSpec): Schema {
  const base: Schema = { description: spec.description };
  if (spec.kind === 'any') return base;
  const own = literalSchema(spec);
  // Any parameter may be a template producing the value at run time; a free string already is one.
  return spec.kind === 'string' && !spec.allowed ? { ...base, ...own } : { ...base, anyOf: [own, TEMPLATE] };
}
