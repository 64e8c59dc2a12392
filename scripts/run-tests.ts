// `npm test`: one real Temporal dev server for the whole run (free port, throw-away database), then
// node's test runner over test/**/*.test.ts (or the files given). No server, no run: it fails saying why.
// `npm run test:unit` (`--unit`): only the test/**/*.unit.test.ts files, which need no server of any
// kind, and no Temporal dev server is started; test/foundation/unit-tests.unit.test.ts keeps them so.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDevServer } from '../src/dev-server';
import { locateTemporalCli } from '../src/temporal-cli';
import { UNIT_TEST_SUFFIX, filesFromArgs, testFiles } from './test-files';

const root = path.resolve(__dirname, '..');

/** Node's test runner over files; resolves with its exit code. */
function runNodeTests(files: string[], concurrency: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
      { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } },
    );
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    process.once('SIGINT', forward);
    process.once('SIGTERM', forward);
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
}

async function unitRun(args: string[]): Promise<number> {
  const files =
    args.length > 0
      ? filesFromArgs(args, UNIT_TEST_SUFFIX)
      : testFiles(path.join(root, 'test'), UNIT_TEST_SUFFIX);
  const notUnit = files.filter((f) => !f.endsWith(UNIT_TEST_SUFFIX));
  if (notUnit.length > 0) {
    console.error(
      `Not unit tests (a unit test file is named *${UNIT_TEST_SUFFIX}); run them with \`npm test\`: ${notUnit.join(', ')}`,
    );
    return 1;
  }
  if (files.length === 0) {
    console.error(`No *${UNIT_TEST_SUFFIX} files found under test/.`);
    return 1;
  }
  // No Temporal address: a unit file that reaches for a server fails saying so (test/support/temporal.ts).
  const env: NodeJS.ProcessEnv = { REBOUND_TEST_UNIT: '1' };
  delete process.env.REBOUND_TEST_TEMPORAL_ADDRESS;
  delete process.env.REBOUND_TEST_TEMPORAL_CLI;
  const concurrency = process.env.REBOUND_TEST_CONCURRENCY ?? String(Math.max(2, os.availableParallelism()));
  return runNodeTests(files, concurrency, env);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--unit') return unitRun(argv.slice(1));
  const args = argv;
  const files = args.length > 0 ? filesFromArgs(args) : testFiles(path.join(root, 'test'));
  if (files.length === 0) {
    console.error('No test files found under test/.');
    return 1;
  }
  const cli = await locateTemporalCli({ cacheDir: path.join(root, '.rebound'), log: (l) => console.log(l) });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rebound-test-'));
  const port = await freePort();
  let server;
  try {
    server = await startDevServer({
      cli,
      dbFile: path.join(tmp, 'temporal.db'),
      port,
      uiPort: 0,
      retentionMs: 86_400_000,
      logFile: path.join(tmp, 'temporal.log'),
    });
  } catch (error) {
    console.error(`Cannot run the tests: ${(error as Error).message}`);
    return 1;
  }
  console.log(
    `Temporal dev server for this run at ${server.address} (log: ${path.join(tmp, 'temporal.log')})`,
  );
  const concurrency = process.env.REBOUND_TEST_CONCURRENCY ?? '2';
  const code = await runNodeTests(files, concurrency, {
    REBOUND_TEST_TEMPORAL_ADDRESS: server.address,
    REBOUND_TEST_TEMPORAL_CLI: cli,
  });
  await server.stop();
  if (code === 0) rmSync(tmp, { recursive: true, force: true });
  else console.error(`Tests failed; the Temporal server log is kept at ${path.join(tmp, 'temporal.log')}`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
