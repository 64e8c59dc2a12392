// `npm test`: one real Temporal dev server for the whole run (free port, throw-away database), then
// node's test runner over test/**/*.test.ts (or the files given). No server, no run: it fails saying why.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDevServer } from '../src/dev-server';
import { locateTemporalCli } from '../src/temporal-cli';

const root = path.resolve(__dirname, '..');

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) {
      if (entry !== 'support' && !entry.startsWith('.')) out.push(...testFiles(full));
    } else if (entry.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const files = args.length > 0 ? args : testFiles(path.join(root, 'test'));
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
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
      {
        cwd: root,
        stdio: 'inherit',
        env: {
          ...process.env,
          REBOUND_TEST_TEMPORAL_ADDRESS: server.address,
          REBOUND_TEST_TEMPORAL_CLI: cli,
        },
      },
    );
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    process.once('SIGINT', forward);
    process.once('SIGTERM', forward);
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
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
