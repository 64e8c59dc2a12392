// The demo service: a container serving GET /health with busybox httpd on loopback, with a Docker
// HEALTHCHECK, on the host network (engines run with --bridge=none have no other). It is what the
// shipped restart-container runbook looks after; the demo kills it and removes it afterwards.
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';

/** Label on everything the demo creates, so a leftover is recognisable (`docker ps -f label=rebound.demo`). */
export const DEMO_LABEL = 'rebound.demo';

export interface DemoService {
  name: string;
  port: number;
  healthUrl: string;
  container: Docker.Container;
}

const SECOND_NS = 1_000_000_000;

/** A fresh name per run: the guards' budget counts actions per target, so each run is a new target. */
export function demoServiceName(): string {
  return `rebound-demo-${randomBytes(3).toString('hex')}`;
}

export async function createDemoService(
  docker: Docker,
  options: { name: string; image: string; port: number },
): Promise<DemoService> {
  const { name, image, port } = options;
  const healthUrl = `http://127.0.0.1:${port}/health`;
  const container = await docker.createContainer({
    name,
    Image: image,
    // The port is a number we chose; nothing from outside reaches this shell line.
    Cmd: [
      '/bin/sh',
      '-c',
      `mkdir -p /www && echo ok > /www/health && exec httpd -f -p 127.0.0.1:${port} -h /www`,
    ],
    Labels: { [DEMO_LABEL]: 'true' },
    Healthcheck: {
      Test: ['CMD', 'wget', '-q', '-O', '/dev/null', healthUrl],
      // Lenient enough that a busy machine does not flap it: 3 misses in a row, 5 s each at most.
      Interval: SECOND_NS,
      Timeout: 5 * SECOND_NS,
      Retries: 3,
      StartPeriod: 0,
    },
    HostConfig: { NetworkMode: 'host' },
  });
  return { name, port, healthUrl, container };
}

export interface ObservedState {
  running: boolean;
  status: string;
  health?: string;
  exitCode?: number;
}

export async function observe(service: DemoService): Promise<ObservedState> {
  const info = await service.container.inspect();
  return {
    running: info.State.Running,
    status: info.State.Status,
    ...(info.State.Health?.Status ? { health: info.State.Health.Status } : {}),
    exitCode: info.State.ExitCode,
  };
}

/** Polls until the container is running and Docker calls it healthy; throws with the last state after timeoutMs. */
export async function waitHealthy(service: DemoService, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: ObservedState | undefined;
  for (;;) {
    last = await observe(service);
    if (last.running && last.health === 'healthy') return;
    if (!last.running && last.status === 'exited')
      throw new Error(`the demo service exited (code ${last.exitCode ?? '?'}) instead of serving`);
    if (Date.now() > deadline)
      throw new Error(
        `the demo service did not become healthy within ${timeoutMs / 1000} s (status ${last.status}, health ${last.health ?? 'none'})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Breaks it the blunt way: SIGKILL, as an OOM kill or a crash would. */
export async function breakService(service: DemoService): Promise<ObservedState> {
  await service.container.kill();
  for (let i = 0; i < 40; i += 1) {
    const state = await observe(service);
    if (!state.running) return state;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return observe(service);
}

export async function removeService(service: DemoService): Promise<void> {
  try {
    await service.container.remove({ force: true });
  } catch (error) {
    // Already gone is what we wanted.
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
}
