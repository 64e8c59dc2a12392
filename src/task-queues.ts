// Task queue names shared by the workflow (which routes steps) and the worker (which polls). No Node
// built-ins here: the workflow sandbox imports this file.

/**
 * The task queue of the worker that serves Docker host `hostName`: runbook steps with `host:` go
 * there, and a worker started with REBOUND_DOCKER_HOST_NAME=hostName polls it (and only it, with only the Docker activities).
 */
export function dockerTaskQueue(baseTaskQueue: string, hostName: string): string {
  return `${baseTaskQueue}.docker.${hostName}`;
}
