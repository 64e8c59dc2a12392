// Keeps `npm run test:unit` honest: a *.unit.test.ts file (and the test/support helpers it pulls in)
// imports nothing that starts or needs a server — Temporal, Docker, Alertmanager, SMTP, a browser,
// or a `rebound` process — and the two runs together still cover every test file.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UNIT_TEST_SUFFIX, testFiles } from '../../scripts/test-files';

const root = path.resolve(__dirname, '../..');
const support = path.join(root, 'test/support');

/** Modules whose import means a server (or a child `rebound` process): not for a unit test. */
const SERVER_MODULES = new Set([
  path.join(support, 'temporal.ts'),
  path.join(support, 'docker-engine.ts'),
  path.join(support, 'compose.ts'),
  path.join(support, 'native-cluster.ts'),
  path.join(support, 'processes.ts'),
  path.join(support, 'incidents.ts'),
  path.join(root, 'src/dev-server.ts'),
]);
const SERVER_PACKAGES = ['@temporalio/client', 'smtp-server', 'playwright-core'];
/** @temporalio/testing's MockActivityEnvironment needs no server; its TestWorkflowEnvironment starts one. */
const SERVER_NAMES = /\bTestWorkflowEnvironment\b/;

/** The module each import/export-from statement names, with the statement's text. */
function imports(file: string): { spec: string; statement: string }[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => ({
    spec: m[1] ?? '',
    statement: m[0],
  }));
}

function resolveLocal(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (existsSync(candidate) && candidate.endsWith('.ts')) return candidate;
  }
  return undefined;
}

/** What a unit file reaches that needs a server: through itself and the test/support files it imports. */
function serverReach(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const found: string[] = [];
  for (const { spec, statement } of imports(file)) {
    if (SERVER_NAMES.test(statement))
      found.push(`${path.relative(root, file)} imports TestWorkflowEnvironment`);
    if (SERVER_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`))) {
      found.push(`${path.relative(root, file)} imports ${spec}`);
      continue;
    }
    if (!spec.startsWith('.')) continue;
    const target = resolveLocal(file, spec);
    if (!target) continue;
    if (SERVER_MODULES.has(target))
      found.push(`${path.relative(root, file)} imports ${path.relative(root, target)}`);
    else if (target.startsWith(support + path.sep)) found.push(...serverReach(target, seen));
  }
  return found;
}

describe('unit tests need no server', () => {
  const unitFiles = testFiles(path.join(root, 'test'), UNIT_TEST_SUFFIX);

  it('finds the unit test files by their name', () => {
    assert.ok(
      unitFiles.length >= 10,
      `expected *${UNIT_TEST_SUFFIX} files under test/, found ${unitFiles.length}`,
    );
    assert.ok(unitFiles.includes(__filename), 'this file is itself a unit test');
  });

  it('no unit test file imports what starts or needs a server', () => {
    const reached = unitFiles.flatMap((f) => serverReach(f));
    assert.deepEqual(
      reached,
      [],
      `rename these *.test.ts (npm test runs them with servers):\n${reached.join('\n')}`,
    );
  });

  it('the check sees a server import where there is one', () => {
    assert.notDeepEqual(serverReach(path.join(root, 'test/workflows/interpreter.test.ts')), []);
    assert.notDeepEqual(serverReach(path.join(root, 'test/activities/docker.test.ts')), []);
  });

  it('npm test still runs every unit test file too', () => {
    const all = testFiles(path.join(root, 'test'));
    for (const file of unitFiles) assert.ok(all.includes(file), `${file} is not in the full run`);
  });
});
