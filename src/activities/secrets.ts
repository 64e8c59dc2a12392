// Resolves the secrets runbooks name (`{ secret: PAGER_TOKEN }`) on the worker, inside the activity:
// from the environment (REBOUND_SECRET_PAGER_TOKEN) or from the secrets file (secrets.file, a YAML
// mapping or NAME=value lines, readable only by its owner). A value never leaves the activity: it is
// not returned, not logged and not put into an error message.
import { readFileSync, statSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { parse as parseYaml } from 'yaml';
import { isSecretName } from '../runbook-lang/secret-refs';

export const SECRET_ENV_PREFIX = 'REBOUND_SECRET_';
export const SecretFailure = {
  SecretMissing: 'SecretMissing',
  SecretsFileUnsafe: 'SecretsFileUnsafe',
} as const;

export interface SecretSettings {
  /** Path of the secrets file, or undefined for environment-only secrets. */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

/** Why the secrets file cannot be used, or undefined when it can (or none is set). Never reads values into the message. */
export function secretsFileProblem(file: string | undefined): string | undefined {
  if (!file) return undefined;
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (error) {
    return `secrets.file (REBOUND_SECRETS_FILE): cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`;
  }
  if ((mode & 0o007) !== 0)
    return `secrets.file (REBOUND_SECRETS_FILE): ${file} is open to every user on this machine (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); make it readable by its owner only: chmod 600 ${file}`;
  return undefined;
}

function parseSecretsFile(text: string): Map<string, string> {
  const values = new Map<string, string>();
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch {
    parsed = undefined; // not YAML: read as NAME=value lines below
  }
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>))
      if (typeof value === 'string' || typeof value === 'number') values.set(name, String(value));
    return values;
  }
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq > 0) values.set(trimmed.slice(0, eq).trim(), trimmed.slice(eq + 1));
  }
  return values;
}

export interface SecretStore {
  /** The value, or a non-retryable failure naming the missing secret (never a value). */
  resolve(name: string): string;
  /** Whether the secret can be resolved (for start-up reports). */
  has(name: string): boolean;
  /**
   * Every secret value this worker can resolve, for masking text that is about to be stored
   * (container logs). Stays inside the activity, as resolve()'s values do. An unusable secrets
   * file contributes nothing here; resolve() reports it.
   */
  values(): string[];
}

export function createSecretStore(settings: SecretSettings): SecretStore {
  const env = settings.env ?? process.env;
  const fileValues = (): Map<string, string> => {
    if (!settings.file || secretsFileProblem(settings.file)) return new Map();
    try {
      return parseSecretsFile(readFileSync(settings.file, 'utf8'));
    } catch {
      return new Map();
    }
  };
  const lookup = (name: string): string | undefined => {
    const fromEnv = env[`${SECRET_ENV_PREFIX}${name}`];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    if (!settings.file) return undefined;
    const problem = secretsFileProblem(settings.file);
    if (problem) throw ApplicationFailure.nonRetryable(problem, SecretFailure.SecretsFileUnsafe);
    // Read on each use, so a rotated secret is picked up without restarting the worker.
    const value = parseSecretsFile(readFileSync(settings.file, 'utf8')).get(name);
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    resolve(name) {
      if (!isSecretName(name))
        throw ApplicationFailure.nonRetryable(
          `${JSON.stringify(name)} is not a secret name (letters, digits and _)`,
          SecretFailure.SecretMissing,
        );
      const value = lookup(name);
      if (value === undefined)
        throw ApplicationFailure.nonRetryable(
          `secret ${name} is not set on this worker: set ${SECRET_ENV_PREFIX}${name} in its environment${settings.file ? ` or add ${name} to ${settings.file}` : ' or add it to a secrets file (secrets.file, REBOUND_SECRETS_FILE)'}`,
          SecretFailure.SecretMissing,
        );
      return value;
    },
    has(name) {
      try {
        return lookup(name) !== undefined;
      } catch {
        return false;
      }
    },
    values() {
      const all = new Set<string>();
      for (const [key, value] of Object.entries(env))
        if (key.startsWith(SECRET_ENV_PREFIX) && value) all.add(value);
      for (const value of fileValues().values()) if (value !== '') all.add(value);
      return [...all];
    },
  };
}

/** Replaces every occurrence of the given secret values in a text, so an echoing server cannot put them in a history. */
export function scrubSecrets(text: string, values: readonly string[]): string {
  let out = text;
  for (const value of values) {
    if (value.length < 4) continue; // too short to scrub without mangling ordinary text
    out = out.split(value).join('***');
    const quoted = JSON.stringify(value).slice(1, -1);
    if (quoted !== value) out = out.split(quoted).join('***');
  }
  return out;
}
