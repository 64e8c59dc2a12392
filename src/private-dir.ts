// Directories of Rebound's own state (the dev server's database and logs, tokens) kept to their owner.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Creates a directory (and its parents) that only its owner can enter: 0700, also when it exists. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Only a directory of one's own is tightened, never a shared one: /tmp is root's own, so for a
  // process running as root the owner alone does not tell (a sticky or world-writable directory,
  // the temp directory itself or a filesystem root is left as it is).
  const stat = statSync(dir);
  const resolved = path.resolve(dir);
  const shared =
    (stat.mode & 0o1002) !== 0 ||
    resolved === path.resolve(os.tmpdir()) ||
    resolved === path.parse(resolved).root;
  if (!shared && stat.uid === process.getuid?.()) chmodSync(dir, 0o700);
}
