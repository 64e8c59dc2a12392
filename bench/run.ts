// `npm run bench [-- intake|first-action|scale|replay|console ...] [--quick] [--file] [--out DIR] [--compare OLD_DIR]
// [--sizes 100,1000,...]`: starts its own Temporal dev server (in memory; --file: a SQLite file in a temp dir, as `rebound
// dev` runs), runs the benchmarks and their baselines in this process against it, prints tables and writes
// <DIR>/<name>.json (bench/results by default). --compare then prints each figure beside OLD_DIR's;
// `--compare OLD_DIR --to NEW_DIR` only compares two earlier runs.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort, startDevServer } from '../src/dev-server';
import { locateTemporalCli } from '../src/temporal-cli';
import { installRuntime } from '../src/worker';
import { DEFAULT_RESULTS_DIR, machine, realWorkflowBundle, type BenchContext } from './common';
import { compareRuns, type Extractor } from './compare';
import { consoleBench } from './console';
import { firstActionBench, firstActionFigures } from './first-action';
import { intakeBench, intakeFigures } from './intake';
import { replayBench, replayFigures } from './replay';
import { scaleBench, scaleFigures } from './scale';

const BENCHES: Record<string, (ctx: BenchContext) => Promise<void>> = {
  intake: intakeBench,
  'first-action': firstActionBench,
  scale: scaleBench,
  replay: replayBench,
  console: consoleBench,
};

const EXTRACTORS: Record<string, Extractor> = {
  intake: intakeFigures,
  'first-action': firstActionFigures,
  scale: scaleFigures,
  replay: replayFigures,
};

interface Args {
  names: string[];
  flags: Set<string>;
  values: Map<string, string>;
}

const VALUE_FLAGS = ['--out', '--compare', '--to', '--sizes'];

function parseArgs(argv: string[]): Args {
  const names: string[] = [];
  const flags = new Set<string>();
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    if (VALUE_FLAGS.includes(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
      values.set(flag, value);
    } else if (arg.startsWith('--')) flags.add(arg);
    else names.push(arg);
  }
  return { names, flags, values };
}

async function main(): Promise<number> {
  const { names, flags, values } = parseArgs(process.argv.slice(2));
  const quick = flags.has('--quick');
  // In memory by default, so the full run fits in ~10 minutes on 2 cores; --file keeps the state in
  // a SQLite file as `rebound dev` does (every write is synced to disk: several times slower here).
  const inMemory = !flags.has('--file');
  const outDir = path.resolve(values.get('--out') ?? DEFAULT_RESULTS_DIR);
  const compareWith = values.get('--compare');
  if (compareWith && values.has('--to')) {
    compareRuns(path.resolve(compareWith), path.resolve(values.get('--to') as string), EXTRACTORS, names);
    return 0;
  }
  const sizesText = values.get('--sizes');
  const sizes = sizesText?.split(',').map((n) => Number(n.trim()));
  if (sizes && sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    console.error(`--sizes takes whole numbers separated by commas, e.g. 100,1000,10000 (got ${sizesText})`);
    return 2;
  }
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
    outDir,
    ...(sizes ? { sizes } : {}),
  };
  try {
    for (const name of selected) {
      const started = Date.now();
      console.log(`\n=== ${name} ===`);
      await (BENCHES[name] as (c: BenchContext) => Promise<void>)(ctx);
      console.log(`(${name} took ${Math.round((Date.now() - started) / 1000)} s)`);
    }
  } catch (error) {
    // Said before the connection closes: a gRPC retry still pending then can crash the process
    // ("Channel has been shut down") and hide what failed.
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    throw error;
  } finally {
    await connection.close();
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  if (compareWith) compareRuns(path.resolve(compareWith), outDir, EXTRACTORS, selected);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
