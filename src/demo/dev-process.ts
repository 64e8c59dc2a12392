// `rebound dev` as a child process, for commands (the demo) that need Rebound running and start it
// when it is not: its own process group (so a Ctrl-C reaches the parent, which stops it in order),
// its output in a log file, ready when it prints its banner, stopped with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';

const REBOUND_BIN = path.resolve(__dirname, '../../bin/rebound.js');
const READY = 'Press Ctrl-C to stop.';

export interface DevProcess {
  pid: number;
  logFile: string;
  /** SIGTERM, then wait for it to stop Temporal and exit (SIGKILL after graceMs). */
  stop(graceMs?: number): Promise<void>;
  /** Synchronous SIGTERM for a process that is exiting: the child still shuts down in order. */
  signal(): void;
  /** Resolves once it is ready; rejects with its last output if it exits first or takes too long (and stops it). */
  ready(timeoutMs: number): Promise<void>;
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

/** Starts `rebound dev args…`; the caller registers its stop at once, then waits for `ready`. */
export function spawnDevProcess(args: string[], logFile: string): DevProcess {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'w');
  const child: ChildProcess = spawn(process.execPath, [REBOUND_BIN, 'dev', ...args], {
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, sig) => {
      exit = sig ? `signal ${sig}` : `status ${code}`;
      resolve();
    }),
  );
  child.once('error', (error) => (exit = error.message));
  const alive = (): boolean => exit === undefined && child.exitCode === null && child.signalCode === null;
  const dev: DevProcess = {
    pid: child.pid ?? -1,
    logFile,
    signal: () => {
      if (alive()) child.kill('SIGTERM');
    },
    stop: async (graceMs = 45_000) => {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    ready: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!alive()) throw new Error(`rebound dev exited (${exit}) before it was ready:\n${tail(logFile)}`);
        if (readFileSync(logFile, 'utf8').includes(READY)) return;
        if (Date.now() > deadline) {
          await dev.stop();
          throw new Error(`rebound dev was not ready within ${timeoutMs / 1000} s:\n${tail(logFile)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
  };
  return dev;
}
