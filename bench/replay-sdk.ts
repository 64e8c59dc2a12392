// Baseline of the replay benchmark: one SDK replay worker as its own process, as a Temporal user
// without Rebound would replay a directory of histories in CI with the workflow code bundled at
// build time (the bundle file is given). Loads only the SDK's worker and its history parser.
// Usage: node --import tsx bench/replay-sdk.ts --bundle FILE <history files or directories...>
// Prints one line per history and a last line `timing {...}` (JSON) that the replay benchmark reads.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';

// performance.now() counts from the process's start: the first phase is Node, tsx and the imports.
const phases: Record<string, number> = {};
let last = 0;
function phase(name: string): void {
  const now = performance.now();
  phases[name] = Math.round(now - last);
  last = now;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--bundle');
  const bundleFile = at >= 0 ? args.splice(at, 2)[1] : undefined;
  if (!bundleFile) throw new Error('--bundle FILE is required');
  const files = args.flatMap((s) =>
    statSync(s).isDirectory()
      ? readdirSync(s)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => path.join(s, f))
      : [s],
  );
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
  const code = readFileSync(bundleFile, 'utf8');
  phase('bundle');
  let diverged = 0;
  const results = Worker.runReplayHistories(
    { workflowBundle: { code }, replayName: 'bench-replay-sdk' },
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
