// privateDir keeps Rebound's own state directories to their owner (0700) but never tightens a shared
// directory: run as root, /tmp is root's own, and a chmod 700 of it breaks every other user and
// service on the host (PostgreSQL's own user, for one).
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { privateDir } from '../../src/private-dir';

const mode = (dir: string): number => statSync(dir).mode & 0o7777;

describe('privateDir', () => {
  it('creates a directory its owner alone can enter, and tightens an own one that is open', () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'rebound-private-'));
    const fresh = path.join(base, 'a', 'b');
    privateDir(fresh);
    assert.equal(mode(fresh), 0o700);
    const open = path.join(base, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    privateDir(open);
    assert.equal(mode(open), 0o700);
  });

  it('leaves a sticky or world-writable directory (such as /tmp) and the temp directory as they are', () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'rebound-private-'));
    const sticky = path.join(base, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    privateDir(sticky);
    assert.equal(mode(sticky), 0o1777);
    const writable = path.join(base, 'writable');
    mkdirSync(writable);
    chmodSync(writable, 0o777);
    privateDir(writable);
    assert.equal(mode(writable), 0o777);
    const before = mode(os.tmpdir());
    privateDir(os.tmpdir());
    assert.equal(mode(os.tmpdir()), before);
  });
});
