// Code runbooks on the Node side, as a user meets them: `rebound runbooks lint` refuses type errors
// and non-deterministic code with file:line:col, loading reports a runbook that does not compile or
// throws, and `rebound runbooks plan` says what it can and cannot know before the runbook runs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadCodeRunbook } from '../../src/runbooks/code-runbook';
import { checkRunbookDir } from '../../src/runbooks/catalog';
import { workflowSource } from '../../src/runbooks/code-bundle';

const root = path.resolve(__dirname, '../..');
const fixture = readFileSync(path.join(root, 'test/fixtures/code-runbooks/restart.ts'), 'utf8');

function rebound(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.REBOUND_CONFIG;
  delete env.REBOUND_RUNBOOKS;
  const result = spawnSync(process.execPath, [path.join(root, 'bin/rebound.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A runbook that is the fixture with `name` and its procedure's body replaced. */
function runbook(name: string, body: string, imports = ''): string {
  return `${imports}import { codeRunbook } from 'rebound/runbook';

export default codeRunbook({
  name: '${name}',
  description: 'a test',
  matchers: ['alertname = "T"'],
  async procedure(rb) {
${body}
  },
});
`;
}

function load(name: string, text: string): ReturnType<typeof loadCodeRunbook> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-code-'));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return loadCodeRunbook(name, file, Buffer.from(text));
}

describe('rebound runbooks lint on code runbooks', () => {
  it('refuses one that does not type-check and one that imports node:fs, with file:line:col; passes a good one', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-code-lint-'));
    writeFileSync(path.join(dir, '10-ok.ts'), fixture);
    // Line 8 of the file: the procedure's first line.
    writeFileSync(
      path.join(dir, '20-types.ts'),
      runbook('types', "    await rb.step('container.restart', { containr: 'db' });"),
    );
    writeFileSync(
      path.join(dir, '30-fs.ts'),
      runbook(
        'fs',
        "    rb.note(readFileSync('/etc/passwd', 'utf8'));",
        "import { readFileSync } from 'node:fs';\n",
      ),
    );
    const result = rebound('runbooks', 'lint', dir);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const out = result.stdout;
    assert.match(
      out,
      new RegExp(
        `${path.join(dir, '20-types.ts')}:8:42: TS2561: Object literal may only specify known properties, but 'containr' does not exist`,
      ),
    );
    assert.match(out, new RegExp(`${path.join(dir, '30-fs.ts')}:1:30: imports the Node built-in "node:fs"`));
    assert.doesNotMatch(out, /10-ok\.ts/);
  });

  it('refuses @temporalio imports (proxyActivities), the clock, randomness, timers and process', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-code-lint-'));
    writeFileSync(
      path.join(dir, 'sneaky.ts'),
      runbook(
        'sneaky',
        [
          "    const acts = proxyActivities<Record<string, () => Promise<void>>>({ startToCloseTimeout: '1m' });",
          '    if (Date.now() > 0 && Math.random() > 0.5) await acts.containerRestart?.();',
          '    setTimeout(() => {}, 10);',
          '    rb.note(String(process.env.HOME) + String(new Date()));',
        ].join('\n'),
        "import { proxyActivities } from '@temporalio/workflow';\n",
      ),
    );
    const result = rebound('runbooks', 'lint', dir);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const at = (line: number, column: number, text: string): RegExp =>
      new RegExp(`sneaky\\.ts:${line}:${column}: ${text}`);
    assert.match(result.stdout, at(1, 33, 'imports "@temporalio/workflow" directly'));
    assert.match(
      result.stdout,
      at(9, 18, 'proxyActivities: a runbook reaches activities only through rb.step'),
    );
    assert.match(result.stdout, at(10, 9, 'Date.now: reads the clock'));
    assert.match(result.stdout, at(10, 27, 'Math.random: not deterministic'));
    assert.match(result.stdout, at(11, 5, 'setTimeout: use rb.sleep'));
    assert.match(result.stdout, at(12, 20, 'process: no process access'));
    assert.match(result.stdout, at(12, 47, 'new Date\\(\\) reads the clock'));
  });
});

describe('loading a code runbook', () => {
  it('a file that does not compile is refused at load with its position', () => {
    const { problems, snapshot } = load('broken.ts', runbook('broken', '    const x = ;'));
    assert.equal(snapshot, undefined);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.line, 8);
    assert.equal(problems[0]?.column, 15);
    assert.match(problems[0]?.message ?? '', /^does not compile: Unexpected ";"/);
  });

  it('a file that throws when loaded is refused, at the line and column in the .ts file', () => {
    const text = `import { codeRunbook } from 'rebound/runbook';

const standbys: string[] = [];
if (standbys.length === 0) throw new Error('no standbys configured');

export default codeRunbook({ name: 'throws', description: '', matchers: ['a = "b"'], async procedure() {} });
`;
    const { problems } = load('throws.ts', text);
    assert.deepEqual(
      problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`),
      ['throws.ts:4:34: throws when loaded: Error: no standbys configured'],
    );
  });

  it("the worker's bundle refuses a directory with such a runbook, saying where", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-code-bundle-'));
    writeFileSync(
      path.join(dir, 'a.ts'),
      "import { codeRunbook } from 'rebound/runbook';\nthrow new Error('x');\n",
    );
    assert.throws(
      () => workflowSource(dir),
      new RegExp(`${path.join(dir, 'a.ts')}:2:7: throws when loaded: Error: x`),
    );
  });

  it('an import other than rebound/runbook, a bad matcher and a missing default export are refused', () => {
    assert.match(
      load('imp.ts', runbook('imp', '', "import fs from 'fs';\nvoid fs;\n")).problems[0]?.message ?? '',
      /imports "fs": a code runbook may import only "rebound\/runbook"/,
    );
    assert.match(
      load('m.ts', runbook('m', '').replace('alertname = "T"', 'alertname ~ T')).problems[0]?.message ?? '',
      /matcher/i,
    );
    assert.match(
      load('none.ts', 'export const x = 1;\n').problems[0]?.message ?? '',
      /default export is codeRunbook/,
    );
  });

  it('the runbooks directory routes to the shipped code runbook, with its metadata and hash', () => {
    const { runbooks, problems } = checkRunbookDir(path.join(root, 'runbooks'));
    assert.deepEqual(problems, []);
    const code = runbooks.find((r) => r.kind === 'code');
    assert.equal(code?.runbook.name, 'failover-to-first-healthy-standby');
    assert.equal(code?.source, '30-failover-to-first-healthy-standby.ts');
    assert.equal(code?.runbook.target, '{{ labels.service }}');
    assert.deepEqual(code?.runbook.steps, []);
    assert.match(code?.hash ?? '', /^[0-9a-f]{64}$/);
  });
});

describe('rebound runbooks plan on a code runbook', () => {
  it('prints what is known before it runs and says what is not', () => {
    const result = rebound(
      'runbooks',
      'plan',
      'failover-to-first-healthy-standby',
      '--alert',
      'alertname=PrimaryDown,service=db',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^Runbook {3}failover-to-first-healthy-standby \(code: 30-failover-to-first-healthy-standby\.ts/m,
    );
    assert.match(result.stdout, /^Matches {3}yes$/m);
    assert.match(result.stdout, /^Workflow {2}incident\/failover-to-first-healthy-standby\/db$/m);
    assert.match(result.stdout, /line \d+: approval id approve/);
    assert.match(
      result.stdout,
      /line \d+: container\.failover id failover-\$\{index \+ 1\} \(mutating: guards apply\)/,
    );
    assert.match(
      result.stdout,
      /^Not known before it runs: which of these steps run, how often, in what order/m,
    );
  });
});
