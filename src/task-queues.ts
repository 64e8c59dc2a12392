// Task queue names. A worker started for one Docker host serves that host's queue, so steps naming
// the host reach its socket without exposing it over the network.

export function dockerTaskQueue(baseTaskQueue: string, hostName: string): string {
  return `${baseTaskQueue}.docker.${hostName}`;
}
