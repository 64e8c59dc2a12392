// The runbooks of a directory, loaded and validated together, and routing alerts to them.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  expressionReferences,
  renderTemplates,
  renderVariables,
  templateExpressions,
} from '../runbook-lang/expressions';
import { matchesAll } from '../runbook-lang/matchers';
import { makeScope } from '../runbook-lang/scope';
import type { Runbook, RunbookSnapshot } from '../runbook-lang/types';
import { isCodeRunbookFile, loadCodeRunbook } from './code-runbook';
import { validateRunbookText, type RunbookProblem } from './validate';

export { validateRunbookText, contentHash, type RunbookProblem } from './validate';

export class RunbookValidationError extends Error {
  constructor(readonly problems: RunbookProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join('\n'));
    this.name = 'RunbookValidationError';
  }
}

/** The alert fields a target template can read. */
export interface TargetAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  fingerprint: string;
  startsAt: string;
  status: string;
  generatorURL: string;
}

/** Loaded, validated runbooks of a directory in file-name order (the routing order). */
export interface RunbookCatalog {
  dir: string;
  runbooks: RunbookSnapshot[];
  /** First runbook whose matchers fit the labels. */
  route(labels: Record<string, string>): RunbookSnapshot | undefined;
  /** The incident's target key for this alert under this runbook (fingerprint when no template). */
  targetKey(runbook: Runbook, alert: TargetAlert): string;
}

/** Runbook files of a directory in routing order: *.yaml, *.yml and code runbooks (*.ts), by file name. */
export function runbookFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && (/\.ya?ml$/i.test(entry.name) || isCodeRunbookFile(entry.name)))
    .map((entry) => entry.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Validates every runbook file of dir; returns the snapshots and all problems (cross-file ones too). */
export function checkRunbookDir(dir: string): {
  runbooks: RunbookSnapshot[];
  problems: RunbookProblem[];
  files: string[];
} {
  let files: string[];
  try {
    files = runbookFiles(dir);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message;
    return {
      runbooks: [],
      files: [],
      problems: [{ file: dir, line: 1, column: 1, message: `cannot read the runbooks directory: ${reason}` }],
    };
  }
  const runbooks: RunbookSnapshot[] = [];
  const problems: RunbookProblem[] = [];
  const firstFileOfName = new Map<string, string>();
  for (const name of files) {
    const bytes = readFileSync(path.join(dir, name));
    const result = isCodeRunbookFile(name)
      ? loadCodeRunbook(name, path.join(dir, name), bytes)
      : validateRunbookText(name, bytes.toString('utf8'), bytes);
    problems.push(...result.problems);
    if (!result.snapshot) continue;
    const runbookName = result.snapshot.runbook.name;
    const first = firstFileOfName.get(runbookName);
    if (first !== undefined) {
      const line =
        bytes
          .toString('utf8')
          .split('\n')
          .findIndex((l) => /^name\s*:/.test(l)) + 1;
      problems.push({
        file: name,
        line: Math.max(line, 1),
        column: 1,
        message: `duplicate runbook name "${runbookName}" (also in ${first}); runbook names must be unique`,
      });
      continue;
    }
    firstFileOfName.set(runbookName, name);
    runbooks.push(result.snapshot);
  }
  return { runbooks, problems, files };
}

/** The incident's target key: the runbook's target template rendered for the alert, or its fingerprint. */
export function targetKey(runbook: Runbook, alert: TargetAlert): string {
  if (!runbook.target) return alert.fingerprint;
  const scope = makeScope({ alert, incident: { runbook: runbook.name } });
  // Variables only when the target reads them: one that cannot render must not block routing.
  if (templateExpressions(runbook.target).some((expression) => expressionReferences(expression).has('vars')))
    scope.vars = renderVariables(runbook.variables, scope);
  const rendered = renderTemplates(runbook.target, scope);
  const key = typeof rendered === 'string' ? rendered.trim() : JSON.stringify(rendered);
  if (key === '' || key === 'null')
    throw new Error(
      `runbook ${runbook.name}: target "${runbook.target}" renders empty for this alert; it must name what the incident is about`,
    );
  return key;
}

/** A catalog over already validated snapshots, in routing order. */
export function catalogOf(dir: string, runbooks: RunbookSnapshot[]): RunbookCatalog {
  return {
    dir,
    runbooks,
    route: (labels) => runbooks.find((snapshot) => matchesAll(snapshot.runbook.matchers, labels)),
    targetKey,
  };
}

/** Loads and validates every runbook (*.yaml, *.yml, *.ts) in dir; throws RunbookValidationError listing all problems. */
export function loadRunbooks(dir: string): RunbookCatalog {
  const { runbooks, problems, files } = checkRunbookDir(dir);
  if (problems.length > 0) throw new RunbookValidationError(problems);
  if (files.length === 0)
    throw new RunbookValidationError([
      {
        file: dir,
        line: 1,
        column: 1,
        message: 'no runbooks: the directory holds no *.yaml, *.yml or *.ts files',
      },
    ]);
  return catalogOf(dir, runbooks);
}
