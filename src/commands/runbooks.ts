// `rebound runbooks lint` and `rebound runbooks plan`: check runbooks and see what they would do,
// without Temporal and without touching anything.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { ScopeAlert } from '../runbook-lang/scope';
import type { RunbookSnapshot } from '../runbook-lang/types';
import { checkRunbookDir, validateRunbookText } from '../runbooks/catalog';
import { lintCodeRunbooks } from '../runbooks/code-lint';
import { formatCodePlan, planCodeRunbook } from '../runbooks/code-plan';
import { isCodeRunbookFile, loadCodeRunbook } from '../runbooks/code-runbook';
import { formatPlan, planIncident } from '../runbooks/plan';
import { jsonForTerminal, printOut } from '../terminal-text';
import { isObject } from '../workflows/values';
import { action, configFromOptions, UserError, withSettings } from './common';

function stringMap(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

/** A stand-in fingerprint from the labels, for alerts given without one (plan only). */
function labelsFingerprint(labels: Record<string, string>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k] ?? ''}`)
    .join('\u0001');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function alertFromObject(raw: Record<string, unknown>): ScopeAlert {
  const labels = stringMap(raw.labels);
  return {
    status: raw.status === 'resolved' ? 'resolved' : 'firing',
    labels,
    annotations: stringMap(raw.annotations),
    startsAt: typeof raw.startsAt === 'string' ? raw.startsAt : new Date().toISOString(),
    fingerprint:
      typeof raw.fingerprint === 'string' && raw.fingerprint !== ''
        ? raw.fingerprint
        : labelsFingerprint(labels),
    generatorURL: typeof raw.generatorURL === 'string' ? raw.generatorURL : '',
  };
}

/**
 * The alert --alert names: an Alertmanager webhook JSON file (its first alert), a file holding one
 * alert, or label pairs k=v,k=v.
 */
export function alertFromArgument(argument: string): ScopeAlert {
  if (existsSync(argument) && statSync(argument).isFile()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(argument, 'utf8'));
    } catch (error) {
      throw new UserError(`--alert ${argument}: not JSON: ${(error as Error).message}`);
    }
    if (isObject(parsed) && Array.isArray(parsed.alerts)) {
      const first: unknown = parsed.alerts[0];
      if (!isObject(first)) throw new UserError(`--alert ${argument}: the webhook payload holds no alerts`);
      return alertFromObject(first);
    }
    if (isObject(parsed) && isObject(parsed.labels)) return alertFromObject(parsed);
    throw new UserError(
      `--alert ${argument}: expected an Alertmanager webhook payload ({"alerts": [...]}) or one alert ({"labels": {...}})`,
    );
  }
  const labels: Record<string, string> = {};
  for (const pair of argument.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new UserError(
        `--alert: "${pair}" is neither a file nor a label pair; give a JSON file or k=v,k=v`,
      );
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return alertFromObject({ labels });
}

function lint(dir: string): number {
  const checked = checkRunbookDir(dir);
  const { runbooks, files } = checked;
  // Code runbooks: the compiler's type errors and the determinism rules. Where these find a file's
  // mistakes, the loader's word for the same ones (does not compile, an import) is left out.
  const codeProblems = lintCodeRunbooks(
    files.filter(isCodeRunbookFile).map((f) => path.join(dir, f)),
    (fullPath) => path.basename(fullPath),
  );
  const seenByCompiler = new Set(codeProblems.map((p) => p.file));
  const problems = [
    ...checked.problems.filter(
      (p) => !(seenByCompiler.has(p.file) && /^(does not compile|imports )/.test(p.message)),
    ),
    ...codeProblems,
  ];
  for (const p of problems)
    printOut(`${path.join(dir, p.file === dir ? '' : p.file)}:${p.line}:${p.column}: ${p.message}`);
  if (problems.length > 0) {
    const bad = new Set(problems.map((p) => p.file)).size;
    printOut(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${bad} of ${files.length} file${files.length === 1 ? '' : 's'}`,
    );
    return 1;
  }
  if (files.length === 0) {
    printOut(`${dir}: no runbooks (*.yaml, *.yml, *.ts)`);
    return 1;
  }
  printOut(`${runbooks.length} runbook${runbooks.length === 1 ? '' : 's'} OK`);
  return 0;
}

function findRunbook(nameOrFile: string, dir: string): { snapshot: RunbookSnapshot; file: string } {
  if (existsSync(nameOrFile) && statSync(nameOrFile).isFile()) {
    const bytes = readFileSync(nameOrFile);
    const result = isCodeRunbookFile(nameOrFile)
      ? loadCodeRunbook(path.basename(nameOrFile), nameOrFile, bytes)
      : validateRunbookText(path.basename(nameOrFile), bytes.toString('utf8'), bytes);
    if (!result.snapshot)
      throw new UserError(
        `${nameOrFile} is not a valid runbook:\n${result.problems.map((p) => `${nameOrFile}:${p.line}:${p.column}: ${p.message}`).join('\n')}`,
        1,
      );
    return { snapshot: result.snapshot, file: nameOrFile };
  }
  const { runbooks, problems } = checkRunbookDir(dir);
  const snapshot = runbooks.find((s) => s.runbook.name === nameOrFile);
  if (!snapshot) {
    const known = runbooks.map((s) => s.runbook.name).join(', ') || 'none';
    const note =
      problems.length > 0 ? ` (${problems.length} problem(s) in ${dir}: run \`rebound runbooks lint\`)` : '';
    throw new UserError(
      `no runbook named "${nameOrFile}" in ${dir} and no such file; runbooks: ${known}${note}`,
    );
  }
  return { snapshot, file: path.join(dir, snapshot.source) };
}

export function registerRunbookCommands(program: Command): void {
  const runbooks = program.command('runbooks').description('Check runbooks and preview what they would do');

  withSettings(
    runbooks
      .command('lint')
      .description('Validate every runbook; prints file:line:col: message per problem (exit 1 on problems)')
      .argument('[dir]', 'runbooks directory (default: the runbooks.dir setting)'),
    ['runbooks.dir'],
  ).action(
    action((dir: string | undefined, options: Record<string, unknown>) => {
      const config = configFromOptions(options);
      process.exitCode = lint(dir ?? config.runbooks.dir ?? 'runbooks');
    }),
  );

  withSettings(
    runbooks
      .command('plan')
      .description(
        'Show the steps a runbook would run for an alert, with parameters resolved as far as possible; runs nothing',
      )
      .argument('<runbook>', 'runbook name (in the runbooks directory) or a runbook file')
      .requiredOption(
        '--alert <alert>',
        'Alertmanager webhook JSON file (first alert), one alert as JSON, or labels k=v,k=v',
      )
      .option('--json', 'print the plan as JSON'),
    ['runbooks.dir'],
  ).action(
    action((nameOrFile: string, options: Record<string, unknown>) => {
      const { alert: alertArgument, json, ...settings } = options;
      const config = configFromOptions(settings);
      const alert = alertFromArgument(String(alertArgument));
      const { snapshot, file } = findRunbook(nameOrFile, config.runbooks.dir ?? 'runbooks');
      if (snapshot.kind === 'code') {
        const codePlan = planCodeRunbook(snapshot, readFileSync(file, 'utf8'), alert);
        printOut(json ? jsonForTerminal(codePlan) : formatCodePlan(codePlan));
        if (codePlan.error !== undefined) process.exitCode = 1;
        return;
      }
      const plan = planIncident(snapshot, alert);
      printOut(json ? jsonForTerminal(plan) : formatPlan(plan));
      if (plan.error !== undefined) process.exitCode = 1;
    }),
  );
}
