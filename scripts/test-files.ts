// Which files are tests, and which of them are unit tests: the naming rule `npm test`,
// `npm run test:unit` and the test that keeps unit tests free of servers all share.
import { readdirSync, statSync } from 'node:fs';
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
