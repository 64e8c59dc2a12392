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
  /** How often a build reports that it is still going (default 20 s). */
  progressEveryMs?: number;
}

function elapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * `go install` with a summary instead of its stream of "go: downloading" lines: a line every
 * `everyMs` with the time so far, the modules downloaded and whether it is compiling now; Go's other
 * output (errors) is passed on as it comes.
 */
async function buildWithProgress(
  go: string,
  env: NodeJS.ProcessEnv,
  binDir: string,
  say: (line: string) => void,
  everyMs: number,
): Promise<number> {
  const started = Date.now();
  let downloads = 0;
  let lastDownloadAt = started;
  const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], {
    env: { ...env, GOBIN: binDir, CGO_ENABLED: env.CGO_ENABLED ?? '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let partial = '';
  const onOutput = (chunk: Buffer): void => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('go: downloading ')) {
        downloads += 1;
        lastDownloadAt = Date.now();
      } else if (line.trim()) say(`go: ${line.replace(/^go: /, '')}`);
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const timer = setInterval(() => {
    // Go prints nothing while it compiles: a quiet spell after the downloads means compiling.
    const now = Date.now();
    const stage =
      downloads > 0 && now - lastDownloadAt > 10_000
        ? 'compiling'
        : `downloading modules (${downloads} so far)`;
    say(`… still building the Temporal CLI: ${elapsed(now - started)} so far, ${stage}`);
  }, everyMs);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (exitCode) => resolve(exitCode ?? 1));
    });
    if (partial.trim()) say(partial);
    if (code === 0)
      say(`Built the Temporal CLI in ${elapsed(Date.now() - started)} (${downloads} modules downloaded).`);
    return code;
  } finally {
    clearInterval(timer);
  }
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
  const say = options.log ?? (() => undefined);
  say(
    `Building the Temporal CLI (${TEMPORAL_CLI_MODULE}) into ${binDir}: this happens once. A first build usually takes about 3 minutes (Go downloads about 160 modules from the module proxy, then compiles); later starts reuse it.`,
  );
  const code = await buildWithProgress(go, env, binDir, say, options.progressEveryMs ?? 20_000);
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
