// The probe step family: is an HTTP endpoint or a TCP port answering? Carried out by
// src/activities/probes.ts on the main task queue; read-only, so also re-run before a mutating step.
import { defineSteps, type ParamSpec } from './definition';
import { text } from './output-text';

/** Expected HTTP status; shared with http.call. */
export const expectStatus: ParamSpec = {
  kind: 'status',
  description: 'Expected HTTP status code or list of codes (default 2xx).',
};
export const timeoutMs: ParamSpec = {
  kind: 'integer',
  minimum: 1,
  description: 'Request timeout in milliseconds.',
};

/** How a probe answered, in a few words. */
function describeProbe(out: Readonly<Record<string, unknown>>): string {
  return out.ok === true
    ? `answered${typeof out.status === 'number' ? ` ${out.status}` : ''} in ${text(out.durationMs, '?')} ms`
    : `no good answer: ${text(out.error, text(out.status, 'none'))}`;
}

export const PROBE_STEPS = defineSteps({
  'probe.http': {
    description: 'Probe an HTTP endpoint.',
    params: {
      url: { kind: 'string', required: true, description: 'URL to request.' },
      method: { kind: 'string', description: 'HTTP method (default GET).' },
      expectStatus,
      bodyMatch: { kind: 'string', description: 'Regular expression the body must match.' },
      timeoutMs,
    },
    activity: 'probeHttp',
    check: true,
    dryRun: 'runs',
    summary: describeProbe,
  },
  'probe.tcp': {
    description: 'Open a TCP connection.',
    params: {
      host: { kind: 'string', required: true, description: 'Host name or address.' },
      port: { kind: 'integer', required: true, minimum: 1, description: 'TCP port.' },
      timeoutMs,
    },
    activity: 'probeTcp',
    check: true,
    dryRun: 'runs',
    summary: describeProbe,
  },
});
