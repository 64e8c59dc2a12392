// Running `rebound` as a user does: a real process, its output collected, stopped with a signal.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after } from 'node:test';

export const REBOUND_BIN = path.resolve(__dirname, '../../bin/rebound.js');

export interface RunningProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves when the output matches, rejects on exit or timeout with the output so far. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Sends the signal and waits for exit; returns the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/**
 * How long `rebound dev` may take to be ready: it starts Temporal, bundles the workflows (CPU-bound)
 * and starts a worker and receiver, which on a busy two-core machine took over a minute.
 */
export const DEV_READY_TIMEOUT_MS = 180_000;

/**
 * Every process started here and still running. A test that fails before stopping its process would
 * otherwise leave it holding the test file open, and the whole run would hang instead of failing.
 */
const running = new Set<ChildProcess>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

/** `entry` is what node runs before `args`: bin/rebound.js, or node flags and another script. */
export function startRebound(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd?: string,
  entry: string[] = [REBOUND_BIN],
): RunningProcess {
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return {
    child,
    output: () => text,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = pattern.exec(text);
          if (match) {
            cleanup();
            resolve(match);
            return true;
          }
          return false;
        };
        const onData = (): void => void check();
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${text}`));
        }, timeoutMs);
        const onExit = (code: number | null): void => {
          if (check()) return;
          cleanup();
          reject(new Error(`rebound exited (${code}) before ${pattern}; output:\n${text}`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          child.stderr?.off('data', onData);
          child.off('exit', onExit);
        };
        child.stdout?.on('data', onData);
        child.stderr?.on('data', onData);
        child.once('exit', onExit);
        check();
      }),
    stop: async (signal = 'SIGTERM', timeoutMs = 45_000) => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs `rebound args` to completion. */
export async function runRebound(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [REBOUND_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
