// `rebound config reference` (the Markdown reference in docs/configuration.md, generated from the
// SETTINGS table so the docs cannot drift) and `rebound config show` (the effective configuration,
// secrets masked).
import type { Command } from 'commander';
import { SETTINGS, describeConfig, flagName, type SettingSpec } from '../config';
import { action, configFromOptions, withSettings } from './common';

const SECTIONS: Record<string, string> = {
  temporal: 'Temporal connection',
  dev: 'Embedded default (`rebound dev`)',
  receiver: 'HTTP receiver (`rebound serve`)',
  runbooks: 'Runbooks',
  docker: 'Docker',
  prometheus: 'Prometheus',
  slack: 'Slack',
  smtp: 'Email (SMTP)',
  approvals: 'Approvals',
  safety: 'Guards: action budgets, the circuit breaker and target locks (keys keep their `safety.` names)',
  worker: 'Worker (`rebound worker`, `rebound dev`)',
  cache: 'Caches',
  log: 'Logging',
};

const KIND_TEXT: Record<SettingSpec['kind'], string> = {
  string: 'text',
  int: 'whole number',
  bool: 'true / false',
  duration: 'duration (90s, 15m, 24h, 30d)',
  url: 'URL',
  enum: 'one of',
  map: 'key=value pairs, comma separated',
  list: 'list, comma separated',
};

/** Markdown table cells: a pipe would end the cell, a newline the row. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function typeOf(spec: SettingSpec): string {
  if (spec.kind === 'enum') return `one of ${(spec.allowed ?? []).map((a) => `\`${a}\``).join(', ')}`;
  let text = KIND_TEXT[spec.kind];
  if (spec.kind === 'int' && (spec.min !== undefined || spec.max !== undefined)) {
    text += spec.max === undefined ? `, at least ${spec.min}` : `, ${spec.min ?? 0} to ${spec.max}`;
  }
  return text;
}

/** The configuration reference as Markdown; docs/configuration.md is exactly this text. */
export function configReference(settings: readonly SettingSpec[] = SETTINGS): string {
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config.ts by `npm run docs` (rebound config reference). Do not edit by hand. -->',
    '',
    'Every setting can be given as a command-line flag, an environment variable, or a key in a YAML or',
    'JSON file named by `--config` or `REBOUND_CONFIG`. A flag wins over the environment, the environment',
    'over the file, the file over the default. Everything is validated at start-up, and every problem is',
    'reported at once with the setting, where its value came from and what is allowed.',
    '',
    'In a file, settings are nested by section:',
    '',
    '```yaml',
    'temporal:',
    '  address: temporal.example.com:7233',
    '  namespace: rebound',
    'receiver:',
    '  port: 9097',
    '```',
    '',
    'Secrets are never printed back: `rebound config show` and error messages show them as `***`.',
    'Run `rebound config show` to see the effective configuration.',
  ];
  const bySection = new Map<string, SettingSpec[]>();
  for (const spec of settings) {
    const section = spec.key.split('.')[0] ?? spec.key;
    bySection.set(section, [...(bySection.get(section) ?? []), spec]);
  }
  for (const [section, specs] of bySection) {
    lines.push('', `## ${SECTIONS[section] ?? section}`, '');
    lines.push('| setting | environment | flag | type | default | description |');
    lines.push('| --- | --- | --- | --- | --- | --- |');
    for (const spec of specs) {
      const shownDefault = spec.default === undefined ? '—' : `\`${spec.default}\``;
      const describe = spec.secret ? `${spec.describe} **Secret.**` : spec.describe;
      lines.push(
        `| \`${spec.key}\` | \`${spec.env}\` | \`${flagName(spec.key)}\` | ${cell(typeOf(spec))} | ${shownDefault} | ${cell(describe)} |`,
      );
    }
  }
  lines.push('');
  return lines.join('\n');
}

/** A URL's password (smtp://user:pass@host) is a secret even where the setting as a whole is not. */
function maskUrlPassword(value: unknown): unknown {
  if (typeof value !== 'string' || !value.includes('@')) return value;
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = '***';
    return url.toString();
  } catch {
    return value;
  }
}

function showValue(value: unknown): string {
  if (value === undefined) return '(not set)';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

export function registerConfigCommands(program: Command): void {
  const config = program
    .command('config')
    .description('Configuration: the generated reference and the effective settings');

  config
    .command('reference')
    .description('Print the configuration reference (Markdown) generated from the settings table')
    .action(
      action(() => {
        process.stdout.write(configReference());
      }),
    );

  withSettings(
    config
      .command('show')
      .description('Print the effective configuration (flags, environment, file, defaults), secrets masked')
      .option('--json', 'print JSON instead of aligned text'),
    SETTINGS.map((s) => s.key),
  ).action(
    action((options: Record<string, unknown>) => {
      const { json, ...rest } = options;
      const shown = Object.fromEntries(
        Object.entries(describeConfig(configFromOptions(rest))).map(([k, v]) => [k, maskUrlPassword(v)]),
      );
      if (json === true) {
        // null, not a missing key, for a setting that is not set: every setting is listed.
        process.stdout.write(`${JSON.stringify(shown, (_k, v: unknown) => v ?? null, 2)}\n`);
        return;
      }
      const width = Math.max(...Object.keys(shown).map((k) => k.length));
      const envOf = new Map<string, string>(SETTINGS.map((s) => [s.key, s.env]));
      const lines = Object.entries(shown).map(
        ([key, value]) => `${key.padEnd(width)}  ${showValue(value)}   [${envOf.get(key) ?? ''}]`,
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    }),
  );
}
