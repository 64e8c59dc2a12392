// Prototype (issue 15, replay): what `rebound replay <files or dirs>` costs when the workflow bundle
// is cached on disk and the process loads only what replaying needs. The CLI today bundles
// src/workflows with webpack on every run and, through src/replay.ts -> src/worker.ts, loads every
// activity integration; replaying the histories themselves is a small part of its time.
// Usage: node --import tsx bench/replay-fast.ts [--cache-dir DIR] <history files or directories...>
// Prints one line per history and a last line `timing {...}` (JSON) that the replay benchmark reads.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';

// performance.now() counts from the process's start: the first phase is Node, tsx and the imports.
const phases: Record<string, number> = {};
let last = 0;
function phase(name: string): void {
  const now = performance.now();
  phases[name] = Math.round(now - last);
  last = now;
}

const ROOT = path.resolve(__dirname, '..');

/** Every file the bundle could include from this checkout, and the SDK and Node versions. */
function bundleKey(): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else {
        hash.update(path.relative(ROOT, file));
        hash.update(readFileSync(file));
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  hash.update(readFileSync(path.join(ROOT, 'package-lock.json')));
  hash.update(process.version);
  return hash.digest('hex').slice(0, 16);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--cache-dir');
  const cacheDir = at >= 0 ? (args.splice(at, 2)[1] ?? os.tmpdir()) : os.tmpdir();
  const files = args.flatMap((s) =>
    statSync(s).isDirectory()
      ? readdirSync(s)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => path.join(s, f))
      : [s],
  );
  // Only the replay machinery is imported: the SDK's worker and its history parser, no activities.
  phase('startAndImports');
  const histories = files.map((file) => ({
    file,
    workflowId: path.basename(file, '.json'),
    history: historyFromJSON(JSON.parse(readFileSync(file, 'utf8'))),
  }));
  phase('read');
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    shutdownSignals: [],
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
  const cacheFile = path.join(cacheDir, `rebound-replay-bundle-${bundleKey()}.js`);
  phase('key');
  let code: string;
  if (existsSync(cacheFile)) code = readFileSync(cacheFile, 'utf8');
  else {
    const bundle = await bundleWorkflowCode({
      workflowsPath: path.join(ROOT, 'src', 'workflows', 'index.ts'),
      logger: new DefaultLogger('ERROR'),
    });
    code = bundle.code;
    writeFileSync(cacheFile, code);
  }
  phase('bundle');
  let diverged = 0;
  const results = Worker.runReplayHistories(
    { workflowBundle: { code }, replayName: 'rebound-replay-fast' },
    histories.map((h) => ({ workflowId: h.workflowId, history: h.history })),
  );
  let index = 0;
  for await (const result of results) {
    const h = histories[index++];
    if (result.error) diverged++;
    console.log(`${h?.file ?? result.workflowId}: ${result.error ? 'DIVERGED' : 'ok'}`);
  }
  phase('replay');
  console.log(
    `timing ${JSON.stringify({ histories: histories.length, diverged, totalMs: Math.round(performance.now()), ...phases })}`,
  );
  return diverged === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
