// `npm run bench [-- intake|first-action|scale|replay|console ...] [--quick] [--file]`: starts its own Temporal dev
// server (in memory; --file: a SQLite file in a temp dir, as `rebound dev` runs), runs the benchmarks and their baselines
// in this process against it, prints tables and writes bench/results/<name>.json.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort, startDevServer } from '../src/dev-server';
import { locateTemporalCli } from '../src/temporal-cli';
import { installRuntime } from '../src/worker';
import { machine, realWorkflowBundle, type BenchContext } from './common';
import { consoleBench } from './console';
import { firstActionBench } from './first-action';
import { intakeBench } from './intake';
import { replayBench } from './replay';
import { scaleBench } from './scale';

const BENCHES: Record<string, (ctx: BenchContext) => Promise<void>> = {
  intake: intakeBench,
  'first-action': firstActionBench,
  scale: scaleBench,
  replay: replayBench,
  console: consoleBench,
};

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  // In memory by default, so the full run fits in ~10 minutes on 2 cores; --file keeps the state in
  // a SQLite file as `rebound dev` does (every write is synced to disk: several times slower here).
  const inMemory = !args.includes('--file');
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !(n in BENCHES));
  if (unknown.length > 0) {
    console.error(
      `Unknown benchmark(s): ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}`,
    );
    return 2;
  }
  const selected = names.length > 0 ? names : Object.keys(BENCHES);
  const m = machine();
  console.log(
    `Machine: ${m.cores} cores, ${m.memoryGiB} GiB memory (${m.cpu}); Node ${m.node}; ${m.platform}`,
  );
  // Logs would cost time in the measured paths; only errors get through.
  process.env.REBOUND_LOG_LEVEL ??= 'error';
  installRuntime('warn');
  const root = path.resolve(__dirname, '..');
  const cli = await locateTemporalCli({ cacheDir: path.join(root, '.rebound'), log: (l) => console.log(l) });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rebound-bench-'));
  const dbFile = path.join(tmp, 'temporal.db');
  const server = await startDevServer({
    cli,
    ...(inMemory ? {} : { dbFile }),
    port: await freePort(),
    uiPort: 0,
    retentionMs: 86_400_000,
    logFile: path.join(tmp, 'temporal.log'),
  });
  const serverText = `Temporal CLI dev server (${path.basename(cli)}), ${inMemory ? 'in memory' : `SQLite file ${dbFile}`}, started by the bench`;
  console.log(`Server: ${serverText} at ${server.address}`);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  const ctx: BenchContext = {
    address: server.address,
    client,
    quick,
    server: serverText,
    bundle: realWorkflowBundle,
  };
  try {
    for (const name of selected) {
      const started = Date.now();
      console.log(`\n=== ${name} ===`);
      await (BENCHES[name] as (c: BenchContext) => Promise<void>)(ctx);
      console.log(`(${name} took ${Math.round((Date.now() - started) / 1000)} s)`);
    }
  } finally {
    await connection.close();
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
