// Every command answers a missing incident, an unreachable Temporal and a bad argument with one clear
// line and its documented exit status (2 usage, 3 not found, 4 unreachable), never a stack trace.
// The real CLI, as a child process, against the run's dev server and against a port nobody serves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freePort } from '../../src/dev-server';
import { runRebound } from '../support/processes';
import { temporalAddress } from '../support/temporal';

const MISSING = 'incident/does-not-exist/anywhere';

interface Case {
  name: string;
  args: string[];
  /** Where it points: the run's server, or an address nothing listens on. */
  temporal: 'up' | 'down';
  code: number;
  message: RegExp;
}

function cases(): Case[] {
  const notFound = (name: string, args: string[]): Case => ({
    name: `${name}: missing incident`,
    args,
    temporal: 'up',
    code: 3,
    message: /no (open )?incident|no file .* and no incident/,
  });
  const down = (name: string, args: string[]): Case => ({
    name: `${name}: Temporal unreachable`,
    args,
    temporal: 'down',
    code: 4,
    message: /cannot reach Temporal at 127\.0\.0\.1:\d+/,
  });
  const usage = (name: string, args: string[], message: RegExp): Case => ({
    name: `${name}: bad argument`,
    args,
    temporal: 'up',
    code: 2,
    message,
  });
  return [
    notFound('audit', ['audit', MISSING]),
    down('audit', ['audit', MISSING]),
    usage('audit', ['audit', MISSING, '--format', 'pdf'], /--format pdf: expected one of/),
    notFound('incidents show', ['incidents', 'show', MISSING]),
    down('incidents show', ['incidents', 'show', MISSING]),
    usage('incidents show', ['incidents', 'show', MISSING, '--query-timeout', 'soon'], /--query-timeout/),
    down('incidents list', ['incidents', 'list']),
    usage('incidents list', ['incidents', 'list', '--limit', '0'], /--limit 0/),
    usage('incidents list --status', ['incidents', 'list', '--status', 'weird'], /weird/),
    down('incidents pending', ['incidents', 'pending']),
    usage('incidents pending', ['incidents', 'pending', '--no-such-flag'], /unknown option/),
    notFound('history export', ['history', 'export', MISSING]),
    down('history export', ['history', 'export', MISSING]),
    usage('history export', ['history', 'export'], /give an incident id/),
    notFound('approve', ['approve', MISSING, '--as', 'alice']),
    down('approve', ['approve', MISSING, '--as', 'alice']),
    usage('approve', ['approve', MISSING], /--as <name> is required/),
    notFound('reject', ['reject', MISSING, '--as', 'alice']),
    down('reject', ['reject', MISSING, '--as', 'alice']),
    notFound('close', ['close', MISSING, '--as', 'alice']),
    down('close', ['close', MISSING, '--as', 'alice']),
    usage('close', ['close'], /missing required argument/),
    down('pause', ['pause', '--as', 'alice']),
    usage('pause', ['pause'], /required option '--as <name>'/),
    down('resume', ['resume', '--as', 'alice']),
    down('status', ['status']),
    usage('status', ['status', '--temporal-namespace'], /argument missing/),
    notFound('replay', ['replay', MISSING]),
    down('replay', ['replay', MISSING]),
    usage('replay', ['replay'], /missing required argument/),
    usage('unknown command', ['frobnicate'], /unknown command/),
  ];
}

describe('every command: one line and a documented exit status', () => {
  it('missing incident 3, Temporal unreachable 4, bad argument 2; no stack traces', async () => {
    const nobody = `127.0.0.1:${await freePort()}`;
    const all = cases();
    const results = new Map<Case, Awaited<ReturnType<typeof runRebound>>>();
    // A few at a time: each unreachable case waits out the connection attempt.
    const queue = [...all];
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        for (let c = queue.shift(); c; c = queue.shift())
          results.set(
            c,
            await runRebound(
              c.args,
              {
                TEMPORAL_ADDRESS: c.temporal === 'up' ? temporalAddress() : nobody,
                REBOUND_CONFIG: '',
                REBOUND_LOG_LEVEL: 'error',
                REBOUND_DEBUG: '',
              },
              // Generous: on a loaded machine starting node alone can take many seconds.
              240_000,
            ),
          );
      }),
    );
    const problems: string[] = [];
    for (const c of all) {
      const r = results.get(c);
      if (!r) throw new Error(`no result for ${c.name}`);
      const lines = r.stderr
        .trimEnd()
        .split('\n')
        .filter((l) => l.trim() !== '');
      // Commander adds its usage hint after a usage error; the error itself is still one line.
      const errorLines = lines.filter((l) => /^(rebound: |error: )/.test(l));
      if (r.code !== c.code)
        problems.push(`${c.name}: exit ${r.code}, expected ${c.code}; stderr: ${r.stderr}`);
      else if (!c.message.test(r.stderr))
        problems.push(`${c.name}: stderr does not match ${c.message}: ${r.stderr}`);
      else if (/^\s+at /m.test(r.stderr)) problems.push(`${c.name}: a stack trace: ${r.stderr}`);
      else if (errorLines.length !== 1)
        problems.push(`${c.name}: ${errorLines.length} error lines: ${r.stderr}`);
      else if (c.code !== 2 && lines.length !== 1)
        problems.push(`${c.name}: more than one line: ${r.stderr}`);
    }
    assert.deepEqual(problems, []);
  });
});
