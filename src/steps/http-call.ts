// The http.call step: call an HTTP API to change something (mutating). Carried out by
// src/activities/http-call.ts; its target is the URL's origin, which the guards lock and count.
import { defineSteps } from './definition';
import { expectStatus, timeoutMs } from './probe';

export const HTTP_CALL_STEPS = defineSteps({
  'http.call': {
    description: 'Call an HTTP API (mutating).',
    params: {
      url: { kind: 'string', required: true, description: 'URL to call.' },
      method: { kind: 'string', description: 'HTTP method (default POST).' },
      headers: {
        kind: 'headers',
        description:
          'Request headers; credentials are named, never written: Authorization: { secret: NAME, prefix: "Bearer " } (resolved on the worker).',
      },
      body: { kind: 'any', description: 'Request body; objects are sent as JSON.' },
      expectStatus,
      timeoutMs,
    },
    activity: 'httpCall',
    mutates: true,
    targets: (params) => {
      const match = typeof params.url === 'string' ? /^(https?:\/\/[^/?#]+)/i.exec(params.url.trim()) : null;
      return { resources: [match?.[1] ? `http:${match[1].toLowerCase()}` : ''], containers: [] };
    },
    // It heartbeats while it waits: a worker that dies mid-call is noticed within 10 s, not the step timeout.
    heartbeatMs: 10_000,
    dryRun: 'reports',
  },
});
