// The workflow bundle cache (src/workflow-bundle.ts): a second run reuses the bundle, a changed
// workflow source builds a new one, a corrupted or truncated cache file is never run, concurrent
// runs never see half a file, and `replay()` replays the recorded histories from the cached bundle.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readHistoryFile, replay } from '../../src/replay';
import { bundleKey, resolveCacheDir, workflowBundle } from '../../src/workflow-bundle';

// The tiny workflow lives inside the checkout so webpack finds @temporalio/workflow from it.
let sourceDir: string;
let cacheDir: string;
let workflowsPath: string;

function writeWorkflow(answer: string): void {
  writeFileSync(
    workflowsPath,
    `// A workflow for the bundle cache test.\nexport async function tiny(): Promise<string> {\n  return '${answer}';\n}\n`,
  );
}

function cacheFiles(): string[] {
  return readdirSync(cacheDir).filter((f) => f.startsWith('workflow-bundle-'));
}

describe('workflow bundle cache', () => {
  before(() => {
    sourceDir = mkdtempSync(path.join(__dirname, '.bundle-cache-'));
    cacheDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-bundle-cache-'));
    workflowsPath = path.join(sourceDir, 'index.ts');
    writeWorkflow('first');
  });
  after(() => {
    rmSync(sourceDir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('bundles once, then reuses the cached bundle', async () => {
    const first = await workflowBundle({ dir: cacheDir, workflowsPath });
    assert.equal(first.source, 'built');
    assert.match(first.code, /first/);
    assert.deepEqual(cacheFiles(), [path.basename(first.file ?? '')]);
    const second = await workflowBundle({ dir: cacheDir, workflowsPath });
    assert.equal(second.source, 'hit');
    assert.equal(second.code, first.code);
  });

  it('rebuilds when a workflow source changes, and keys stay stable otherwise', async () => {
    const before = bundleKey(workflowsPath);
    assert.equal(bundleKey(workflowsPath), before);
    assert.notEqual(bundleKey(workflowsPath, 'another SDK'), before, 'the salt is part of the key');
    writeWorkflow('second');
    assert.notEqual(bundleKey(workflowsPath), before);
    const changed = await workflowBundle({ dir: cacheDir, workflowsPath });
    assert.equal(changed.source, 'built', 'a stale bundle must not be reused');
    assert.match(changed.code, /second/);
    assert.doesNotMatch(changed.code, /'first'/);
    assert.equal((await workflowBundle({ dir: cacheDir, workflowsPath })).source, 'hit');
  });

  it('never runs a corrupted or truncated cache file: it rebuilds and replaces it', async () => {
    const good = await workflowBundle({ dir: cacheDir, workflowsPath });
    const file = good.file ?? assert.fail('no cache file');
    const text = readFileSync(file, 'utf8');
    for (const broken of [
      text.slice(0, Math.floor(text.length / 2)), // truncated (a crash mid-write without rename)
      text.replace(/second/, 'SECOND'), // altered code, header intact
      'garbage',
      '',
    ]) {
      writeFileSync(file, broken);
      const again = await workflowBundle({ dir: cacheDir, workflowsPath });
      assert.equal(again.source, 'built');
      assert.equal(again.code, good.code);
      assert.equal(readFileSync(file, 'utf8'), text, 'the cache file is whole again');
    }
  });

  it('concurrent runs on an empty cache each get a whole bundle and leave one whole file', async () => {
    writeWorkflow('third');
    const runs = await Promise.all([1, 2, 3].map(() => workflowBundle({ dir: cacheDir, workflowsPath })));
    for (const run of runs) assert.match(run.code, /third/);
    assert.equal(readdirSync(cacheDir).filter((f) => f.endsWith('.tmp')).length, 0, 'no temporary file left');
    assert.equal((await workflowBundle({ dir: cacheDir, workflowsPath })).source, 'hit');
  });

  it('keeps working without a writable cache directory', async () => {
    const blocked = path.join(cacheDir, 'a-file');
    writeFileSync(blocked, 'not a directory');
    const run = await workflowBundle({ dir: path.join(blocked, 'cache'), workflowsPath });
    assert.equal(run.source, 'built');
    assert.match(run.code, /third/);
  });

  it('resolves the cache directory from the setting, XDG_CACHE_HOME or the home directory', () => {
    assert.equal(resolveCacheDir('off'), undefined);
    assert.equal(resolveCacheDir('/x/y'), '/x/y');
    assert.equal(resolveCacheDir(undefined, { XDG_CACHE_HOME: '/xdg' }), '/xdg/rebound');
    assert.equal(resolveCacheDir(undefined, {}), path.join(os.homedir(), '.cache', 'rebound'));
  });

  it('replays the recorded histories from a cached bundle of the real workflow code', async () => {
    const dir = path.resolve(__dirname, '../histories');
    const sources = readdirSync(dir)
      // A code runbook's history needs the runbooks bundled in (replay.unit.test.ts replays those).
      .filter((f) => f.endsWith('.json') && !f.startsWith('code-'))
      .sort()
      .slice(0, 3)
      .map((f) => readHistoryFile(path.join(dir, f)));
    const fill = await replay(sources, { bundleCacheDir: cacheDir });
    assert.deepEqual(
      fill.filter((o) => !o.ok),
      [],
    );
    const real = await workflowBundle({ dir: cacheDir });
    assert.equal(real.source, 'hit', 'replay() stored the bundle it built');
    const again = await replay(sources, { bundleCacheDir: cacheDir });
    assert.deepEqual(
      again.map((o) => o.ok),
      sources.map(() => true),
    );
  });
});
