// The workflow code bundle, cached on disk: webpack takes seconds, so `rebound replay` and the worker
// reuse the bundle an earlier run built from the same sources. The cache file is named by a hash of
// everything the bundle is made of (the source tree, the installed packages, the SDK, Node), so a
// change to any of them builds a new one; its content carries its own hash, so a truncated or
// altered file is rebuilt, never run.
import { createHash, randomUUID } from 'node:crypto';
import {
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';
import { WORKFLOWS_PATH } from './workflows-path';

/** Bumped when the cache file's format or what goes into the key changes. */
const FORMAT = 'rebound-workflow-bundle-1';
const HEADER = '// rebound-workflow-bundle sha256=';
const ROOT = path.resolve(__dirname, '..');
/** Bundles kept in the cache directory (the most recently used); older ones are removed. */
const KEEP = 8;

export interface BundleCacheOptions {
  /** Directory of the cache; undefined: no cache (bundle every time). */
  dir?: string;
  workflowsPath?: string;
  /** The bundler hook a generated entry needs (code runbooks: the `rebound/runbook` alias). */
  webpackConfigHook?: BundleOptions['webpackConfigHook'];
  /** Extra text that goes into the key (tests vary it). */
  salt?: string;
}

export interface CachedBundle {
  code: string;
  /** hit: read from the cache; built: bundled (and stored, when a cache directory is set). */
  source: 'hit' | 'built';
  /** The cache file, when a cache directory is set. */
  file?: string;
}

/** Where the cache lives unless REBOUND_CACHE_DIR says otherwise; `off` turns it off. */
export function resolveCacheDir(
  setting: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (setting === 'off') return undefined;
  if (setting) return path.resolve(setting);
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'rebound');
}

function hashTree(hash: ReturnType<typeof createHash>, dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') hashTree(hash, file);
    } else if (entry.isFile()) {
      hash.update(`\0${path.relative(ROOT, file)}\0`);
      hash.update(readFileSync(file));
    }
  }
}

function hashFile(hash: ReturnType<typeof createHash>, file: string): void {
  hash.update(`\0${file}\0`);
  try {
    hash.update(readFileSync(file));
  } catch {
    hash.update('absent');
  }
}

/**
 * The key of a bundle: every source file it could include (all of src/, and the workflows path's
 * own directory when it lies elsewhere), the installed packages (npm's record of node_modules and
 * the lockfile), the SDK's version and Node's. A change anywhere in src/ rebuilds, which costs one
 * bundle; reusing a bundle that a change should have rebuilt would replay old code.
 */
export function bundleKey(workflowsPath: string = WORKFLOWS_PATH, salt = ''): string {
  const hash = createHash('sha256');
  hash.update(`${FORMAT}\0${process.version}\0${salt}\0${path.resolve(workflowsPath)}\0`);
  const src = path.join(ROOT, 'src');
  hashTree(hash, src);
  const own = path.dirname(path.resolve(workflowsPath));
  if (path.relative(src, own).startsWith('..')) hashTree(hash, own);
  hashFile(hash, path.join(ROOT, 'package-lock.json'));
  hashFile(hash, path.join(ROOT, 'node_modules', '.package-lock.json'));
  for (const pkg of ['@temporalio/worker', '@temporalio/workflow'])
    hashFile(hash, require.resolve(`${pkg}/package.json`));
  return hash.digest('hex').slice(0, 32);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The cached code when the file is complete and unaltered; undefined otherwise. */
function readCached(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const newline = text.indexOf('\n');
  if (!text.startsWith(HEADER) || newline < 0) return undefined;
  const code = text.slice(newline + 1);
  return sha256(code) === text.slice(HEADER.length, newline) ? code : undefined;
}

/** Writes the file whole or not at all: a temporary file renamed into place, so concurrent runs never see half of one. */
function writeCached(file: string, code: string): boolean {
  const temporary = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(temporary, `${HEADER}${sha256(code)}\n${code}`, { mode: 0o600 });
    renameSync(temporary, file);
    return true;
  } catch {
    // A read-only or full disk costs the next run a bundle, nothing else.
    try {
      rmSync(temporary, { force: true });
    } catch {
      // No directory to write in: no temporary file either.
    }
    return false;
  }
}

/** Removes all but the KEEP most recently used bundles; a run reading one that goes simply rebuilds it. */
function prune(dir: string): void {
  try {
    const bundles = readdirSync(dir)
      .filter((name) => /^workflow-bundle-[0-9a-f]+\.js(\..*\.tmp)?$/.test(name))
      .map((name) => ({ file: path.join(dir, name), at: statSync(path.join(dir, name)).mtimeMs }))
      .sort((a, b) => b.at - a.at);
    const hour = Date.now() - 3_600_000;
    for (const [index, bundle] of bundles.entries())
      // A temporary file younger than an hour may be another run's write in progress.
      if (bundle.file.endsWith('.tmp') ? bundle.at < hour : index >= KEEP)
        rmSync(bundle.file, { force: true });
  } catch {
    // Another run pruning at the same time, or an unreadable directory: nothing to do.
  }
}

/** The workflow bundle for workflowsPath, from the cache when a valid one is there, else built (and stored). */
export async function workflowBundle(options: BundleCacheOptions = {}): Promise<CachedBundle> {
  const workflowsPath = options.workflowsPath ?? WORKFLOWS_PATH;
  // A generated entry (code runbooks) names each runbook's content hash, and its directory is
  // hashed into the key, so a changed runbook rebuilds; the hook's presence is part of it too.
  const salt = `${options.salt ?? ''}${options.webpackConfigHook ? '\0hook' : ''}`;
  const file = options.dir
    ? path.join(options.dir, `workflow-bundle-${bundleKey(workflowsPath, salt)}.js`)
    : undefined;
  if (file) {
    const code = readCached(file);
    if (code !== undefined) {
      try {
        const now = new Date();
        utimesSync(file, now, now); // most recently used: kept by prune()
      } catch {
        // Read-only cache: still a hit.
      }
      return { code, source: 'hit', file };
    }
  }
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    ...(options.webpackConfigHook ? { webpackConfigHook: options.webpackConfigHook } : {}),
    logger: new DefaultLogger('ERROR'),
  });
  if (file && options.dir && writeCached(file, code)) prune(options.dir);
  return { code, source: 'built', ...(file ? { file } : {}) };
}
