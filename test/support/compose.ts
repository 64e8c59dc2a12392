// Reading docker-compose.yml the way Compose does: YAML with merge keys, then ${VAR} interpolation
// from an env file. Lets the deployment tests check, and run, what the compose file describes.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SETTINGS } from '../../src/config';
import { REBOUND_BIN } from './processes';

export const ROOT = path.resolve(__dirname, '../..');
export const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
export const ENV_EXAMPLE = path.join(ROOT, '.env.example');

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: string[] | Record<string, { condition: string }>;
  container_name?: string;
  ports?: unknown[];
  volumes?: Array<string | { source?: string; target?: string }>;
  networks?: string[] | Record<string, unknown>;
  [key: string]: unknown;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  networks?: Record<string, { internal?: boolean } | null>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

/** KEY=VALUE lines; # comments and blank lines ignored; surrounding quotes removed. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`not KEY=VALUE: ${line}`);
    let value = line.slice(eq + 1).trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    out[line.slice(0, eq).trim()] = value;
  }
  return out;
}

/** Names a text requires with ${NAME:?...} or ${NAME?...}. */
export function requiredVariables(text: string): string[] {
  return [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?\?/g)].map((m) => m[1] ?? '');
}

/**
 * Compose's interpolation: $$ is a literal $; ${VAR}, $VAR, ${VAR:-default}, ${VAR-default},
 * ${VAR:?error}, ${VAR?error}, ${VAR:+alternative}. A missing required variable throws, as
 * `docker compose` refuses to start.
 */
export function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^}])*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced: string | undefined, op: string | undefined, arg: string | undefined, bare?: string) => {
      if (whole === '$$') return '$';
      const name = braced ?? bare ?? '';
      const value = vars[name];
      const unsetOrEmpty = value === undefined || value === '';
      switch (op) {
        case undefined:
          return value ?? '';
        case ':-':
          return unsetOrEmpty ? (arg ?? '') : value;
        case '-':
          return value === undefined ? (arg ?? '') : value;
        case ':?':
        case '?':
          if (op === ':?' ? unsetOrEmpty : value === undefined)
            throw new Error(`required variable ${name} is missing: ${arg ?? ''}`);
          return value ?? '';
        case ':+':
          return unsetOrEmpty ? '' : (arg ?? '');
        default:
          return whole;
      }
    },
  );
}

function interpolateTree(node: unknown, vars: Record<string, string>): unknown {
  if (typeof node === 'string') return interpolate(node, vars);
  if (Array.isArray(node)) return node.map((item) => interpolateTree(item, vars));
  if (node !== null && typeof node === 'object')
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateTree(v, vars)]));
  return node;
}

/** The compose file as written (merge keys resolved, nothing interpolated). */
export function readComposeRaw(file = COMPOSE_FILE): ComposeFile {
  return parseYaml(readFileSync(file, 'utf8'), { merge: true }) as ComposeFile;
}

/** The compose file as Compose sees it with this env file. */
export function readCompose(envFile = ENV_EXAMPLE, file = COMPOSE_FILE): ComposeFile {
  const vars = parseEnvFile(readFileSync(envFile, 'utf8'));
  return interpolateTree(readComposeRaw(file), vars) as ComposeFile;
}

/** A service's environment as a map of strings (Compose accepts a map or KEY=VALUE list). */
export function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const eq = entry.indexOf('=');
        return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

export function asList(value: string[] | string | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : value.split(/\s+/).filter(Boolean);
}

/**
 * deploy/compose-check built once into .rebound/bin (scripts/install.sh builds it too): Docker
 * Compose's own loader, compose-go, as a small program. Rebuilt when its sources are newer.
 */
export function composeCheckBinary(): string {
  const source = path.join(ROOT, 'deploy/compose-check');
  const binary = path.join(ROOT, '.rebound/bin/compose-check');
  const newest = Math.max(
    ...['main.go', 'go.mod', 'go.sum'].map((f) => statSync(path.join(source, f)).mtimeMs),
  );
  if (existsSync(binary) && statSync(binary).mtimeMs >= newest) return binary;
  const built = spawnSync('go', ['build', '-o', binary, '.'], {
    cwd: source,
    encoding: 'utf8',
    env: { ...process.env, GOFLAGS: '-mod=readonly' },
    timeout: 300_000,
  });
  if (built.error || built.status !== 0)
    throw new Error(
      `Cannot build deploy/compose-check (needs Go 1.24+ and the Go module proxy; bash scripts/install.sh builds it): ${built.error?.message ?? built.stderr}`,
    );
  return binary;
}

export interface Started {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Runs `node bin/rebound.js ...command` with exactly this Rebound environment (none inherited). */
export function startService(command: string[], env: Record<string, string>): Started {
  const settingEnv = new Set<string>([...SETTINGS.map((s) => s.env), 'REBOUND_CONFIG']);
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !settingEnv.has(k)));
  const child = spawn(process.execPath, [REBOUND_BIN, ...command], {
    cwd: ROOT,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

export async function stopService(service: Started): Promise<number | null> {
  if (service.child.exitCode !== null) return service.child.exitCode;
  service.child.kill('SIGTERM');
  const timer = setTimeout(() => service.child.kill('SIGKILL'), 40_000);
  const code = await service.exited;
  clearTimeout(timer);
  return code;
}

/** Polls until check() returns a value, failing with the service output after timeoutMs. */
export async function eventually<T>(
  what: string,
  service: Started,
  check: () => Promise<T | undefined>,
  timeoutMs = 45_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (service.child.exitCode !== null)
      assert.fail(`exited (${service.child.exitCode}) before ${what}:\n${service.output()}`);
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}:\n${service.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
