// Progress on long work: the Temporal CLI build says how long it usually takes and reports while Go
// works (a stand-in `go` that downloads and compiles slowly); `rebound replay <dir>` shows n of N on
// a terminal (a real pseudo-terminal through script(1)) and nothing at all in a pipe.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { terminalProgress } from '../../src/progress';
import { locateTemporalCli } from '../../src/temporal-cli';
import { REBOUND_BIN, runRebound } from '../support/processes';

const HISTORIES = path.resolve(__dirname, '../histories');

describe('progress on long work', () => {
  it('the Temporal CLI build says what it does, how long it usually takes, and how far it is', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'rebound-progress-'));
    const goDir = path.join(tmp, 'go-bin');
    mkdirSync(goDir);
    // Downloads three modules, then "compiles" quietly, then installs a binary where GOBIN says.
    writeFileSync(
      path.join(goDir, 'go'),
      [
        '#!/bin/sh',
        'for m in a b c; do echo "go: downloading example.com/$m v1.0.0" >&2; done',
        'sleep 2',
        'printf "#!/bin/sh\\necho temporal\\n" > "$GOBIN/temporal"',
        'chmod +x "$GOBIN/temporal"',
      ].join('\n'),
    );
    chmodSync(path.join(goDir, 'go'), 0o755);
    const lines: string[] = [];
    const cli = await locateTemporalCli({
      cacheDir: path.join(tmp, 'cache'),
      env: { PATH: `${goDir}:/usr/bin:/bin` },
      log: (line) => lines.push(line),
      progressEveryMs: 200,
    });
    assert.equal(cli, path.join(tmp, 'cache', 'bin', 'temporal'));
    const text = lines.join('\n');
    assert.match(text, /Building the Temporal CLI .* usually takes about 3 minutes/);
    assert.match(
      text,
      /still building the Temporal CLI: \d+ s so far, (downloading modules \(3 so far\)|compiling)/,
    );
    assert.match(text, /Built the Temporal CLI in \d+ s \(3 modules downloaded\)/);
    assert.doesNotMatch(text, /go: downloading/, 'the download lines are summarised, not repeated');
  });

  it('shows n of N on a terminal and rewrites one line', () => {
    const written: string[] = [];
    const tty = {
      isTTY: true,
      columns: 80,
      write: (s: string) => written.push(s),
    } as unknown as NodeJS.WriteStream;
    const progress = terminalProgress('replaying', 3, tty);
    progress.update(1, 'a.json');
    progress.update(3, 'c\u001b[2Jbad.json');
    progress.end();
    assert.ok(written[0]!.startsWith('\r\u001b[K'), JSON.stringify(written[0]));
    assert.match(written[0]!, /replaying 1 of 3 \(0 s\): a\.json$/);
    assert.match(
      written[1]!,
      /replaying 3 of 3 \(0 s\): c\\x1b\[2Jbad\.json$/,
      'control characters are neutralised',
    );
    assert.equal(written.at(-1), '\r\x1b[K');

    const pipe: string[] = [];
    const quiet = terminalProgress('replaying', 3, {
      isTTY: false,
      write: (s: string) => pipe.push(s),
    } as unknown as NodeJS.WriteStream);
    quiet.update(1, 'a.json');
    quiet.end();
    assert.deepEqual(pipe, []);
  });

  it('rebound replay <dir> shows progress on a terminal and stays quiet in a pipe', async () => {
    const piped = await runRebound(['replay', HISTORIES], {}, 300_000);
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stdout, /histories replayed identically/);
    assert.doesNotMatch(piped.stderr, /replaying|bundling|\r/);

    // script(1) gives the command a real pseudo-terminal; its output is what the terminal showed.
    const command = `${process.execPath} ${REBOUND_BIN} replay ${HISTORIES}`;
    const onTty = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(onTty.status, 0, onTty.stdout);
    assert.match(onTty.stdout, /bundling the workflow code/);
    assert.match(onTty.stdout, /replaying \d+ of \d+ \(\d+ s\)/);
    assert.match(onTty.stdout, /\d+ histories replayed identically/);
  });
});
