// Strict reading of webhook payloads (Alertmanager version 4, Grafana version 1) into the alerts
// Rebound keeps. Unknown fields are ignored so newer senders keep working; a known field of the
// wrong shape is refused with a message naming where it is.
import { createHash } from 'node:crypto';
import type { AlertSnapshot } from '../workflows/contract';
import { isObject } from '../workflows/values';
import { HttpError } from './http';

/** One webhook after validation: where it came from and each alert on its own status. */
export interface WebhookBatch {
  receiver: string;
  groupKey: string;
  /** Alerts Alertmanager left out because of max_alerts. */
  truncatedAlerts: number;
  alerts: AlertSnapshot[];
}

/** A 400 whose message says what is wrong and where; `reason` is the metrics label. */
export class PayloadError extends HttpError {
  constructor(
    message: string,
    readonly reason: 'bad_json' | 'invalid' | 'too_many_alerts' | 'unsupported_version' = 'invalid',
    status = 400,
  ) {
    super(status, message);
    this.name = 'PayloadError';
  }
}

type Json = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  return `${typeof value} ${JSON.stringify(value)}`;
}

// A lone UTF-16 surrogate (from a \ud800 escape) cannot be stored as UTF-8, so it would not come
// back verbatim: refuse it rather than silently replace it.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkText(value: string, where: string): string {
  if (LONE_SURROGATE.test(value)) throw new PayloadError(`${where} is not valid Unicode (a lone surrogate)`);
  return value;
}

function field(object: Json, name: string, where: string): unknown {
  if (!(name in object) || object[name] === undefined)
    throw new PayloadError(`${where}${name} is required but missing`);
  return object[name];
}

function stringField(object: Json, name: string, where: string, optional = false): string {
  if (optional && (object[name] === undefined || object[name] === null)) return '';
  const value = field(object, name, where);
  if (typeof value !== 'string')
    throw new PayloadError(`${where}${name} must be a string, not ${describe(value)}`);
  return checkText(value, `${where}${name}`);
}

/** Label and annotation maps: names are non-empty strings, values strings. */
function stringMap(object: Json, name: string, where: string, optional = false): Record<string, string> {
  if (optional && (object[name] === undefined || object[name] === null)) return {};
  const value = field(object, name, where);
  if (!isObject(value))
    throw new PayloadError(`${where}${name} must be an object of strings, not ${describe(value)}`);
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    const path = `${where}${name}${/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}`;
    if (key === '') throw new PayloadError(`${where}${name} has an empty name`);
    checkText(key, `the name of ${path}`);
    if (typeof item !== 'string') throw new PayloadError(`${path} must be a string, not ${describe(item)}`);
    // Any name Alertmanager accepts is a plain key: `out["__proto__"] = v` would drop it.
    Object.defineProperty(out, key, {
      value: checkText(item, path),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function timeField(object: Json, name: string, where: string, optional = false): string {
  const text = stringField(object, name, where, optional);
  if (text === '' && optional) return text;
  // RFC 3339 as Alertmanager and Grafana write it (Go's zero time included, for "no end").
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text) ||
    Number.isNaN(Date.parse(text))
  )
    throw new PayloadError(
      `${where}${name} must be an RFC 3339 time such as 2024-05-01T12:00:00Z, not ${JSON.stringify(text)}`,
    );
  return text;
}

function statusField(object: Json, where: string): 'firing' | 'resolved' {
  const status = stringField(object, 'status', where);
  if (status !== 'firing' && status !== 'resolved')
    throw new PayloadError(`${where}status must be "firing" or "resolved", not ${JSON.stringify(status)}`);
  return status;
}

function parseAlert(raw: unknown, where: string, grafana: boolean): AlertSnapshot {
  if (!isObject(raw)) throw new PayloadError(`${where} must be an object, not ${describe(raw)}`);
  const prefix = `${where}.`;
  return {
    status: statusField(raw, prefix),
    labels: stringMap(raw, 'labels', prefix),
    annotations: stringMap(raw, 'annotations', prefix, grafana),
    startsAt: timeField(raw, 'startsAt', prefix),
    endsAt: timeField(raw, 'endsAt', prefix, grafana),
    generatorURL: stringField(raw, 'generatorURL', prefix, grafana),
    fingerprint: stringField(raw, 'fingerprint', prefix, grafana),
  };
}

export function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '')
    throw new PayloadError('the request body is empty; expected a JSON webhook payload', 'bad_json');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new PayloadError(`the request body is not valid JSON: ${(error as Error).message}`, 'bad_json');
  }
}

/**
 * Reads a webhook payload. `kind` picks the expected version: Alertmanager "4" or Grafana "1"
 * (Grafana's extra fields — values, silenceURL, orgId, ... — are ignored).
 */
export function parseWebhook(
  parsed: unknown,
  kind: 'alertmanager' | 'grafana',
  maxAlerts: number,
): WebhookBatch {
  if (!isObject(parsed)) throw new PayloadError(`the payload must be a JSON object, not ${describe(parsed)}`);
  const grafana = kind === 'grafana';
  const expected = grafana ? '1' : '4';
  const version = field(parsed, 'version', '');
  if (version !== expected)
    throw new PayloadError(
      `version must be "${expected}" (${grafana ? "Grafana's webhook contact point" : "Alertmanager's webhook"} payload), not ${JSON.stringify(version)}`,
      'unsupported_version',
    );
  const receiver = stringField(parsed, 'receiver', '');
  const groupKey = stringField(parsed, 'groupKey', '', grafana);
  statusField(parsed, '');
  stringMap(parsed, 'groupLabels', '', grafana);
  stringMap(parsed, 'commonLabels', '', grafana);
  stringMap(parsed, 'commonAnnotations', '', grafana);
  stringField(parsed, 'externalURL', '', grafana);
  let truncatedAlerts = 0;
  if (parsed.truncatedAlerts !== undefined && parsed.truncatedAlerts !== null) {
    const t = parsed.truncatedAlerts;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0)
      throw new PayloadError(`truncatedAlerts must be a whole number of at least 0, not ${describe(t)}`);
    truncatedAlerts = t;
  }
  const alerts = field(parsed, 'alerts', '');
  if (!Array.isArray(alerts)) throw new PayloadError(`alerts must be an array, not ${describe(alerts)}`);
  if (alerts.length === 0) throw new PayloadError('alerts is empty; a webhook carries at least one alert');
  if (alerts.length > maxAlerts)
    throw new PayloadError(
      `alerts holds ${alerts.length} alerts, more than the limit of ${maxAlerts} (receiver.maxAlerts); set max_alerts in the Alertmanager webhook config`,
      'too_many_alerts',
      413,
    );
  return {
    receiver,
    groupKey,
    truncatedAlerts,
    alerts: alerts.map((alert, i) => parseAlert(alert, `alerts[${i}]`, grafana)),
  };
}

/**
 * A stable fingerprint from the labels (sorted names and values), for senders that give none:
 * the same labels always name the same alert.
 */
export function labelsFingerprint(labels: Record<string, string>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k] ?? ''}`)
    .join('\u0001');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}
