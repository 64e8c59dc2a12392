// `rebound doctor`: checks everything Rebound depends on — Temporal, the namespace and search
// attributes, workers, runbooks, the webhook, Docker, Slack, SMTP, Prometheus — and says what is wrong
// and how to fix it, before an incident finds out. Exit 0 without problems, 1 with any; --json for scripts.
import type { Command } from 'commander';
import { SETTINGS, type SettingKey } from '../config';
import type * as Checks from '../doctor/checks';
import type { CheckResult } from '../doctor/checks';

/**
 * The checks, loaded when the doctor runs, not when the CLI starts: they bring the Docker, mail and
 * Slack clients, and every other command (`rebound replay` above all) should start without them.
 */
function loadChecks(): typeof Checks {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (above)
  return require('../doctor/checks') as typeof Checks;
}
import { withTimeout } from '../with-timeout';
import { action, configFromOptions, withSettings } from './common';

const ALL_SETTINGS: SettingKey[] = SETTINGS.map((s) => s.key);
const LABEL: Record<CheckResult['status'], string> = { ok: 'ok', warning: 'warning', problem: 'PROBLEM' };

/** A check that takes too long (or throws) becomes a problem saying so, instead of hanging the doctor. */
async function bounded(
  name: string,
  check: () => Promise<CheckResult | CheckResult[]>,
  ms: number,
): Promise<CheckResult[]> {
  const { why } = loadChecks();
  try {
    const result = await withTimeout(check(), ms, name);
    return Array.isArray(result) ? result : [result];
  } catch (error) {
    return [
      {
        name,
        status: 'problem',
        summary: why(error),
        fix: 'run `rebound doctor` again; if it persists, check this part by hand',
      },
    ];
  }
}

export function formatChecks(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length), 8);
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`  ${LABEL[r.status].padEnd(8)} ${r.name.padEnd(width)}  ${r.summary}`);
    if (r.fix && r.status !== 'ok') lines.push(`  ${''.padEnd(8)} ${''.padEnd(width)}  fix: ${r.fix}`);
  }
  return lines.join('\n');
}

export function registerDoctorCommands(program: Command): void {
  withSettings(
    program
      .command('doctor')
      .description(
        'Check Temporal, the namespace and search attributes, workers, runbooks, the webhook, Docker, Slack, SMTP and Prometheus; each ok, warning or problem with its fix (exit 1 on any problem)',
      )
      .option('--json', 'print the results as JSON'),
    ALL_SETTINGS,
  ).action(
    action(async (options: Record<string, unknown>) => {
      const { json, ...settings } = options;
      const config = configFromOptions(settings);
      const {
        CHECK_TIMEOUT_MS,
        checkDocker,
        checkPrometheus,
        checkRunbooks,
        checkSlack,
        checkSmtp,
        checkTemporal,
        checkWebhook,
        runbookNeeds,
      } = loadChecks();
      const runbooks = checkRunbooks(config);
      const needs = runbookNeeds(runbooks.runbooks, config);
      // Independent checks run at once; each is bounded, so the whole takes seconds even when all fail.
      const groups = await Promise.all([
        bounded('temporal', () => checkTemporal(config, needs), 4 * CHECK_TIMEOUT_MS),
        Promise.resolve([runbooks.result]),
        bounded('webhook', () => checkWebhook(config), 2 * CHECK_TIMEOUT_MS),
        bounded('docker', () => checkDocker(config, needs), CHECK_TIMEOUT_MS),
        bounded('slack', () => checkSlack(config, needs), 3 * CHECK_TIMEOUT_MS),
        bounded('smtp', () => checkSmtp(config, needs), CHECK_TIMEOUT_MS + 1000),
        bounded('prometheus', () => checkPrometheus(config, needs), CHECK_TIMEOUT_MS),
      ]);
      const results = groups.flat();
      const problems = results.filter((r) => r.status === 'problem').length;
      const warnings = results.filter((r) => r.status === 'warning').length;
      if (json) {
        process.stdout.write(
          `${JSON.stringify({ ok: problems === 0, problems, warnings, checks: results }, null, 2)}\n`,
        );
      } else {
        const { address, namespace, taskQueue } = config.temporal;
        process.stdout.write(
          `rebound doctor: Temporal ${address}, namespace ${namespace}, task queue ${taskQueue}\n\n${formatChecks(results)}\n\n`,
        );
        process.stdout.write(
          problems === 0
            ? `No problems${warnings > 0 ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}.\n`
            : `${problems} problem${problems === 1 ? '' : 's'}${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}.\n`,
        );
      }
      process.exitCode = problems === 0 ? 0 : 1;
    }),
  );
}
