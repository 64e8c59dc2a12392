// `rebound runbooks lint` for code runbooks: the TypeScript compiler's type errors, and the
// determinism rules Rebound's own workflow code follows (eslint.config.mjs), as file:line:col. A code
// runbook imports only `rebound/runbook`: no Node built-ins, no @temporalio/* (no proxyActivities: an
// activity is reached through rb.step and its guards), no clock, randomness, timers or process.
// Also what `rebound runbooks plan` can know of a code runbook before it runs: the steps it names.
import { builtinModules } from 'node:module';
import path from 'node:path';
import type ts from 'typescript';
import { RUNBOOK_API_PATH, RUNBOOK_API_SPECIFIER } from './code-runbook';
import type { RunbookProblem } from './validate';

/**
 * The TypeScript compiler, loaded on first use: it is only needed to lint code runbooks, and loading
 * it cost every `rebound` command, the receiver and the worker about 0.2 s at start.
 */
function typescript(): typeof ts {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily on purpose (above)
  return require('typescript') as typeof ts;
}

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Globals a runbook may not read, and why. */
const FORBIDDEN_GLOBALS: Record<string, string> = {
  setTimeout: 'use rb.sleep() (a durable timer)',
  setInterval: 'use rb.sleep() in a loop',
  setImmediate: 'not deterministic',
  clearTimeout: 'timers are not deterministic: use rb.sleep()',
  queueMicrotask: 'not deterministic',
  process: 'no process access in a runbook',
  require: 'no dynamic requires: import only rebound/runbook',
  fetch: 'no I/O in a runbook: run a step (rb.step("http.call", ...))',
  crypto: 'not deterministic',
  eval: 'no eval in a runbook',
  Function: 'no code from strings in a runbook',
  globalThis: 'no global state in a runbook',
  proxyActivities: 'a runbook reaches activities only through rb.step(), which passes the guards',
  performance: 'reads the clock',
};
const FORBIDDEN_MEMBERS: Record<string, string> = {
  'Date.now': 'reads the clock: a runbook is replayed, so it must decide the same way every time',
  'Math.random': 'not deterministic: a replay would take another path',
};

const compilerOptions = (): ts.CompilerOptions => ({
  target: typescript().ScriptTarget.ES2022,
  module: typescript().ModuleKind.ESNext,
  moduleResolution: typescript().ModuleResolutionKind.Bundler,
  lib: ['lib.es2022.d.ts'],
  types: ['node'],
  strict: true,
  noUncheckedIndexedAccess: true,
  noEmit: true,
  skipLibCheck: true,
  isolatedModules: true,
  esModuleInterop: true,
  paths: { [RUNBOOK_API_SPECIFIER]: [RUNBOOK_API_PATH] },
});

function position(sf: ts.SourceFile, pos: number): { line: number; column: number } {
  const lc = sf.getLineAndCharacterOfPosition(pos);
  return { line: lc.line + 1, column: lc.character + 1 };
}

function importProblem(specifier: string): string {
  if (BUILTINS.has(specifier))
    return `imports the Node built-in "${specifier}": a runbook is deterministic workflow code with no I/O; run a step instead`;
  if (specifier.startsWith('@temporalio/'))
    return `imports "${specifier}" directly: a code runbook reaches Temporal and the activities only through "${RUNBOOK_API_SPECIFIER}" (rb.step, rb.sleep, rb.patched), so every action passes the guards`;
  return `imports "${specifier}": a code runbook may import only "${RUNBOOK_API_SPECIFIER}"`;
}

/** Determinism problems of one file: imports and non-deterministic calls. */
export function determinismProblems(file: string, sf: ts.SourceFile): RunbookProblem[] {
  const problems: RunbookProblem[] = [];
  const report = (node: ts.Node, message: string): void => {
    problems.push({ file, ...position(sf, node.getStart(sf)), message });
  };
  const visit = (node: ts.Node): void => {
    if (
      (typescript().isImportDeclaration(node) || typescript().isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      typescript().isStringLiteral(node.moduleSpecifier) &&
      node.moduleSpecifier.text !== RUNBOOK_API_SPECIFIER
    )
      report(node.moduleSpecifier, importProblem(node.moduleSpecifier.text));
    else if (typescript().isImportEqualsDeclaration(node))
      report(node, 'import = require() is not allowed in a runbook');
    else if (
      typescript().isCallExpression(node) &&
      node.expression.kind === typescript().SyntaxKind.ImportKeyword
    )
      report(node, 'dynamic import() is not allowed in a runbook');
    else if (typescript().isPropertyAccessExpression(node) && typescript().isIdentifier(node.expression)) {
      const why = FORBIDDEN_MEMBERS[`${node.expression.text}.${node.name.text}`];
      if (why) report(node, `${node.expression.text}.${node.name.text}: ${why}`);
    } else if (
      typescript().isNewExpression(node) &&
      typescript().isIdentifier(node.expression) &&
      node.expression.text === 'Date' &&
      (node.arguments?.length ?? 0) === 0
    )
      report(
        node,
        'new Date() reads the clock: a runbook is replayed, so it must decide the same way every time',
      );
    else if (
      typescript().isIdentifier(node) &&
      Object.prototype.hasOwnProperty.call(FORBIDDEN_GLOBALS, node.text)
    ) {
      const parent = node.parent;
      const isName =
        (typescript().isPropertyAccessExpression(parent) && parent.name === node) ||
        (typescript().isPropertyAssignment(parent) && parent.name === node) ||
        (typescript().isMethodDeclaration(parent) && parent.name === node) ||
        typescript().isImportSpecifier(parent);
      if (!isName) report(node, `${node.text}: ${FORBIDDEN_GLOBALS[node.text]}`);
    }
    typescript().forEachChild(node, visit);
  };
  visit(sf);
  return problems;
}

/**
 * Type-checks the code runbooks (full paths) together and applies the determinism rules; problems
 * name each file as `shown(fullPath)` gives it.
 */
export function lintCodeRunbooks(fullPaths: string[], shown: (fullPath: string) => string): RunbookProblem[] {
  if (fullPaths.length === 0) return [];
  const program = typescript().createProgram(
    fullPaths.map((p) => path.resolve(p)),
    compilerOptions(),
  );
  const problems: RunbookProblem[] = [];
  for (const fullPath of fullPaths) {
    const sf = program.getSourceFile(path.resolve(fullPath));
    if (!sf) continue;
    const file = shown(fullPath);
    const diagnostics = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    for (const d of diagnostics) {
      const at = d.start !== undefined ? position(sf, d.start) : { line: 1, column: 1 };
      problems.push({
        file,
        ...at,
        message: `TS${d.code}: ${typescript().flattenDiagnosticMessageText(d.messageText, '\n')}`,
      });
    }
    problems.push(...determinismProblems(file, sf));
  }
  return problems.sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column,
  );
}

/** A step a code runbook names in its source, found without running it. */
export interface ReferencedStep {
  /** The step type (rb.step's first argument, or approval/notify/escalate/sleep). */
  type: string;
  /** The id given in the options, when it is a literal. */
  id?: string;
  line: number;
}

const API_STEPS: Record<string, string> = {
  approval: 'approval',
  notify: 'notify',
  escalate: 'escalate',
  sleep: 'sleep',
};

/** The steps a code runbook's source names (`rb.step('container.restart', …)`, `rb.approval(…)`), in source order. */
export function referencedSteps(text: string, file = 'runbook.ts'): ReferencedStep[] {
  const sf = typescript().createSourceFile(
    file,
    text,
    typescript().ScriptTarget.ES2022,
    true,
    typescript().ScriptKind.TS,
  );
  const found: ReferencedStep[] = [];
  const idOf = (node: ts.Expression | undefined): string | undefined => {
    if (!node || !typescript().isObjectLiteralExpression(node)) return undefined;
    for (const p of node.properties)
      if (typescript().isPropertyAssignment(p) && typescript().isIdentifier(p.name) && p.name.text === 'id') {
        if (typescript().isStringLiteralLike(p.initializer)) return p.initializer.text;
        if (typescript().isTemplateExpression(p.initializer)) return p.initializer.getText(sf).slice(1, -1);
      }
    return undefined;
  };
  const visit = (node: ts.Node): void => {
    if (typescript().isCallExpression(node) && typescript().isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.text;
      const line = position(sf, node.getStart(sf)).line;
      const [first, second, third] = node.arguments;
      if (method === 'step' && first && typescript().isStringLiteralLike(first)) {
        const id = idOf(third);
        found.push({ type: first.text, ...(id ? { id } : {}), line });
      } else if (API_STEPS[method] && node.expression.expression.getText(sf) !== 'Promise') {
        const id = idOf(second);
        found.push({ type: API_STEPS[method], ...(id ? { id } : {}), line });
      }
    }
    typescript().forEachChild(node, visit);
  };
  visit(sf);
  return found;
}
