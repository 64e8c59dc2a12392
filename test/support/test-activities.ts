// Activities for interpreter tests: each records its calls and answers as the test programs it.
// They stand in for the integrations (tested on their own against real Docker, SMTP and Slack
// servers) so these tests can put the interpreter through retries, timeouts and failures on demand.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { createGuardActivities } from '../../src/activities/guards';
import type { ReboundActivities, StepInput } from '../../src/activities/types';
import { loadConfig, type Config } from '../../src/config';
import { temporalAddress } from './temporal';

export interface Call {
  activity: string;
  stepId: string;
  params: unknown;
  attempt: number;
  dryRun: boolean;
  at: number;
}

type Behaviour = (input: StepInput<Record<string, unknown>>, attempt: number) => unknown;

/** Safety settings for tests: the real guards, with waits short enough for a test. */
export function testSafety(overrides: Partial<Config['safety']> = {}): Config['safety'] {
  const config = loadConfig({ env: {} });
  return {
    ...config.safety,
    backoff: 200,
    maxBackoff: 2000,
    breakerQuiet: 60_000,
    lockWait: 30_000,
    ...overrides,
  };
}

export class TestActivities {
  readonly calls: Call[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private client: Client | undefined;

  /** The safety activities are the real ones, talking to the test server's safety workflows. */
  constructor(private readonly safety: Partial<Config['safety']> = {}) {}

  /** Programs what an activity does; by default activities succeed with a plain answer. */
  on(activity: keyof ReboundActivities, behaviour: Behaviour): this {
    this.behaviours.set(activity, behaviour);
    return this;
  }

  callsOf(activity: keyof ReboundActivities): Call[] {
    return this.calls.filter((c) => c.activity === activity);
  }

  activities(): Record<string, (input: never) => Promise<unknown>> {
    const config = loadConfig({ env: {} });
    config.safety = testSafety(this.safety);
    const safety = createGuardActivities(
      config,
      () => (this.client ??= new Client({ connection: Connection.lazy({ address: temporalAddress() }) })),
    );
    return { ...this.stepActivities(), ...safety };
  }

  private stepActivities(): Record<string, (input: StepInput<Record<string, unknown>>) => Promise<unknown>> {
    const names: Array<keyof ReboundActivities> = [
      'containerInspect',
      'containerRestart',
      'containerStart',
      'containerStop',
      'containerFailover',
      'containerWaitHealthy',
      'probeHttp',
      'probeTcp',
      'prometheusQuery',
      'impactAssess',
      'httpCall',
      'notify',
      'slackIncidentMessage',
    ];
    return Object.fromEntries(
      names.map((name) => [
        name,
        // eslint-disable-next-line @typescript-eslint/require-await -- async so a throwing behaviour rejects
        async (input: StepInput<Record<string, unknown>>) => {
          const attempt = Context.current().info.attempt;
          this.calls.push({
            activity: name,
            stepId: input.ctx?.stepId ?? '',
            params: input.params ?? input,
            attempt,
            dryRun: input.ctx?.dryRun ?? false,
            at: Date.now(),
          });
          const behaviour = this.behaviours.get(name);
          if (behaviour) return behaviour(input, attempt);
          return defaultAnswer(name, input);
        },
      ]),
    );
  }
}

function defaultAnswer(name: keyof ReboundActivities, input: StepInput<Record<string, unknown>>): unknown {
  if (
    input.ctx?.dryRun &&
    ['containerRestart', 'containerStart', 'containerStop', 'containerFailover', 'httpCall'].includes(name)
  )
    return { dryRun: true, wouldDo: `${name} ${JSON.stringify(input.params)}` };
  switch (name) {
    case 'containerInspect':
      return { exists: true, running: true, health: 'healthy', restartCount: 0 };
    case 'containerRestart':
      return { container: input.params.container, restarted: true };
    case 'containerWaitHealthy':
      return { healthy: true, observations: 1, last: { exists: true, running: true, health: 'healthy' } };
    case 'slackIncidentMessage':
      return { ts: '1700000000.000100' };
    case 'notify':
      return { channel: input.params.channel, id: `msg-${input.ctx.stepId}` };
    case 'prometheusQuery':
      return { resultType: 'vector', samples: [], value: null };
    case 'impactAssess':
      return {
        affectedTargets: 1,
        totalTargets: 4,
        share: 0.25,
        services: ['api'],
        summary: '1 of 4 targets down (api)',
      };
    default:
      return { ok: true };
  }
}

export function retryable(message: string, type = 'Transient'): ApplicationFailure {
  return ApplicationFailure.retryable(message, type);
}

export function fatal(message: string, type = 'Permanent'): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}
