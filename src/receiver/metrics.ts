// Prometheus metrics of the receiver. Labels are small fixed sets: never alert labels, ids or paths.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ReceiverMetrics {
  registry: Registry;
  alerts: Counter<'status' | 'outcome'>;
  rejectedPayloads: Counter<'reason'>;
  webhookSeconds: Histogram<'source'>;
  temporalErrors: Counter<'operation'>;
  approvals: Counter<'channel' | 'outcome'>;
}

export function createMetrics(): ReceiverMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rebound_' });
  return {
    registry,
    alerts: new Counter({
      name: 'rebound_alerts_received_total',
      help: 'Alerts received, by alert status and what became of them (started, joined, resolved, unmatched, rejected).',
      labelNames: ['status', 'outcome'],
      registers: [registry],
    }),
    rejectedPayloads: new Counter({
      name: 'rebound_webhook_rejected_total',
      help: 'Webhook payloads refused, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    webhookSeconds: new Histogram({
      name: 'rebound_webhook_duration_seconds',
      help: 'Time from a webhook request to its answer, including the hand-off to Temporal.',
      labelNames: ['source'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    temporalErrors: new Counter({
      name: 'rebound_temporal_errors_total',
      help: 'Calls to Temporal that failed, by operation.',
      labelNames: ['operation'],
      registers: [registry],
    }),
    approvals: new Counter({
      name: 'rebound_approval_decisions_total',
      help: 'Approval decisions received, by channel and outcome (accepted, refused).',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
    }),
  };
}
