// The doctor's Docker check: the engine a worker on this host would drive, with the worker's settings.
import Docker from 'dockerode';
import { dockerOptions } from '../activities/docker';
import type { Config } from '../config';
import { withTimeout } from '../with-timeout';
import { ok, problem, warning, why, type CheckResult } from './check-result';
import type { RunbookNeeds } from './runbook-checks';

/** Docker from this process, with the worker's settings: what a worker on this host would see. */
export async function checkDocker(config: Config, needs: RunbookNeeds): Promise<CheckResult> {
  const where = config.docker.host?.trim() || 'unix:///var/run/docker.sock';
  let docker: Docker;
  try {
    docker = new Docker({ ...dockerOptions(config.docker), timeout: 3000 });
  } catch (error) {
    return problem('docker', why(error), 'set DOCKER_HOST to unix:///path/docker.sock or tcp://host:port');
  }
  try {
    const version = await withTimeout(docker.version(), 3000, where);
    return ok(
      'docker',
      `Docker ${version.Version} at ${where}, as a worker on this host with these settings would see it`,
    );
  } catch (error) {
    const reason = why(error);
    const denied = /EACCES|permission denied/i.test(reason);
    const summary = `no Docker engine answers at ${where} (${reason}): a worker on this host would fail every container step`;
    const fix = denied
      ? "give the worker's user access to the socket (the docker group, or a socket proxy as in docs/deployment.md)"
      : 'start Docker (systemctl start docker) or set DOCKER_HOST to the engine the worker should drive';
    return needs.docker
      ? problem('docker', summary, fix)
      : warning('docker', `${summary} (no runbook here needs local Docker)`, fix);
  }
}
