// The Rebound services of docker-compose.yml, run as real processes with the compose file's own
// command and environment (values from .env.example). Only the addresses that differ outside Docker
// are overridden, and the test checks that every address naming another compose service is one of
// them, so the file is known to describe a receiver and a worker that start, serve and stop cleanly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import { freePort } from '../../src/dev-server';
import {
  asList,
  environmentOf,
  eventually,
  readCompose,
  startService,
  stopService,
  type ComposeFile,
} from '../support/compose';
import { temporalAddress } from '../support/temporal';

/** The host an environment value points at, when it is an address (URL or host:port). */
function hostOf(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.hostname) return url.hostname;
  } catch {
    // not a URL: maybe host:port
  }
  return /^([A-Za-z0-9_.-]+):\d+$/.exec(value)?.[1];
}

/** Service names and container names: the hosts that only resolve inside the compose network. */
function composeHosts(compose: ComposeFile): Set<string> {
  const hosts = new Set<string>();
  for (const [name, service] of Object.entries(compose.services)) {
    hosts.add(name);
    if (service.container_name) hosts.add(service.container_name);
  }
  return hosts;
}

describe('the compose file run outside Docker', () => {
  it('starts its receiver and worker from their command and environment; both serve and stop cleanly', async (t) => {
    const compose = readCompose();
    const hosts = composeHosts(compose);
    const receiverService = compose.services['rebound-receiver'];
    const workerService = compose.services['rebound-worker'];
    assert.ok(receiverService && workerService);

    const receiverPort = await freePort();
    const unused = await freePort(); // nothing listens here: stands in for Docker, SMTP, Prometheus
    // What differs outside Docker: the addresses of other compose services, and the published port.
    const overrides: Record<string, Record<string, string>> = {
      'rebound-receiver': { TEMPORAL_ADDRESS: temporalAddress(), REBOUND_PORT: String(receiverPort) },
      'rebound-worker': {
        TEMPORAL_ADDRESS: temporalAddress(),
        DOCKER_HOST: `tcp://127.0.0.1:${unused}`,
        REBOUND_PROMETHEUS_URL: `http://127.0.0.1:${unused}`,
        REBOUND_SMTP_URL: `smtp://127.0.0.1:${unused}`,
      },
    };
    const envs: Record<string, Record<string, string>> = {};
    for (const [name, service] of [
      ['rebound-receiver', receiverService],
      ['rebound-worker', workerService],
    ] as const) {
      const fromCompose = environmentOf(service);
      const own = overrides[name] ?? {};
      const pointingInside = Object.entries(fromCompose)
        .filter(([, value]) => hosts.has(hostOf(value) ?? ''))
        .map(([key]) => key);
      for (const key of pointingInside)
        assert.ok(key in own, `${name}.${key} names a compose service: the test must override it`);
      for (const key of Object.keys(own))
        assert.ok(key in fromCompose, `${name}.${key} is overridden but not in docker-compose.yml`);
      envs[name] = { ...fromCompose, ...own };
      t.diagnostic(`${name}: overridden ${Object.keys(own).join(', ')}`);
    }
    const receiverEnv = envs['rebound-receiver'] ?? {};
    const workerEnv = envs['rebound-worker'] ?? {};
    assert.equal(
      receiverEnv.REBOUND_HOST,
      '0.0.0.0',
      'the receiver listens on all interfaces in a container',
    );

    const receiver = startService(asList(receiverService.command), receiverEnv);
    const worker = startService(asList(workerService.command), workerEnv);
    try {
      const base = `http://127.0.0.1:${receiverPort}`;
      await eventually('GET /healthz = 200', receiver, async () =>
        (await fetch(`${base}/healthz`)).status === 200 ? true : undefined,
      );
      await eventually('GET /readyz = 200', receiver, async () =>
        (await fetch(`${base}/readyz`)).status === 200 ? true : undefined,
      );

      const connection = await Connection.connect({ address: temporalAddress() });
      try {
        const identity = `${worker.child.pid}@`;
        const poller = await eventually('the worker to poll its task queue', worker, async () => {
          const described = await connection.workflowService.describeTaskQueue({
            namespace: workerEnv.TEMPORAL_NAMESPACE,
            taskQueue: { name: workerEnv.TEMPORAL_TASK_QUEUE },
            taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW (@temporalio/proto is not a direct dependency)
          });
          return (described.pollers ?? []).find((p) => p.identity?.startsWith(identity));
        });
        assert.ok(poller.identity);
      } finally {
        await connection.close();
      }
    } finally {
      const [receiverCode, workerCode] = await Promise.all([stopService(receiver), stopService(worker)]);
      assert.equal(receiverCode, 0, `receiver exit code; output:\n${receiver.output()}`);
      assert.equal(workerCode, 0, `worker exit code; output:\n${worker.output()}`);
    }
  });
});
