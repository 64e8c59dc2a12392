// PromQL instant queries against the Prometheus HTTP API, and the impact assessment built on them.
import { ApplicationFailure } from '@temporalio/common';
import { badParameters, errorMessage, FailureType, httpUrl, requireString } from './errors';
import { readLimited, requestSignal } from './probes';
import type { EgressPolicy } from './egress';
import type { ImpactParams, ImpactResult, PromQueryParams, PromQueryResult, PromSample } from './types';

const QUERY_TIMEOUT_MS = 15_000;
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface PrometheusSettings {
  url?: string;
}

interface ApiAnswer {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

function sampleValue(raw: unknown): number {
  // Prometheus encodes sample values as strings ("1", "NaN", "+Inf") next to a float timestamp.
  const value = Array.isArray(raw) ? (raw as unknown[])[1] : undefined;
  return typeof value === 'string' || typeof value === 'number' ? Number(value) : Number.NaN;
}

function toSamples(resultType: string, result: unknown): PromSample[] {
  if (resultType === 'scalar' || resultType === 'string') return [{ labels: {}, value: sampleValue(result) }];
  if (!Array.isArray(result)) return [];
  return (result as { metric?: Record<string, string>; value?: unknown; values?: unknown[] }[]).map(
    (series) => ({
      labels: series.metric ?? {},
      // A range vector has no single value: take its latest point.
      value: sampleValue(series.value ?? series.values?.[series.values.length - 1]),
    }),
  );
}

export async function promQuery(baseUrl: string | undefined, queryText: unknown): Promise<PromQueryResult> {
  if (!baseUrl)
    throw ApplicationFailure.nonRetryable(
      'Prometheus is not configured on this worker: set REBOUND_PROMETHEUS_URL (prometheus.url) or give the step a url',
      FailureType.NotConfigured,
    );
  const query = requireString(queryText, 'query');
  const base = httpUrl(baseUrl, 'Prometheus url');
  const endpoint = new URL('api/v1/query', base.href.endsWith('/') ? base : `${base.href}/`);
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ query }).toString(),
      signal: requestSignal(QUERY_TIMEOUT_MS),
    });
  } catch (error) {
    // Network trouble is worth retrying.
    throw ApplicationFailure.retryable(
      `Prometheus at ${base.origin} unreachable: ${errorMessage(error)}`,
      FailureType.PrometheusError,
    );
  }
  const text = await readLimited(response, MAX_RESPONSE_BYTES);
  let answer: ApiAnswer;
  try {
    answer = JSON.parse(text) as ApiAnswer;
  } catch {
    throw ApplicationFailure.retryable(
      `Prometheus at ${base.origin} answered HTTP ${response.status} without JSON: ${text.slice(0, 200)}`,
      FailureType.PrometheusError,
    );
  }
  if (answer.status !== 'success') {
    const message = `Prometheus query ${JSON.stringify(query)} failed: ${answer.errorType ?? `HTTP ${response.status}`}: ${answer.error ?? 'no error text'}`;
    // 400 (bad_data) and 422 (execution) are about the query itself: retrying the same text cannot help.
    if (response.status === 400 || response.status === 422) throw badParameters(message);
    throw ApplicationFailure.retryable(message, FailureType.PrometheusError);
  }
  const resultType = answer.data?.resultType ?? 'vector';
  const samples = toSamples(resultType, answer.data?.result);
  return { resultType, samples, value: samples[0]?.value ?? null };
}

export function createPrometheusActivities(settings: PrometheusSettings, egress?: EgressPolicy) {
  /** A step's own url comes from the runbook (perhaps from an alert): it must be an allowed target. */
  const baseUrl = (what: string, stepUrl: unknown): string | undefined => {
    if (stepUrl === undefined || stepUrl === settings.url) return settings.url;
    if (egress) egress.checkUrl(what, stepUrl);
    return typeof stepUrl === 'string' ? stepUrl : undefined;
  };
  return {
    async prometheusQuery({ params }: { params: PromQueryParams }): Promise<PromQueryResult> {
      return promQuery(baseUrl('prometheus.query', params?.url), params?.query);
    },

    async impactAssess({ params }: { params: ImpactParams }): Promise<ImpactResult> {
      const url = baseUrl('impact.assess', params?.url);
      if (params.query === undefined)
        throw badParameters('query is required: PromQL returning one series per affected target');
      const serviceLabel = params.serviceLabel ?? 'job';
      const affected = await promQuery(url, params.query);
      // Without a total query the affected series are the only scope known.
      const total = params.totalQuery === undefined ? undefined : await promQuery(url, params.totalQuery);
      const affectedTargets = affected.samples.length;
      const totalTargets = total ? Math.max(total.samples.length, affectedTargets) : affectedTargets;
      const share = totalTargets === 0 ? 0 : affectedTargets / totalTargets;
      const services = [
        ...new Set(
          affected.samples.map((s) => s.labels[serviceLabel]).filter((v): v is string => Boolean(v)),
        ),
      ].sort();
      const percent = Math.round(share * 1000) / 10;
      const shown =
        services.slice(0, 5).join(', ') + (services.length > 5 ? ` and ${services.length - 5} more` : '');
      const summary =
        affectedTargets === 0
          ? 'No affected targets found'
          : `${affectedTargets} of ${totalTargets} targets affected (${percent}%)` +
            (services.length > 0
              ? ` across ${services.length} service${services.length === 1 ? '' : 's'}: ${shown}`
              : '');
      return { affectedTargets, totalTargets, share, services, summary };
    },
  };
}
