// Helpers every command shares: flags generated from the settings table, loading the configuration,
// and turning errors into a clear message and an exit status instead of a stack trace.
import { Option, type Command } from 'commander';
import type { Client } from '@temporalio/client';
import { ApprovalError } from '../decisions';
import {
  ConfigError,
  SETTINGS,
  flagName,
  flagProperty,
  loadConfig,
  type Config,
  type SettingKey,
} from '../config';
import { GRPC, grpcCode, grpcMessage } from '../grpc-status';
import { connectClient } from '../temporal-connection';
import { printErr } from '../terminal-text';

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

/**
 * Exit statuses, the same for every command: 0 done, 1 refused or failed (a refused approval, a
 * diverged replay, runbook problems), 2 usage (a bad flag, argument or setting), 3 not found (no such
 * incident), 4 unreachable (Temporal, or for `alert fire` the receiver).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, unavailable: 4 } as const;

/** A failure a user can act on: printed without a stack trace, with this exit status. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

/** The innermost message of an error chain, its first line: gRPC's own words rather than the SDK's wrapper. */
function rootMessage(error: unknown): string {
  return firstLine(grpcMessage(error));
}

/** Where the failing command was pointed, for messages that name it. */
export interface FailureContext {
  temporalAddress?: string;
  namespace?: string;
}

/**
 * The one place that turns any error a command meets into one line and an exit status. Nothing
 * reaches the user as a stack trace; an error this does not recognise is exit 1 with its message.
 */
export function describeFailure(
  error: unknown,
  context: FailureContext = {},
): { message: string; exitCode: number } {
  if (error instanceof UserError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof ConfigError) return { message: error.message, exitCode: EXIT.usage };
  if (error instanceof ApprovalError) {
    const kinds = { 'not-found': EXIT.notFound, unavailable: EXIT.unavailable } as const;
    if (error.kind === 'not-found' || error.kind === 'unavailable')
      return { message: firstLine(error.message), exitCode: kinds[error.kind] };
    if (error.kind === 'invalid') return { message: firstLine(error.message), exitCode: EXIT.usage };
    return { message: `refused: ${firstLine(error.message)}`, exitCode: EXIT.failed };
  }
  const name = error instanceof Error ? error.name : '';
  const where = context.temporalAddress ? ` at ${context.temporalAddress}` : '';
  if (name === 'WorkflowNotFoundError') {
    const id = (error as { workflowId?: unknown }).workflowId;
    const what = typeof id === 'string' && id ? `no incident ${id}` : 'no such incident';
    const ns = context.namespace ? ` in namespace ${context.namespace}` : '';
    return { message: `${what}${ns}`, exitCode: EXIT.notFound };
  }
  const code = grpcCode(error);
  const text = error instanceof Error ? error.message : String(error);
  if (
    code === GRPC.UNAVAILABLE ||
    code === GRPC.DEADLINE_EXCEEDED ||
    /Failed to connect|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|No connection established|Deadline passed|DEADLINE_EXCEEDED|UNAVAILABLE/i.test(
      text,
    )
  )
    return {
      message: `cannot reach Temporal${where}: ${rootMessage(error)}. Is it running (\`rebound dev\`), and is TEMPORAL_ADDRESS right?`,
      exitCode: EXIT.unavailable,
    };
  if (code === GRPC.NOT_FOUND) return { message: rootMessage(error), exitCode: EXIT.notFound };
  return { message: firstLine(text) || name || 'unexpected error', exitCode: EXIT.failed };
}

/** Wraps a command action: every error prints as one line (escaped) and sets the exit status. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void> | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (error) {
      // The settings the command was given, for a message that says where it looked.
      const options = args.find(
        (a): a is Record<string, unknown> => typeof a === 'object' && a !== null && !Array.isArray(a),
      );
      const { message, exitCode } = describeFailure(error, failureContext(options));
      printErr(`rebound: ${message}`);
      if (process.env.REBOUND_DEBUG && error instanceof Error && error.stack) printErr(error.stack);
      process.exitCode = exitCode;
    }
  };
}

function failureContext(options: Record<string, unknown> | undefined): FailureContext {
  try {
    const { temporal } = configFromOptions(pickSettings(options ?? {}));
    return { temporalAddress: temporal.address, namespace: temporal.namespace };
  } catch {
    return {};
  }
}

/** Only the settings flags of a command's options (those configFromOptions understands). */
function pickSettings(options: Record<string, unknown>): Record<string, unknown> {
  const known = new Set(SETTINGS.map((s) => flagProperty(s.key)));
  return Object.fromEntries(Object.entries(options).filter(([k]) => k === 'config' || known.has(k)));
}

/**
 * Connects to Temporal for one command, runs fn and closes the connection. An unreachable server is
 * exit 4 with the address it tried; every other failure goes through describeFailure.
 */
export async function withTemporal<T>(config: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  let client: Client;
  try {
    client = await connectClient(config);
  } catch (error) {
    throw new UserError(
      `cannot reach Temporal at ${config.temporal.address}: ${rootMessage(error)}. Is it running (\`rebound dev\`), and is TEMPORAL_ADDRESS right?`,
      EXIT.unavailable,
    );
  }
  try {
    return await fn(client);
  } catch (error) {
    const { message, exitCode } = describeFailure(error, {
      temporalAddress: config.temporal.address,
      namespace: config.temporal.namespace,
    });
    throw new UserError(message, exitCode);
  } finally {
    await client.connection.close();
  }
}
