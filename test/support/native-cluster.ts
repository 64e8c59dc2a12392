// A real Temporal cluster for a test or a benchmark: deploy/native/temporal-cluster.sh (PostgreSQL and
// the four Temporal services as separate processes) in a throw-away directory, on free ports.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const CLUSTER_SCRIPT = path.resolve(__dirname, '../../deploy/native/temporal-cluster.sh');

export type ClusterPart = 'postgresql' | 'frontend' | 'history' | 'matching' | 'worker';

export interface NativeCluster {
  /** host:port of the frontend. */
  address: string;
  dir: string;
  /** Stops and starts one part; resolves when the script says it is back. */
  restart(part: ClusterPart): Promise<void>;
  /** The last lines of every log, for failure messages. */
  logs(): string;
  stop(options?: { keep?: boolean }): Promise<void>;
}

function script(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
  return run('bash', [CLUSTER_SCRIPT, ...args], {
    env: { ...process.env, ...env },
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** Starts a cluster, or throws saying why it cannot (with the script's output and the logs). */
export async function startNativeCluster(options: {
  cli: string;
  namespace?: string;
}): Promise<NativeCluster> {
  // The postgres user must reach its data directory: a directory under /tmp, searchable by all.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-cluster-'));
  const env = {
    REBOUND_CLUSTER_DIR: dir,
    TEMPORAL_FRONTEND_PORT: 'auto',
    TEMPORAL_CLI_PATH: options.cli,
    TEMPORAL_NAMESPACE: options.namespace ?? 'default',
    TEMPORAL_RETENTION: '24h',
  };
  const logs = (): string => {
    const logDir = path.join(dir, 'log');
    let out = '';
    try {
      for (const file of readdirSync(logDir)) {
        const lines = readFileSync(path.join(logDir, file), 'utf8')
          .trim()
          .split('\n')
          .slice(-10)
          .map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line));
        out += `--- ${file}\n${lines.join('\n')}\n`;
      }
    } catch {
      out += '(no logs)';
    }
    return out;
  };
  const stop = async ({ keep = false } = {}): Promise<void> => {
    await script(['stop'], env, 120_000).catch(() => undefined);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await script(['start'], env, 600_000);
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    const why = `${e.stderr ?? ''}${e.stdout ?? ''}`.trim() || e.message;
    const text = logs();
    await stop();
    throw new Error(
      `Cannot start the native Temporal cluster (deploy/native/temporal-cluster.sh; bash scripts/install.sh builds the server and installs PostgreSQL): ${why}\n${text}`,
      { cause: error },
    );
  }
  const vars = Object.fromEntries(
    readFileSync(path.join(dir, 'cluster.env'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
  const address = vars.TEMPORAL_ADDRESS;
  if (!address) throw new Error(`no TEMPORAL_ADDRESS in ${dir}/cluster.env`);
  return {
    address,
    dir,
    restart: async (part) => {
      await script(['restart', part], env, 120_000);
    },
    logs,
    stop,
  };
}
