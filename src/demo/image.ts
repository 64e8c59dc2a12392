// The demo service's image: one already on the engine that has busybox's httpd and wget, or a tiny
// one built here from the host's static busybox (Debian's busybox-static) with `docker import`, as
// no image registry may be reachable. Built once per engine and kept for the next run.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';

export const DEMO_IMAGE = 'rebound-demo:busybox';
const BUSYBOX_PATHS = ['/bin/busybox', '/usr/bin/busybox'];
const APPLETS = ['sh', 'httpd', 'wget', 'mkdir', 'echo', 'cat', 'sleep'];

export interface DemoImage {
  name: string;
  /** How it was found: "found on the engine" or "built from /bin/busybox". */
  origin: string;
}

export class NoDemoImage extends Error {
  override name = 'NoDemoImage';
}

/**
 * Whether an ELF file is statically linked: it has no PT_INTERP program header (no dynamic loader).
 * Only a static busybox runs in an image that holds nothing else.
 */
export function isStaticElf(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(64);
    if (readSync(fd, header, 0, 64, 0) < 64 || header.readUInt32BE(0) !== 0x7f454c46) return false;
    const is64 = header[4] === 2;
    const little = header[5] === 1;
    const u16 = (b: Buffer, at: number): number => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
    const u32 = (b: Buffer, at: number): number => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
    const phoff = is64
      ? Number(little ? header.readBigUInt64LE(32) : header.readBigUInt64BE(32))
      : u32(header, 28);
    const phentsize = u16(header, is64 ? 54 : 42);
    const phnum = u16(header, is64 ? 56 : 44);
    const entry = Buffer.alloc(4);
    for (let i = 0; i < phnum; i += 1) {
      if (readSync(fd, entry, 0, 4, phoff + i * phentsize) < 4) return false;
      if (u32(entry, 0) === 3) return false; // PT_INTERP
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

function staticBusybox(): string | undefined {
  return BUSYBOX_PATHS.find((candidate) => {
    try {
      return isStaticElf(candidate);
    } catch {
      return false;
    }
  });
}

/** An image already on the engine that can serve the demo: ours from an earlier run, or busybox. */
async function existingImage(docker: Docker): Promise<string | undefined> {
  const images = await docker.listImages();
  const tags = images.flatMap((image) => image.RepoTags ?? []);
  if (tags.includes(DEMO_IMAGE)) return DEMO_IMAGE;
  // The official busybox image carries httpd and wget.
  return tags.find((tag) => /^(?:[^/]+\/)*busybox:[^:]+$/.test(tag) && !tag.endsWith(':<none>'));
}

/**
 * Imports, as image `name`, a root file system holding only a static busybox and links for the
 * given applets. The demo builds its image with it, and the tests theirs.
 */
export async function importBusyboxImage(
  docker: Docker,
  busybox: string,
  name: string,
  applets: readonly string[],
): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-busybox-image-'));
  try {
    const root = path.join(dir, 'root');
    mkdirSync(path.join(root, 'bin'), { recursive: true });
    mkdirSync(path.join(root, 'tmp'), { recursive: true });
    copyFileSync(busybox, path.join(root, 'bin', 'busybox'));
    for (const applet of new Set(applets)) symlinkSync('busybox', path.join(root, 'bin', applet));
    const tarFile = path.join(dir, 'root.tar');
    const tar = spawnSync('tar', ['-C', root, '-cf', tarFile, '.'], { encoding: 'utf8' });
    if (tar.status !== 0) throw new NoDemoImage(`cannot build the image ${name}: tar failed: ${tar.stderr}`);
    const [repo, tag] = name.split(':') as [string, string | undefined];
    const stream = await docker.importImage(tarFile, { repo, tag: tag ?? 'latest' });
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The image to run the demo service from; builds one when the engine has none that fits. */
export async function demoImage(docker: Docker): Promise<DemoImage> {
  const found = await existingImage(docker);
  if (found) return { name: found, origin: 'found on the engine' };
  const busybox = staticBusybox();
  if (!busybox)
    throw new NoDemoImage(
      'no image to run the demo service: the engine has no busybox image and this host has no static busybox to build one; fix: apt-get install busybox-static (or docker pull busybox)',
    );
  await importBusyboxImage(docker, busybox, DEMO_IMAGE, APPLETS);
  return { name: DEMO_IMAGE, origin: `built from ${busybox}, kept for next time` };
}
