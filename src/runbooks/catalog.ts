// CONTRACT STUB — replaced by the runbook loader.
import type { Runbook, RunbookSnapshot } from '../runbook-lang/types';

export interface RunbookProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export class RunbookValidationError extends Error {
  constructor(readonly problems: RunbookProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join('\n'));
    this.name = 'RunbookValidationError';
  }
}

/** Loaded, validated runbooks of a directory in file-name order (the routing order). */
export interface RunbookCatalog {
  dir: string;
  runbooks: RunbookSnapshot[];
  /** First runbook whose matchers fit the labels. */
  route(labels: Record<string, string>): RunbookSnapshot | undefined;
  /** The incident's target key for this alert under this runbook (fingerprint when no template). */
  targetKey(
    runbook: Runbook,
    alert: {
      labels: Record<string, string>;
      annotations: Record<string, string>;
      fingerprint: string;
      startsAt: string;
      status: string;
      generatorURL: string;
    },
  ): string;
}

/** Loads and validates every *.yaml / *.yml in dir; throws RunbookValidationError listing all problems. */
export function loadRunbooks(_dir: string): RunbookCatalog {
  throw new Error('not implemented');
}

/** Validates one file's text; returns the problems (empty when valid) and the runbook when valid. */
export function validateRunbookText(
  _file: string,
  _text: string,
): { problems: RunbookProblem[]; snapshot?: RunbookSnapshot } {
  throw new Error('not implemented');
}
