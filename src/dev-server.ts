// The embedded default: a Temporal CLI dev server with its state in a SQLite file, Rebound's search
// attributes registered and the namespace retention set. Used by `rebound dev` and the test harness.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { privateDir } from './private-dir';
import { SEARCH_ATTRIBUTES } from './workflows/search-attributes';

export interface DevServerOptions {
  cli: string;
  /** SQLite file; omitted means in memory (lost when the server stops). */
  dbFile?: string;
  host?: string;
  port: number;
  /** 0 = headless (no Web UI). */
  uiPort: number;
  namespace?: string;
  retentionMs?: number;
  /** Server log file; defaults to discarding it. */
  logFile?: string;
  /** How long to wait for the frontend to answer. */
  startTimeoutMs?: number;
  /**
   * Stop the server when this process ends in any way, also when it cannot run exit handlers (a
   * native crash, an abort, SIGKILL): `rebound dev` must never leave Temporal holding its port.
   */
  stopWithParent?: boolean;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  pid: number;
  stop(): Promise<void>;
  /** Ends the server at once, synchronously: for a process that is about to exit. */
  kill(): void;
  /** Resolves when the server process exits by itself or is stopped. */
  exited: Promise<number | null>;
}

/** A free TCP port on loopback. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const host = options.host ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  if (await portInUse(host, options.port)) {
    throw new Error(
      `Port ${options.port} on ${host} is already in use, so the embedded Temporal server cannot start. Stop what holds it, or choose another with --dev-temporal-port / REBOUND_TEMPORAL_PORT.`,
    );
  }
  const args = ['server', 'start-dev', '--ip', host, '--port', String(options.port), '--log-level', 'warn'];
  args.push(...(options.uiPort > 0 ? ['--ui-port', String(options.uiPort)] : ['--headless']));
  if (options.dbFile) {
    privateDir(path.dirname(options.dbFile));
    // The database holds every incident's history: readable by its owner only, also when it exists
    // from before (a new one is made under the umask below; an empty file would skip the schema).
    for (const file of [
      options.dbFile,
      `${options.dbFile}-wal`,
      `${options.dbFile}-shm`,
      `${options.dbFile}-journal`,
    ])
      if (existsSync(file)) chmodSync(file, 0o600);
    args.push('--db-filename', options.dbFile);
  }
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const [name, type] of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${name}=${type}`);
  // Incidents fan out as signals and updates; the dev server's defaults are fine, but let the
  // per-workflow update limits be generous enough for approval storms.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true');

  let logFd: number | 'ignore' = 'ignore';
  if (options.logFile) {
    privateDir(path.dirname(options.logFile));
    logFd = openSync(options.logFile, 'a', 0o600);
    chmodSync(options.logFile, 0o600);
  }
  // Own process group, so Ctrl-C in a terminal reaches Rebound first and Rebound stops the server in order.
  // Under umask 077, so whatever else the server creates is its owner's only.
  const umask = process.umask(0o077);
  let child: ChildProcess;
  try {
    child = spawn(options.cli, args, { stdio: ['ignore', logFd, logFd], detached: true });
  } finally {
    process.umask(umask);
  }
  if (typeof logFd === 'number') closeSync(logFd);
  const guard = options.stopWithParent && child.pid ? startGuard(child.pid) : undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Stopped in order: end the guard's pipe, and it finds the server gone and ends too.
  void exited.then(() => guard?.stdin?.destroy());
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));

  const address = `${host}:${options.port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await Promise.race([
      waitForFrontend(address, namespace, options.startTimeoutMs ?? 60_000, exited),
      spawnError,
    ]);
    if (options.retentionMs !== undefined) await setRetention(address, namespace, options.retentionMs);
  } catch (error) {
    await stop();
    const logHint = options.logFile ? ` See the server log at ${options.logFile}.` : '';
    throw new Error(`The embedded Temporal server did not start: ${(error as Error).message}.${logHint}`, {
      cause: error,
    });
  }
  return {
    address,
    uiUrl: options.uiPort > 0 ? `http://${host}:${options.uiPort}` : undefined,
    pid: child.pid ?? -1,
    stop,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    exited,
  };
}

// A shell that holds the read end of a pipe from this process and ignores signals. The kernel
// closes the write end however this process ends (a crash that skips exit handlers included), so
// the shell's read sees end-of-file and it stops the server's process group: TERM, then KILL.
const GUARD_SCRIPT = [
  'trap "" INT TERM HUP',
  'while read -r _; do :; done',
  'kill -TERM "-$1" 2>/dev/null || exit 0',
  'i=0',
  'while kill -0 "-$1" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
  'kill -KILL "-$1" 2>/dev/null',
  'exit 0',
].join('\n');

function startGuard(serverPid: number): ChildProcess {
  const guard = spawn('/bin/sh', ['-c', GUARD_SCRIPT, 'rebound-temporal-guard', String(serverPid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  // Neither the guard nor its pipe may keep this process alive.
  guard.unref();
  (guard.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  guard.on('error', () => {
    // No shell: the exit handler of `rebound dev` still stops the server on an ordinary exit.
  });
  return guard;
}

async function waitForFrontend(
  address: string,
  namespace: string,
  timeoutMs: number,
  exited: Promise<number | null>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`the server process exited with code ${exitCode}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = (error as Error).message;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`no answer from ${address} within ${timeoutMs} ms (${lastError})`);
}

async function setRetention(address: string, namespace: string, retentionMs: number): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.updateNamespace({
      namespace,
      config: { workflowExecutionRetentionTtl: msToTs(retentionMs) },
    });
  } finally {
    await connection.close();
  }
}
