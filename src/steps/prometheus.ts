// The Prometheus step family: an instant PromQL query, and the impact of an incident counted through
// PromQL. Carried out by src/activities/prometheus.ts. Label values reach PromQL only through promql().
import { defineSteps, type ParamSpec } from './definition';

const url: ParamSpec = {
  kind: 'string',
  description: 'Prometheus base URL (default: the configured prometheus.url).',
};

export const PROMETHEUS_STEPS = defineSteps({
  'prometheus.query': {
    description: 'Run an instant PromQL query.',
    params: {
      query: {
        kind: 'string',
        required: true,
        check: 'promql',
        description:
          'PromQL expression; put label values in with {{ promql(labels.x) }} (a quoted PromQL string).',
      },
      url,
    },
    activity: 'prometheusQuery',
    check: true,
    dryRun: 'runs',
  },
  'impact.assess': {
    description: 'Count affected targets and services through PromQL.',
    params: {
      query: {
        kind: 'string',
        check: 'promql',
        description:
          'PromQL returning one series per affected target; label values with {{ promql(labels.x) }}.',
      },
      totalQuery: {
        kind: 'string',
        check: 'promql',
        description:
          'PromQL returning one series per target in scope; label values with {{ promql(labels.x) }}.',
      },
      serviceLabel: { kind: 'string', description: 'Label naming the service (default job).' },
      url,
    },
    activity: 'impactAssess',
    dryRun: 'runs',
  },
});
