// Loading a code runbook (a .ts file in the runbooks directory) on the Node side: compile it with
// esbuild, evaluate it with only the Rebound API importable, and read its metadata (name, matchers,
// target, defaults) for routing, lint and plan. Its procedure is not run here: the worker's bundle
// holds it (code-bundle.ts). Problems come back as file:line:col, positions in the .ts file.
import { SourceMap } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { transformSync, type TransformFailure } from 'esbuild';
import * as api from '../runbook-api';
import { parseDuration } from '../runbook-lang/duration';
import { MatcherError, parseMatcher } from '../runbook-lang/matchers';
import type { Matcher, Runbook, RunbookSnapshot } from '../runbook-lang/types';
import {
  DEFAULT_HOLD_OPEN,
  DEFAULT_RETRY,
  DEFAULT_TIMEOUT,
  contentHash,
  type RunbookProblem,
} from './validate';

/** The one module a code runbook may import; bundler and loader resolve it to src/runbook-api. */
export const RUNBOOK_API_SPECIFIER = 'rebound/runbook';
export const RUNBOOK_API_PATH = path.resolve(__dirname, '..', 'runbook-api', 'index.ts');

/** Runbook files that are code: *.ts (not declaration files). */
export function isCodeRunbookFile(name: string): boolean {
  return /\.ts$/i.test(name) && !/\.d\.ts$/i.test(name);
}

const NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** Line (1-based) of the first `key:` in the source, for metadata problems; 1 when not found. */
function lineOfKey(text: string, key: string): number {
  const index = text.split('\n').findIndex((l) => new RegExp(`^\\s*${key}\\s*[:(]`).test(l));
  return index === -1 ? 1 : index + 1;
}

/** Where in the .ts file a position of the compiled code comes from. */
function originalPosition(
  map: SourceMap | undefined,
  line: number,
  column: number,
): { line: number; column: number } {
  const entry = map?.findEntry(line - 1, column - 1);
  if (!entry || !('originalLine' in entry)) return { line, column };
  return { line: entry.originalLine + 1, column: (entry.originalColumn ?? 0) + 1 };
}

function isTransformFailure(error: unknown): error is TransformFailure {
  return typeof error === 'object' && error !== null && Array.isArray((error as TransformFailure).errors);
}

/** Compiles and evaluates a code runbook; returns its declaration or the problems. */
function evaluate(
  file: string,
  fullPath: string,
  text: string,
): { problems: RunbookProblem[]; declaration?: api.CodeRunbook } {
  let code: string;
  let map: SourceMap | undefined;
  try {
    const out = transformSync(text, {
      loader: 'ts',
      format: 'cjs',
      target: 'es2022',
      sourcemap: 'external',
      sourcefile: fullPath,
    });
    code = out.code;
    map = new SourceMap(JSON.parse(out.map) as ConstructorParameters<typeof SourceMap>[0]);
  } catch (error) {
    if (!isTransformFailure(error)) throw error;
    return {
      problems: error.errors.map((e) => ({
        file,
        line: e.location?.line ?? 1,
        column: (e.location?.column ?? 0) + 1,
        message: `does not compile: ${e.text}`,
      })),
    };
  }
  const problems: RunbookProblem[] = [];
  const module = { exports: {} as Record<string, unknown> };
  const requireApi = (specifier: string): unknown => {
    if (specifier === RUNBOOK_API_SPECIFIER) return api;
    throw new ImportRefused(specifier);
  };
  try {
    // One line of wrapper, so positions in the compiled code keep their lines.
    const script = new vm.Script(`(function (exports, require, module) {${code}\n})`, { filename: fullPath });
    const wrapper = script.runInThisContext() as (e: unknown, r: unknown, m: unknown) => void;
    wrapper(module.exports, requireApi, module);
  } catch (error) {
    const at = stackPosition(error, fullPath);
    const position = at ? originalPosition(map, at.line, at.column) : { line: 1, column: 1 };
    const message =
      error instanceof ImportRefused
        ? `imports "${error.specifier}": a code runbook may import only "${RUNBOOK_API_SPECIFIER}"`
        : `throws when loaded: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    problems.push({ file, ...position, message });
    return { problems };
  }
  const declaration = module.exports.default;
  if (!api.isCodeRunbook(declaration)) {
    problems.push({
      file,
      line: 1,
      column: 1,
      message: `a code runbook's default export is codeRunbook({ ... }) from "${RUNBOOK_API_SPECIFIER}"`,
    });
    return { problems };
  }
  return { problems, declaration };
}

class ImportRefused extends Error {
  constructor(readonly specifier: string) {
    super(`import of ${specifier} refused`);
  }
}

/** The first stack frame in the runbook file (vm positions: line and column, 1-based). */
function stackPosition(error: unknown, fullPath: string): { line: number; column: number } | undefined {
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  for (const line of stack.split('\n')) {
    const at = line.lastIndexOf(`${fullPath}:`);
    if (at === -1) continue;
    const match = /^:(\d+):(\d+)/.exec(line.slice(at + fullPath.length));
    if (match) {
      const lineNo = Number(match[1]);
      // The wrapper's opening shares line 1 with the code.
      const offset = lineNo === 1 ? '(function (exports, require, module) {'.length : 0;
      return { line: lineNo, column: Math.max(1, Number(match[2]) - offset) };
    }
  }
  return undefined;
}

/** The metadata checks a YAML runbook's schema makes, for a code runbook's declaration. */
function metadataProblems(file: string, text: string, d: api.CodeRunbook): RunbookProblem[] {
  const problems: RunbookProblem[] = [];
  const report = (key: string, message: string): void => {
    problems.push({ file, line: lineOfKey(text, key), column: 1, message });
  };
  if (typeof d.name !== 'string' || !NAME.test(d.name))
    report('name', `name must be lowercase letters, digits and dashes (got ${JSON.stringify(d.name)})`);
  if (typeof d.description !== 'string') report('description', 'description must be a string');
  if (!Array.isArray(d.matchers) || d.matchers.length === 0)
    report('matchers', 'matchers must be a non-empty list of matchers such as alertname = "Down"');
  else
    for (const m of d.matchers as unknown[]) {
      try {
        parseMatcher(String(m));
      } catch (error) {
        report('matchers', error instanceof MatcherError ? error.message : String(error));
      }
    }
  if (d.target !== undefined && typeof d.target !== 'string')
    report('target', 'target must be a template string');
  for (const [key, value] of [
    ['holdOpen', d.holdOpen],
    ['timeout', d.defaults?.timeout],
  ] as const)
    if (value !== undefined && parseDuration(value) === undefined)
      report(key, `${key} is not a duration: ${JSON.stringify(value)}`);
  if (d.onResolvedBeforeAction !== undefined && !['stop', 'continue'].includes(d.onResolvedBeforeAction))
    report('onResolvedBeforeAction', 'onResolvedBeforeAction must be stop or continue');
  if (typeof d.procedure !== 'function')
    report('procedure', 'procedure must be an async function (rb) => { ... }');
  if (d.escalation !== undefined && typeof d.escalation !== 'function')
    report('escalation', 'escalation must be an async function (rb) => { ... }');
  return problems;
}

/** The runbook as routing and the workflow input see it: metadata, no steps. */
function toRunbook(d: api.CodeRunbook): Runbook {
  const runbook: Runbook = {
    name: d.name,
    description: d.description,
    matchers: d.matchers.map((m): Matcher => parseMatcher(m)),
    variables: {},
    defaults: {
      timeout: d.defaults?.timeout ?? DEFAULT_TIMEOUT,
      retry: { ...DEFAULT_RETRY, ...(d.defaults?.retry ?? {}) },
    },
    onResolvedBeforeAction: d.onResolvedBeforeAction === 'continue' ? 'continue' : 'stop',
    holdOpen: d.holdOpen ?? DEFAULT_HOLD_OPEN,
    steps: [],
  };
  if (typeof d.target === 'string' && d.target.trim() !== '') runbook.target = d.target;
  if (d.notifications)
    runbook.notifications = JSON.parse(JSON.stringify(d.notifications)) as Runbook['notifications'];
  return runbook;
}

/**
 * Loads one code runbook: `file` as it appears in problems (relative to the runbooks directory),
 * `fullPath` to compile. The hash is of the file's bytes, as for YAML.
 */
export function loadCodeRunbook(
  file: string,
  fullPath: string,
  bytes: Uint8Array,
): { problems: RunbookProblem[]; snapshot?: RunbookSnapshot; declaration?: api.CodeRunbook } {
  const text = Buffer.from(bytes).toString('utf8');
  const { problems, declaration } = evaluate(file, path.resolve(fullPath), text);
  if (!declaration) return { problems };
  const metadata = metadataProblems(file, text, declaration);
  if (metadata.length > 0) return { problems: metadata };
  return {
    problems: [],
    declaration,
    snapshot: { runbook: toRunbook(declaration), hash: contentHash(bytes), source: file, kind: 'code' },
  };
}
