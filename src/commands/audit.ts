// `rebound history export`, `rebound audit` and `rebound replay`: an incident's event history is its
// audit record; these export it, render it for people, and check new code against it.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Command } from 'commander';
import { buildAudit } from '../audit/model';
import { AUDIT_FORMATS, renderAudit, type AuditFormat } from '../audit/render';
import type { Config } from '../config';
import { listIncidents, parseSince } from '../incident-queries';
import { terminalProgress } from '../progress';
import { fetchHistory, readHistoryFile, replay, type ReplayOutcome, type ReplaySource } from '../replay';
import { connectClient } from '../temporal-connection';
import { resolveCacheDir } from '../workflow-bundle';
import { escapeControls, printErr, printOut } from '../terminal-text';
import {
  EXIT,
  UserError,
  action,
  configFromOptions,
  describeFailure,
  section,
  withSettings,
  withTemporal,
} from './common';
import { historyCommand } from './groups';

/**
 * Replays against another workflows module instead of src/workflows: for trying an interpreter
 * change against recorded incidents before it is merged (and for the tests that prove divergence
 * is caught).
 */
export const REPLAY_WORKFLOWS_PATH_ENV = 'REBOUND_REPLAY_WORKFLOWS_PATH';

/** A file name for an export: the workflow id made safe for any file system, plus the run. */
export function exportFileName(workflowId: string, runId: string): string {
  return `${workflowId.replace(/[^A-Za-z0-9._-]+/g, '_')}__${runId}.json`;
}

/** Connects on first use, so commands over files never need Temporal. */
function lazyConnect(config: Config): { get(): Promise<Client>; close(): Promise<void> } {
  let client: Promise<Client> | undefined;
  return {
    get: () =>
      (client ??= connectClient(config).catch((error: unknown) => {
        const { message } = describeFailure(error, { temporalAddress: config.temporal.address });
        throw new UserError(message, EXIT.unavailable);
      })),
    close: async () => {
      const connected = await client?.catch(() => undefined);
      await connected?.connection.close();
    },
  };
}

function isFile(p: string): boolean {
  return existsSync(p) && statSync(p).isFile();
}

function readFile(file: string): ReplaySource {
  try {
    return readHistoryFile(file);
  } catch (error) {
    throw new UserError((error as Error).message, EXIT.usage);
  }
}

async function fetchById(client: Client, id: string, runId?: string): Promise<ReplaySource> {
  try {
    if (runId) {
      const history = await client.workflow.getHandle(id, runId).fetchHistory();
      return { name: id, workflowId: id, history };
    }
    return await fetchHistory(client, id);
  } catch (error) {
    // The SDK's WorkflowNotFoundError, or the service's NOT_FOUND from a raw history fetch.
    if (
      (error as Error).name === 'WorkflowNotFoundError' ||
      describeFailure(error).exitCode === EXIT.notFound
    )
      throw new UserError(`no file ${id} and no incident with that id in Temporal`, EXIT.notFound);
    throw error;
  }
}

/**
 * Writes an export or a report. Control and bidi characters from alerts are escaped in every format
 * (JSON keeps its value: they become `\uXXXX`), in files too, since people `cat` them; the history
 * in Temporal keeps the exact bytes.
 */
function write(file: string | undefined, raw: string, json: boolean): void {
  const text = escapeControls(raw, { keepLineBreaks: true, json });
  if (!file) {
    process.stdout.write(text);
    return;
  }
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, text);
}

export function formatReplayOutcome(o: ReplayOutcome): string {
  if (o.ok) return `${o.name}: ok (${o.events} events)`;
  // The SDK wraps core's message (which names the event) in a long preamble; show core's words.
  const core = /\[TMPRL\d+\][^"]*/.exec(o.error ?? '')?.[0];
  const firstLine = core ?? (o.error ?? '').split('\n')[0] ?? '';
  const where =
    o.divergingEventId !== undefined
      ? ` at event ${o.divergingEventId} (${o.divergingEvent ?? 'unknown'})`
      : '';
  return `${o.name}: DIVERGED${where}: ${firstLine}`;
}

export function registerAuditCommands(program: Command): void {
  const history = historyCommand(program);

  withSettings(
    history
      .command('export')
      .description(
        'Write incident event histories as JSON, in the format of `temporal workflow show --output json` (replayable, readable by `rebound audit`)',
      )
      .argument('[id]', 'incident (workflow) id')
      .option('-o, --output <path>', 'file (one incident; default stdout) or directory (--all)')
      .option('--run-id <id>', 'a particular run (default: the latest)')
      .option(
        '--all',
        'every incident that started or closed since --since, one file per run, into the -o directory',
      )
      .option('--since <when>', 'with --all: a duration back from now (24h, 7d) or a time'),
    section('temporal'),
  ).action(
    action(async (id: string | undefined, options: Record<string, unknown>) => {
      const { output, runId, all, since, ...settings } = options;
      const out = typeof output === 'string' ? output : undefined;
      if (all) {
        if (id) throw new UserError('give an incident id or --all, not both');
        if (typeof since !== 'string') throw new UserError('--all needs --since (for example --since 24h)');
        if (!out) throw new UserError('--all needs -o <directory>');
        let from: Date;
        try {
          from = parseSince(since);
        } catch (error) {
          throw new UserError(`--since: ${(error as Error).message}`);
        }
        await withTemporal(configFromOptions(settings), async (client) => {
          mkdirSync(out, { recursive: true });
          const runs = await listIncidents(client, { changedSince: from }, Number.MAX_SAFE_INTEGER);
          const progress = terminalProgress('exporting', runs.length);
          for (const [index, run] of runs.entries()) {
            progress.update(index + 1, run.id);
            const h = await client.workflow.getHandle(run.id, run.runId).fetchHistory();
            const file = path.join(out, exportFileName(run.id, run.runId));
            writeFileSync(
              file,
              escapeControls(historyToJSON(h), { json: true, keepLineBreaks: true }) + '\n',
            );
            progress.end();
            printOut(`${file}  (${h.events?.length ?? 0} events, ${run.execution.toLowerCase()})`);
          }
          progress.end();
          printOut(`exported ${runs.length} incident run${runs.length === 1 ? '' : 's'} to ${out}`);
        });
        return;
      }
      if (!id) throw new UserError('give an incident id, or --all --since <when> -o <dir>');
      await withTemporal(configFromOptions(settings), async (client) => {
        const source = await fetchById(client, id, typeof runId === 'string' ? runId : undefined);
        write(out, historyToJSON(source.history) + '\n', true);
        if (out) printErr(`wrote ${source.history.events?.length ?? 0} events of ${id} to ${out}`);
      });
    }),
  );

  withSettings(
    program
      .command('audit')
      .description(
        "A timeline an auditor can read, built from the incident's event history: alerts, steps with attempts, approvals, messages, timers, outcome",
      )
      .argument('<id|file>', 'incident id (fetched from Temporal) or an exported history file')
      .option('--format <format>', `output format: ${AUDIT_FORMATS.join(', ')}`, 'text')
      .option('-o, --output <file>', 'write to this file instead of stdout')
      .option('--run-id <id>', 'with an id: a particular run (default: the latest)'),
    section('temporal'),
  ).action(
    action(async (idOrFile: string, options: Record<string, unknown>) => {
      const { format, output, runId, ...settings } = options;
      if (!AUDIT_FORMATS.includes(format as AuditFormat))
        throw new UserError(`--format ${String(format)}: expected one of ${AUDIT_FORMATS.join(', ')}`);
      let source: ReplaySource;
      if (isFile(idOrFile)) source = readFile(idOrFile);
      else {
        source = await withTemporal(configFromOptions(settings), (client) =>
          fetchById(client, idOrFile, typeof runId === 'string' ? runId : undefined),
        );
      }
      let record;
      try {
        record = buildAudit(source.history, source.workflowId);
      } catch (error) {
        throw new UserError(`${idOrFile}: ${(error as Error).message}`, 2);
      }
      write(
        typeof output === 'string' ? output : undefined,
        renderAudit(record, format as AuditFormat),
        format === 'json',
      );
    }),
  );

  withSettings(
    program
      .command('replay')
      .description(
        'Replay incident histories against the current workflow code; prints ok or DIVERGED per incident, exit 1 on any divergence (run in CI before deploying)',
      )
      .argument(
        '<sources...>',
        'history files, directories of them (*.json), or incident ids (fetched from Temporal)',
      ),
    [...section('temporal'), 'runbooks.dir'],
  ).action(
    action(async (sources: string[], options: Record<string, unknown>) => {
      const config = configFromOptions(options);
      const connection = lazyConnect(config);
      const loaded: ReplaySource[] = [];
      try {
        for (const s of sources) {
          if (existsSync(s) && statSync(s).isDirectory()) {
            const files = readdirSync(s)
              .filter((f) => f.endsWith('.json'))
              .sort();
            if (files.length === 0) throw new UserError(`${s}: no *.json histories in this directory`);
            const reading = terminalProgress('reading', files.length);
            for (const [index, f] of files.entries()) {
              reading.update(index + 1, f);
              loaded.push(readFile(path.join(s, f)));
            }
            reading.end();
          } else if (isFile(s)) loaded.push(readFile(s));
          else loaded.push(await fetchById(await connection.get(), s));
        }
      } finally {
        await connection.close();
      }
      const workflowsPath = process.env[REPLAY_WORKFLOWS_PATH_ENV];
      // Bundling the workflow code comes first and takes a few seconds unless an earlier run
      // cached it: say so on a terminal.
      if (process.stderr.isTTY) process.stderr.write('bundling the workflow code…');
      const progress = terminalProgress('replaying', loaded.length);
      const bundleCacheDir = resolveCacheDir(config.cache.dir);
      const outcomes = await replay(
        loaded,
        {
          ...(bundleCacheDir ? { bundleCacheDir } : {}),
          // The code runbooks of the runbooks directory are bundled as the worker bundles them.
          ...(workflowsPath
            ? { workflowsPath: path.resolve(workflowsPath) }
            : { runbooksDir: config.runbooks.dir }),
        },
        (index, source) => progress.update(index + 1, source.name),
      );
      progress.end();
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      for (const o of outcomes) printOut(formatReplayOutcome(o));
      const diverged = outcomes.filter((o) => !o.ok).length;
      printOut(
        diverged === 0
          ? `${outcomes.length} histor${outcomes.length === 1 ? 'y' : 'ies'} replayed identically`
          : `${diverged} of ${outcomes.length} diverged`,
      );
      process.exitCode = diverged === 0 ? 0 : 1;
    }),
  );
}
