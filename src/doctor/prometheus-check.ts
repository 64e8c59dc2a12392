// The doctor's Prometheus check: the configured server answers its build-info endpoint.
import type { Config } from '../config';
import { ok, problem, warning, why, withoutCredentials, type CheckResult } from './check-result';
import type { RunbookNeeds } from './runbook-checks';

/** Prometheus answers its build-info endpoint. */
export async function checkPrometheus(config: Config, needs: RunbookNeeds): Promise<CheckResult> {
  if (!config.prometheus.url)
    return needs.prometheus
      ? warning(
          'prometheus',
          'runbooks query Prometheus, but REBOUND_PROMETHEUS_URL is not set',
          'set REBOUND_PROMETHEUS_URL (http://prometheus:9090), or give those steps a url',
        )
      : ok('prometheus', 'not configured, and no runbook queries it');
  const shown = withoutCredentials(config.prometheus.url);
  try {
    const url = new URL('api/v1/status/buildinfo', config.prometheus.url.replace(/\/?$/, '/'));
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    const body = (await response.json().catch(() => ({}))) as { data?: { version?: string } };
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return ok('prometheus', `${shown} answers (Prometheus ${body.data?.version ?? 'version unknown'})`);
  } catch (error) {
    return problem(
      'prometheus',
      `${shown}: ${why(error)}`,
      'check REBOUND_PROMETHEUS_URL and that this host may reach it',
    );
  }
}
