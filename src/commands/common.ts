// Helpers every command shares: flags generated from the settings table, loading the configuration,
// and turning errors into a clear message and an exit status instead of a stack trace.
import { Option, type Command } from 'commander';
import { ConfigError, SETTINGS, flagName, loadConfig, type Config, type SettingKey } from '../config';

/** Adds the flags of these settings (and --config) to a command. */
export function withSettings(command: Command, keys: readonly SettingKey[]): Command {
  command.option('--config <file>', 'YAML or JSON configuration file (also REBOUND_CONFIG)');
  for (const key of keys) {
    const spec = SETTINGS.find((s) => s.key === key);
    if (!spec) throw new Error(`unknown setting ${key}`);
    const flag = spec.kind === 'bool' ? `${flagName(key)} [bool]` : `${flagName(key)} <value>`;
    const option = new Option(flag, `${spec.describe} [${spec.env}]`);
    if (spec.kind === 'bool') option.argParser((value: string | undefined) => value ?? 'true');
    command.addOption(option);
  }
  return command;
}

/** Keys of the settings with this section prefix, for withSettings. */
export function section(...prefixes: string[]): SettingKey[] {
  return SETTINGS.map((s) => s.key).filter((key) => prefixes.some((p) => key.startsWith(`${p}.`)));
}

export function configFromOptions(options: Record<string, unknown>): Config {
  const { config: file, ...flags } = options;
  return loadConfig({
    flags: flags as Record<string, string>,
    file: typeof file === 'string' ? file : undefined,
  });
}

/** A failure a user can act on: printed without a stack trace, with this exit status. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Wraps a command action: user-facing errors print plainly and set the exit status. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void> | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (error) {
      if (error instanceof ConfigError || error instanceof UserError) {
        console.error(`rebound: ${error.message}`);
        process.exitCode = error instanceof UserError ? error.exitCode : 2;
      } else {
        console.error(`rebound: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        process.exitCode = 1;
      }
    }
  };
}
