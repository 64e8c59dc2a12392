// Finds a Temporal CLI without the open internet: TEMPORAL_CLI_PATH, then `temporal` on PATH, then the
// project's cache, then a build from the Go module proxy into that cache (once; reused after).
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export class TemporalCliNotFound extends Error {
  override name = 'TemporalCliNotFound';
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export interface LocateOptions {
  /** Directory of the project's cache; the binary goes in <cacheDir>/bin. */
  cacheDir: string;
  env?: NodeJS.ProcessEnv;
  /** Called with progress lines while building. */
  log?: (line: string) => void;
  /** Where to look for Go besides PATH (the official installer's place by default). */
  goFallbacks?: string[];
}

/** Where a Temporal CLI is now, without building one. */
export function findTemporalCli(options: LocateOptions): string | undefined {
  const env = options.env ?? process.env;
  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!isExecutable(explicit))
      throw new TemporalCliNotFound(
        `TEMPORAL_CLI_PATH is set to ${explicit}, which is not an executable file.`,
      );
    return explicit;
  }
  return onPath('temporal', env.PATH) ?? cachedPath(options.cacheDir, true);
}

function cachedPath(cacheDir: string, mustExist: boolean): string | undefined {
  const file = path.resolve(cacheDir, 'bin', 'temporal');
  return !mustExist || isExecutable(file) ? file : undefined;
}

/** Finds the CLI, or builds it with Go into the cache. */
export async function locateTemporalCli(options: LocateOptions): Promise<string> {
  const found = findTemporalCli(options);
  if (found) return found;
  const env = options.env ?? process.env;
  const go = onPath('go', env.PATH) ?? (options.goFallbacks ?? ['/usr/local/go/bin/go']).find(isExecutable);
  if (!go) {
    throw new TemporalCliNotFound(
      [
        'No Temporal CLI found, and Go is not installed to build one.',
        'Do one of:',
        '  - install Go 1.23+ (https://go.dev/dl or `apt-get install golang`) and run this again: Rebound builds the CLI once into ' +
          path.resolve(options.cacheDir, 'bin'),
        '  - put a `temporal` binary on PATH (https://docs.temporal.io/cli), or',
        '  - set TEMPORAL_CLI_PATH to one.',
      ].join('\n'),
    );
  }
  const binDir = path.resolve(options.cacheDir, 'bin');
  mkdirSync(binDir, { recursive: true });
  options.log?.(
    `Building the Temporal CLI (${TEMPORAL_CLI_MODULE}) into ${binDir}; this happens once and takes a few minutes…`,
  );
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], {
      env: { ...env, GOBIN: binDir, CGO_ENABLED: env.CGO_ENABLED ?? '0' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (exitCode) => resolve(exitCode ?? 1));
  });
  const built = cachedPath(options.cacheDir, true);
  if (code !== 0 || !built) {
    throw new TemporalCliNotFound(
      `Building the Temporal CLI failed (go install exited ${code}). Check that the Go module proxy is reachable (GOPROXY=${env.GOPROXY ?? 'default'}), or install a temporal binary and set TEMPORAL_CLI_PATH.`,
    );
  }
  return built;
}

/** The CLI's version line, for start-up output. */
export function temporalCliVersion(cli: string): string {
  const result = spawnSync(cli, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return (result.stdout || '').trim();
}
