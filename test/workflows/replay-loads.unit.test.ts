// `rebound replay` loads no activity code: neither the replay module nor the CLI that runs it pulls in
// dockerode, nodemailer or the Slack Web API client, so replaying in CI starts fast and needs none of
// them. Each module is loaded in a fresh process, and what it loaded is read from require.cache.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const root = path.resolve(__dirname, '../..');
const ACTIVITY_PACKAGES = ['dockerode', 'nodemailer', '@slack/web-api'];

/** Requires file in a new node process (argv as given) and returns the activity packages it loaded. */
async function packagesLoadedBy(file: string, argv: string[] = []): Promise<string[]> {
  const script = `
    process.argv = [process.argv[0], 'rebound', ...${JSON.stringify(argv)}];
    require(${JSON.stringify(path.join(root, file))});
    process.on('exit', () => {
      const names = ${JSON.stringify(ACTIVITY_PACKAGES)};
      const loaded = names.filter((n) => Object.keys(require.cache).some((k) => k.includes('/node_modules/' + n + '/')));
      process.stderr.write('\\nLOADED ' + JSON.stringify(loaded) + '\\n');
    });`;
  const { stderr } = await promisify(execFile)(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
    cwd: root,
    timeout: 120_000,
  });
  const line = /^LOADED (.*)$/m.exec(stderr);
  assert.ok(line?.[1], `no report from the child process: ${stderr}`);
  return JSON.parse(line[1]) as string[];
}

describe('rebound replay loads no activity code', () => {
  it('the replay module loads no Docker, mail or Slack client', async () => {
    assert.deepEqual(await packagesLoadedBy('src/replay.ts'), []);
  });

  it('the CLI loads none of them before a command asks for one', async () => {
    assert.deepEqual(await packagesLoadedBy('src/cli.ts', ['--version']), []);
  });

  it('the check sees them where they are loaded', async () => {
    assert.deepEqual(await packagesLoadedBy('src/worker.ts'), ACTIVITY_PACKAGES);
  });
});
