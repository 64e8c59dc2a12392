// The runbook JSON Schema; each step type's parameters come from its definition (src/steps/), as the
// validator's do. runbooks/runbook.schema.json is this schema written out (`npm run schema:runbooks`);
// a test keeps the two identical.
import { PHASES } from '../runbook-lang/types';
import { paramSchema, type Schema } from '../steps/params';
import { STEP_DEFINITIONS, STEP_TYPES } from '../steps/registry';

const duration: Schema = {
  type: ['string', 'integer'],
  description: 'A duration: 500ms, 30s, 5m, 1h, 1h30m, 7d, or a number of milliseconds.',
  examples: ['30s', '5m'],
};

const retry: Schema = {
  type: 'object',
  description: 'Activity retry policy; step values are merged over the runbook defaults.',
  additionalProperties: false,
  properties: {
    maximumAttempts: {
      type: 'integer',
      minimum: 1,
      description: 'Attempts in all, including the first (>= 1).',
    },
    initialInterval: { ...duration, description: 'Wait before the first retry.' },
    backoffCoefficient: {
      type: 'number',
      minimum: 1,
      description: 'Growth of the wait between retries (>= 1).',
    },
    maximumInterval: { ...duration, description: 'Longest wait between retries.' },
    nonRetryableErrorTypes: {
      type: 'array',
      items: { type: 'string' },
      description: 'Error types never retried.',
    },
  },
};

/** Per-type `with` schemas, for editors: completion and hints for each step type's parameters. */
function perTypeParams(): Schema[] {
  return Object.entries(STEP_DEFINITIONS).map(([type, spec]) => ({
    if: { properties: { type: { const: type } }, required: ['type'] },
    then: {
      properties: {
        with: {
          type: 'object',
          description: spec.description,
          additionalProperties: false,
          required: Object.entries(spec.params)
            .filter(([, p]) => p.required)
            .map(([name]) => name),
          properties: Object.fromEntries(
            Object.entries(spec.params).map(([name, p]) => [name, paramSchema(p)]),
          ),
        },
      },
    },
  }));
}

/**
 * The runbook schema. `forEditors` adds the per-type parameter hints; the loader leaves them out and
 * checks parameters itself, with messages that name the step type.
 */
export function runbookSchema(forEditors = true): Schema {
  const step: Schema = {
    type: 'object',
    description: 'One step of the procedure.',
    additionalProperties: false,
    required: ['id', 'phase', 'type'],
    properties: {
      id: {
        type: 'string',
        pattern: '^[a-z0-9][a-z0-9_-]*$',
        description: 'Unique step id: lowercase letters, digits, - and _.',
      },
      phase: {
        type: 'string',
        enum: [...PHASES],
        description: 'detect, assess, remediate, validate or escalate; never goes backwards.',
      },
      type: { type: 'string', enum: [...STEP_TYPES], description: 'What the step does.' },
      with: {
        type: 'object',
        description: 'Parameters of the step type; string values may hold {{ templates }}.',
      },
      when: { type: 'string', description: 'CEL condition; the step is skipped when it is false.' },
      retry,
      timeout: { ...duration, description: 'Timeout of one attempt (default: defaults.timeout).' },
      onFailure: {
        description: 'What a failure does: abort (default), continue, escalate, or { goto: step-id }.',
        oneOf: [
          { type: 'string', enum: ['abort', 'continue', 'escalate'] },
          {
            type: 'object',
            additionalProperties: false,
            required: ['goto'],
            properties: { goto: { type: 'string', description: 'Id of the step to go to.' } },
          },
        ],
      },
      host: { type: 'string', description: 'Docker host name (container.* steps only).' },
      description: { type: 'string', description: 'Free text for humans.' },
    },
  };
  if (forEditors) step.allOf = perTypeParams();
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://rebound.dev/schemas/runbook.schema.json',
    title: 'Rebound runbook',
    description: 'A recovery procedure Rebound runs when an alert matches.',
    type: 'object',
    additionalProperties: false,
    required: ['name', 'matchers', 'steps'],
    properties: {
      name: {
        type: 'string',
        pattern: '^[a-z0-9]+(-[a-z0-9]+)*$',
        description: 'Unique runbook name: lowercase letters, digits and dashes.',
      },
      description: { type: 'string', description: 'What the runbook is for.' },
      matchers: {
        type: 'array',
        minItems: 1,
        items: { type: 'string' },
        description:
          'Alertmanager matchers, all of which must fit the alert labels: name="v", name!="v", name=~"re", name!~"re".',
      },
      target: {
        type: 'string',
        description: 'Template naming what one incident is about (default: the alert fingerprint).',
      },
      variables: {
        type: 'object',
        description: 'Values rendered once at incident start; templates allowed; read as vars.NAME.',
      },
      defaults: {
        type: 'object',
        additionalProperties: false,
        description: 'Defaults for every step.',
        properties: { timeout: { ...duration, description: 'Step timeout (default 30s).' }, retry },
      },
      onResolvedBeforeAction: {
        type: 'string',
        enum: ['stop', 'continue'],
        description: 'When the alert resolves before any mutating step: stop (default) or continue.',
      },
      holdOpen: {
        ...duration,
        description: 'How long a remediated incident waits for the alert to resolve (default 10m).',
      },
      notifications: {
        type: 'object',
        additionalProperties: false,
        description: 'Where incident messages go.',
        properties: {
          slack: {
            type: 'object',
            additionalProperties: false,
            required: ['channel'],
            properties: { channel: { type: 'string', description: 'Slack channel, e.g. #ops.' } },
          },
          email: {
            type: 'object',
            additionalProperties: false,
            required: ['to'],
            properties: {
              to: { type: 'array', minItems: 1, items: { type: 'string' }, description: 'Email addresses.' },
            },
          },
        },
      },
      steps: { type: 'array', minItems: 1, items: step, description: 'The procedure, in order.' },
    },
  };
}

/** The editor schema as it is written to runbooks/runbook.schema.json. */
export function runbookSchemaText(): string {
  return `${JSON.stringify(runbookSchema(true), null, 2)}\n`;
}
