// Secrets in runbooks are named, never written: `Authorization: { secret: PAGER_TOKEN, prefix: "Bearer " }`.
// The name travels through the workflow; the worker resolves the value inside the activity, so it never
// enters a history. Also the list of headers whose values are credentials, masked wherever shown.
// Pure code: used by the validator, the workflow sandbox, the audit and the activities.

/** Header names (lower case) whose values are credentials. */
export const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'apikey',
  'x-auth-token',
  'x-access-token',
  'x-csrf-token',
  'private-token',
  'x-vault-token',
  'x-goog-api-key',
  'x-amz-security-token',
  'x-hub-signature',
  'x-hub-signature-256',
]);

export function isSecretHeader(name: string): boolean {
  return SECRET_HEADERS.has(name.toLowerCase());
}

/** A reference to a secret the worker resolves: `{ secret: NAME, prefix?: "Bearer " }`. */
export interface SecretRef {
  secret: string;
  /** Text sent before the value, e.g. `Bearer `. It is not secret: it is stored with the runbook. */
  prefix?: string;
}

/** Upper or lower case letters, digits and `_`, not starting with a digit: also an environment name. */
export function isSecretName(name: string): boolean {
  if (name.length === 0 || name.length > 128) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
    const digit = c >= 48 && c <= 57;
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isSecretRef(value: unknown): value is SecretRef {
  if (!isPlainObject(value) || typeof value.secret !== 'string') return false;
  if (value.prefix !== undefined && typeof value.prefix !== 'string') return false;
  return Object.keys(value).every((k) => k === 'secret' || k === 'prefix');
}

/** What is wrong with one header value of a runbook, or undefined. */
export function headerValueProblem(name: string, value: unknown): string | undefined {
  if (isPlainObject(value) && 'secret' in value) {
    if (!isSecretRef(value))
      return `header ${name} must be { secret: NAME } with an optional prefix: "Bearer ", and nothing else`;
    if (!isSecretName(value.secret))
      return `header ${name} names the secret ${JSON.stringify(value.secret)}; a secret name is letters, digits and _ (e.g. PAGER_TOKEN)`;
    return undefined;
  }
  if (typeof value !== 'string') return `header ${name} must be a string or { secret: NAME }`;
  if (isSecretHeader(name))
    return `header ${name} must not hold a value in the runbook: it would be stored in clear in every incident's history; name a secret instead, e.g. ${name}: { secret: MY_TOKEN, prefix: "Bearer " } (the worker reads REBOUND_SECRET_MY_TOKEN or MY_TOKEN from secrets.file)`;
  return undefined;
}

export const MASK = '***';

/**
 * A copy of `value` in which every credential header value under a `headers` mapping is replaced by
 * ***: for showing histories recorded before secrets were named (or written by hand) without the value.
 */
export function maskSecretHeaders<T>(value: T, depth = 0): T {
  if (depth > 64 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v: unknown) => maskSecretHeaders(v, depth + 1)) as T;
  const out = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    let shown: unknown;
    if (key.toLowerCase() === 'headers' && isPlainObject(inner)) {
      const headers = {};
      for (const [name, v] of Object.entries(inner))
        define(
          headers,
          name,
          isSecretHeader(name) && typeof v === 'string' ? MASK : maskSecretHeaders(v, depth + 2),
        );
      shown = headers;
    } else shown = maskSecretHeaders(inner, depth + 1);
    define(out, key, shown);
  }
  return out as T;
}

/** Sets a key as data, so names such as `__proto__` stay plain keys. */
function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
