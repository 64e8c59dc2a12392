// A real, private Docker engine for one test file: Debian's dockerd on a socket in a short temp dir,
// an image built from busybox-static (no registry is reachable), and containers that serve a health
// endpoint with busybox httpd. Missing packages fail the test with the command that fixes it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Docker from 'dockerode';
import { importBusyboxImage } from '../../src/demo/image';
import { refuseInUnitRun } from './unit-run';

const INSTALL_HINT = 'apt-get install docker.io busybox-static';
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
const APPLETS = ['sh', 'httpd', 'wget', 'sleep', 'echo', 'cat', 'mkdir', 'false', 'true', 'nc'];

export interface DockerEngine {
  socketPath: string;
  /** DOCKER_HOST value for this engine (unix://...). */
  host: string;
  docker: Docker;
  dir: string;
  stop(): Promise<void>;
}

function findDockerd(): string {
  for (const candidate of ['/usr/sbin/dockerd', '/usr/bin/dockerd'])
    if (existsSync(candidate)) return candidate;
  throw new Error(`dockerd is not installed: ${INSTALL_HINT}`);
}

function findBusybox(): string {
  for (const candidate of BUSYBOX_CANDIDATES) {
    if (!existsSync(candidate)) continue;
    // Only a static busybox runs inside an image that has no libc.
    const out = spawnSync('file', ['-L', candidate], { encoding: 'utf8' });
    if (out.status !== 0 || /static/.test(out.stdout)) return candidate;
  }
  throw new Error(`a static busybox is not installed: ${INSTALL_HINT}`);
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs}ms. Log:\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts a private dockerd; call stop() when done (also kills its containers). */
export async function startDockerEngine(): Promise<DockerEngine> {
  refuseInUnitRun('a Docker engine');
  const dockerd = findDockerd();
  findBusybox();
  // Unix socket paths are limited to ~108 bytes, and containerd nests paths under exec-root: keep it short.
  const dir = mkdtempSync('/tmp/rbd-');
  const socketPath = path.join(dir, 'd.sock');
  const logFile = path.join(dir, 'dockerd.log');
  const logFd = openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    dockerd,
    [
      '--host',
      `unix://${socketPath}`,
      '--data-root',
      path.join(dir, 'data'),
      '--exec-root',
      path.join(dir, 'x'),
      '--pidfile',
      path.join(dir, 'pid'),
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--storage-driver=vfs',
    ],
    { stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  const log = (): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  };
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `dockerd exited (${code ?? signal})`));
  const docker = new Docker({ socketPath, timeout: 30_000 });
  const stop = async (): Promise<void> => {
    if (!exited) {
      try {
        const containers = await docker.listContainers({ all: true });
        await Promise.all(
          containers.map((c) =>
            docker
              .getContainer(c.Id)
              .remove({ force: true })
              .catch(() => undefined),
          ),
        );
      } catch {
        // the engine is going away anyway
      }
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    }
    // dockerd leaves its network namespace mounted under exec-root.
    spawnSync('umount', ['-l', path.join(dir, 'x', 'netns', 'default')]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'dockerd did not answer',
      async () => {
        if (exited) throw new Error(exited);
        await docker.ping();
        return true;
      },
      30_000,
      log,
    );
  } catch (error) {
    await stop();
    throw new Error(
      `Cannot start a Docker engine for this test (${INSTALL_HINT} if missing; must run as root): ${(error as Error).message}`,
      { cause: error },
    );
  }
  return { socketPath, host: `unix://${socketPath}`, docker, dir, stop };
}

/** Builds (once per engine) an image holding only busybox-static and its applets; returns its name. */
export async function buildBusyboxImage(
  engine: DockerEngine,
  name = 'rebound-busybox:test',
): Promise<string> {
  await importBusyboxImage(engine.docker, findBusybox(), name, APPLETS);
  return name;
}

export interface HealthContainerOptions {
  name: string;
  image: string;
  /** Port httpd listens on (host network). */
  port: number;
  /** Give the container a Docker HEALTHCHECK that fetches /health. */
  healthcheck?: boolean;
  /** A HEALTHCHECK that always fails, for "never becomes healthy". */
  failingHealthcheck?: boolean;
  /** Create only; do not start. */
  start?: boolean;
}

const ms = (n: number): number => n * 1_000_000;

/** Creates (and by default starts) a container serving GET /health with busybox httpd on the host network. */
export async function runHealthContainer(
  engine: DockerEngine,
  options: HealthContainerOptions,
): Promise<Docker.Container> {
  const script = `mkdir -p /www && echo ok > /www/health && exec httpd -f -p ${options.port} -h /www`;
  const test = options.failingHealthcheck
    ? ['CMD', 'false']
    : ['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${options.port}/health`];
  const container = await engine.docker.createContainer({
    name: options.name,
    Image: options.image,
    Cmd: ['/bin/sh', '-c', script],
    HostConfig: { NetworkMode: 'host' },
    ...(options.failingHealthcheck
      ? { Healthcheck: { Test: test, Interval: ms(300), Timeout: ms(1000), Retries: 2, StartPeriod: 0 } }
      : options.healthcheck
        ? // Checked every second, and forgiving while it starts: a dozen containers each checked three
          // times a second (a process started in the container each time) kept a two-core machine
          // busy enough that checks timed out and healthy containers were reported unhealthy.
          {
            Healthcheck: {
              Test: test,
              Interval: ms(1000),
              Timeout: ms(5000),
              Retries: 3,
              StartPeriod: ms(15_000),
            },
          }
        : {}),
  });
  if (options.start !== false) await container.start();
  return container;
}
