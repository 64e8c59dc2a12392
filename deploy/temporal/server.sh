#!/bin/sh
# Starts one Temporal service (frontend, history, matching or worker) with Rebound's server
# configuration, deploy/temporal/config/rebound.yaml, rendered from the environment (see its header).
# docker-compose.yml runs it in each temporalio/server container; deploy/native/temporal-cluster.sh
# runs it for each native process. `server.sh render-config` prints the configuration instead.
set -eu
what=${1:?usage: server.sh frontend|history|matching|worker|render-config}
here=$(cd "$(dirname "$0")" && pwd)
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD must hold the PostgreSQL password}"
TEMPORAL_DYNAMIC_CONFIG=${TEMPORAL_DYNAMIC_CONFIG:-$here/dynamicconfig/rebound.yaml}
export TEMPORAL_DYNAMIC_CONFIG
# Listening on every interface (in a container), a service must tell its peers an address they can
# reach: the container's own.
if [ "${TEMPORAL_BIND_ON_IP:-127.0.0.1}" = 0.0.0.0 ] && [ -z "${TEMPORAL_BROADCAST_ADDRESS:-}" ]; then
  TEMPORAL_BROADCAST_ADDRESS=$(hostname -i | awk '{print $1}')
  export TEMPORAL_BROADCAST_ADDRESS
fi
server=${TEMPORAL_SERVER_PATH:-temporal-server}
case "$what" in
  render-config) exec "$server" --config "$here/config" --env rebound render-config ;;
  frontend | history | matching | worker)
    exec "$server" --root / --config "$here/config" --env rebound --allow-no-auth start --service "$what"
    ;;
  *)
    echo "server.sh: unknown service $what (frontend, history, matching, worker or render-config)" >&2
    exit 2
    ;;
esac
