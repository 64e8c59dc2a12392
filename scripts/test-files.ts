// Which files are tests, and which of them are unit tests: the naming rule `npm test`,
// `npm run test:unit` and the test that keeps unit tests free of servers all share.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** The naming rule for tests that need no server: no Temporal, Docker, Alertmanager, SMTP or browser. */
export const UNIT_TEST_SUFFIX = '.unit.test.ts';

/** Every file under dir (test/support and dot folders aside) whose name ends with suffix, sorted. */
export function testFiles(dir: string, suffix = '.test.ts'): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) {
      if (entry !== 'support' && !entry.startsWith('.')) out.push(...testFiles(full, suffix));
    } else if (entry.endsWith(suffix)) out.push(full);
  }
  return out.sort();
}

/**
 * The files named on the command line: a folder stands for its test files. A path that does not exist,
 * or a folder with no test in it, is an error: a run that silently tests nothing looks like a pass.
 */
export function filesFromArgs(args: string[], suffix = '.test.ts'): string[] {
  const out: string[] = [];
  for (const arg of args) {
    if (!existsSync(arg)) throw new Error(`no such test file or folder: ${arg}`);
    if (statSync(arg).isDirectory()) {
      const found = testFiles(arg, suffix);
      if (found.length === 0) throw new Error(`no *${suffix} files under ${arg}`);
      out.push(...found);
    } else out.push(arg);
  }
  return out;
}
