#!/usr/bin/env bash
# A Temporal cluster without containers: PostgreSQL (persistence and visibility, so custom search
# attributes work) and the four Temporal services (frontend, history, matching, worker) as separate
# processes, set up as docker-compose.yml sets up its containers: the same server configuration
# (deploy/temporal/config/rebound.yaml, started through deploy/temporal/server.sh), the same schema
# script (deploy/temporal/schema.sh) and the same namespace and search-attribute script
# (deploy/temporal/setup.sh); test/deploy/compose.test.ts checks the two agree. Used by users without
# Docker and by test/topology.
#
#   deploy/native/temporal-cluster.sh build             build the Temporal server and its SQL tool (once)
#   deploy/native/temporal-cluster.sh start             init (first time), start everything, wait until healthy
#   deploy/native/temporal-cluster.sh stop              stop the services, then PostgreSQL
#   deploy/native/temporal-cluster.sh restart SERVICE   postgresql | frontend | history | matching | worker
#   deploy/native/temporal-cluster.sh status            what runs, and the addresses
#   deploy/native/temporal-cluster.sh render-config     the server configuration the services get (password masked)
#
# Settings (environment):
#   REBOUND_CLUSTER_DIR     state: data, config, logs, pids (default .rebound/cluster)
#   TEMPORAL_FRONTEND_PORT  the frontend's gRPC port (default 7233; "auto" picks a free one)
#   TEMPORAL_NAMESPACE      namespace to create (default "default"); TEMPORAL_RETENTION (default 720h)
#   TEMPORAL_SERVER_PATH, TEMPORAL_SQL_TOOL_PATH, TEMPORAL_SCHEMA_DIR, TEMPORAL_CLI_PATH  use these instead
# Every port is chosen once, below 32768 (Temporal stores membership ports as a PostgreSQL smallint),
# and kept in $REBOUND_CLUSTER_DIR/cluster.env, which also holds the frontend address.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# docker-compose.yml runs the same versions (temporalio/server and admin-tools, postgres:15.x).
SERVER_VERSION=v1.29.1
POSTGRESQL_MAJOR=15
SERVER_MODULE=go.temporal.io/server
BIN_DIR=${REBOUND_BIN_DIR:-$ROOT/.rebound/bin}
STATE=${REBOUND_CLUSTER_DIR:-$ROOT/.rebound/cluster}
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
RETENTION=${TEMPORAL_RETENTION:-720h}
# The same list as docker-compose.yml's temporal-setup (test/deploy/compose.test.ts checks both
# against the code).
SEARCH_ATTRIBUTES=${REBOUND_SEARCH_ATTRIBUTES:-ReboundRunbook=Keyword ReboundTarget=Keyword ReboundAlertName=Keyword ReboundSeverity=Keyword ReboundPhase=Keyword ReboundStatus=Keyword ReboundDryRun=Bool}
SERVICES=(history matching frontend worker)
SERVER=${TEMPORAL_SERVER_PATH:-$BIN_DIR/temporal-server}
SQL_TOOL=${TEMPORAL_SQL_TOOL_PATH:-$BIN_DIR/temporal-sql-tool}
SCHEMA_DIR=${TEMPORAL_SCHEMA_DIR:-$BIN_DIR/temporal-schema/postgresql/v12}

say() { echo "temporal-cluster: $*"; }
die() {
  echo "temporal-cluster: $*" >&2
  exit 1
}

find_go() {
  command -v go 2>/dev/null || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; } || true
}

# Builds the server and the SQL tool from the Go module proxy into $BIN_DIR, with the schema files.
build() {
  if [ -x "$SERVER" ] && [ -x "$SQL_TOOL" ] && [ -d "$SCHEMA_DIR/temporal/versioned" ]; then return; fi
  local go
  go=$(find_go)
  [ -n "$go" ] || die "Go 1.24+ is needed once to build the Temporal server (https://go.dev/dl, or apt-get install golang); or set TEMPORAL_SERVER_PATH, TEMPORAL_SQL_TOOL_PATH and TEMPORAL_SCHEMA_DIR"
  local gobin started
  gobin=$(mktemp -d)
  started=$(date +%s)
  say "building the Temporal server and SQL tool $SERVER_VERSION into $BIN_DIR (once; about 3 minutes when the Go module cache is warm, longer on a first download)"
  CGO_ENABLED=0 GOBIN="$gobin" GOFLAGS=-mod=mod "$go" install \
    "$SERVER_MODULE/cmd/server@$SERVER_VERSION" "$SERVER_MODULE/cmd/tools/sql@$SERVER_VERSION" ||
    die "go install failed; check that the Go module proxy is reachable (GOPROXY=$("$go" env GOPROXY))"
  mkdir -p "$BIN_DIR"
  mv -f "$gobin/server" "$BIN_DIR/temporal-server"
  mv -f "$gobin/sql" "$BIN_DIR/temporal-sql-tool"
  rm -rf "$gobin"
  local source
  source="$("$go" env GOMODCACHE)/$SERVER_MODULE@$SERVER_VERSION/schema/postgresql/v12"
  [ -d "$source" ] || die "schema files not found at $source"
  rm -rf "$BIN_DIR/temporal-schema"
  mkdir -p "$BIN_DIR/temporal-schema/postgresql"
  cp -R "$source" "$BIN_DIR/temporal-schema/postgresql/v12"
  chmod -R u+w "$BIN_DIR/temporal-schema"
  say "built in $(($(date +%s) - started)) s"
}

# PostgreSQL $POSTGRESQL_MAJOR, the compose stack's, when installed; otherwise the first one found.
find_pg_bin() {
  local dir
  for dir in "/usr/lib/postgresql/$POSTGRESQL_MAJOR/bin" /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
  die "PostgreSQL's server is not installed (apt-get install postgresql; scripts/install.sh does)"
}

find_cli() {
  if [ -n "${TEMPORAL_CLI_PATH:-}" ]; then echo "$TEMPORAL_CLI_PATH"; return; fi
  command -v temporal 2>/dev/null && return
  [ -x "$BIN_DIR/temporal" ] && { echo "$BIN_DIR/temporal"; return; }
  (cd "$ROOT" && node bin/rebound.js temporal-cli | tail -1)
}

# PostgreSQL refuses to run as root: as root it runs as the postgres user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Sets PORT to a port in [20000, 32000) nothing listens on and not already taken in this run.
pick_port() {
  local tries=0
  while :; do
    PORT=$((20000 + RANDOM % 12000))
    case " $PICKED " in *" $PORT "*) continue ;; esac
    if ! listening "$PORT"; then
      PICKED="$PICKED $PORT"
      return
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 200 ] || die "no free port found below 32768"
  done
}

# Chooses every port once and records them; later starts reuse them.
init_ports() {
  [ -f "$STATE/cluster.env" ] && return
  PICKED=""
  local frontend=${TEMPORAL_FRONTEND_PORT:-7233} name lines=""
  if [ "$frontend" = auto ]; then
    pick_port
    frontend=$PORT
  fi
  listening "$frontend" && die "port $frontend is in use (another Temporal, or rebound dev?); set TEMPORAL_FRONTEND_PORT to another port or to auto"
  PICKED="$frontend"
  for name in PG_PORT FRONTEND_HTTP_PORT FRONTEND_MEMBERSHIP_PORT HISTORY_PORT HISTORY_MEMBERSHIP_PORT \
    MATCHING_PORT MATCHING_MEMBERSHIP_PORT WORKER_PORT WORKER_MEMBERSHIP_PORT; do
    pick_port
    lines="$lines$name=$PORT"$'\n'
  done
  printf 'FRONTEND_PORT=%s\n%sTEMPORAL_ADDRESS=127.0.0.1:%s\n' "$frontend" "$lines" "$frontend" >"$STATE/cluster.env"
}

load_ports() {
  # shellcheck disable=SC1091
  . "$STATE/cluster.env"
  PG_PASSWORD=$(cat "$STATE/pg-password")
}

# The environment deploy/temporal/server.sh renders deploy/temporal/config/rebound.yaml from: this
# machine's loopback addresses and the ports chosen once. Exported by the subshells that start services.
server_env() {
  export TEMPORAL_SERVER_PATH="$SERVER" TEMPORAL_DB_HOST=127.0.0.1 TEMPORAL_DB_PORT="$PG_PORT" \
    TEMPORAL_DB_USER=temporal TEMPORAL_DB_PASSWORD="$PG_PASSWORD" TEMPORAL_BIND_ON_IP=127.0.0.1 \
    TEMPORAL_BROADCAST_ADDRESS=127.0.0.1 TEMPORAL_LOG_LEVEL=warn \
    TEMPORAL_DYNAMIC_CONFIG="$ROOT/deploy/temporal/dynamicconfig/rebound.yaml" \
    FRONTEND_PORT FRONTEND_HTTP_PORT FRONTEND_MEMBERSHIP_PORT HISTORY_PORT HISTORY_MEMBERSHIP_PORT \
    MATCHING_PORT MATCHING_MEMBERSHIP_PORT WORKER_PORT WORKER_MEMBERSHIP_PORT
}

init_postgres() {
  local pg=$1 data="$STATE/postgresql"
  [ -f "$data/PG_VERSION" ] && return
  say "initialising PostgreSQL in $data"
  # A half-made directory from an interrupted first start is made again.
  rm -rf "$data"
  mkdir -p "$data"
  chmod 700 "$data"
  umask 077
  [ -f "$STATE/pg-password" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$STATE/pg-password"
  local pwfile="$STATE/pg-pwfile"
  cp "$STATE/pg-password" "$pwfile"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "no postgres user (apt-get install postgresql creates it)"
    chown postgres: "$data" "$pwfile"
    # The postgres user must reach its data directory through the state directory.
    chmod 711 "$STATE"
    runuser -u postgres -- test -x "$data" ||
      die "the postgres user cannot reach $data: make its parent directories world-searchable (chmod o+x) or set REBOUND_CLUSTER_DIR elsewhere"
  fi
  if ! as_pg "$pg/initdb" -D "$data" -U temporal --pwfile="$pwfile" --auth-host=scram-sha-256 \
    --auth-local=peer -E UTF8 >"$STATE/log/initdb.log" 2>&1; then
    rm -f "$pwfile"
    die "initdb failed; see $STATE/log/initdb.log"
  fi
  rm -f "$pwfile"
}

pg_ctl_() {
  local pg=$1
  shift
  as_pg "$pg/pg_ctl" -D "$STATE/postgresql" "$@"
}

start_postgres() {
  local pg=$1
  if pg_ctl_ "$pg" status >/dev/null 2>&1; then return; fi
  touch "$STATE/log/postgresql.log"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$STATE/log/postgresql.log"
  # Loopback only, no Unix socket outside the data directory.
  pg_ctl_ "$pg" -l "$STATE/log/postgresql.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $STATE/postgresql" start >/dev/null ||
    die "PostgreSQL did not start; see $STATE/log/postgresql.log"
}

migrate() {
  (
    server_env
    TEMPORAL_SQL_TOOL_PATH="$SQL_TOOL" TEMPORAL_SCHEMA_DIR="$SCHEMA_DIR" \
      sh "$ROOT/deploy/temporal/schema.sh" >>"$STATE/log/schema.log" 2>&1
  ) || die "setting up or migrating the schemas failed; see $STATE/log/schema.log"
}

pid_of() {
  local file="$STATE/run/$1.pid"
  [ -f "$file" ] || return 1
  local pid
  pid=$(cat "$file")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

start_service() {
  local svc=$1
  pid_of "$svc" >/dev/null && return
  # setsid: its own process group, so a Ctrl-C in this terminal does not reach it. Each exec keeps
  # the pid, so the pid file names the server process itself.
  (
    server_env
    exec setsid sh "$ROOT/deploy/temporal/server.sh" "$svc" >>"$STATE/log/$svc.log" 2>&1 </dev/null
  ) &
  echo $! >"$STATE/run/$svc.pid"
}

stop_service() {
  local svc=$1 pid
  pid=$(pid_of "$svc") || { rm -f "$STATE/run/$svc.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
    waited=$((waited + 1))
    if [ "$waited" -eq 150 ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  rm -f "$STATE/run/$svc.pid"
}

# Waits until the service's membership port accepts connections (it has joined the cluster; the
# worker service has no gRPC server of its own to wait for).
wait_listening() {
  local svc=$1 upper=${1^^} deadline=$(($(date +%s) + 120))
  local var="${upper}_MEMBERSHIP_PORT"
  until listening "${!var}"; do
    pid_of "$svc" >/dev/null || die "the $svc service exited; see $STATE/log/$svc.log"
    [ "$(date +%s)" -lt "$deadline" ] || die "the $svc service did not listen on ${!var}; see $STATE/log/$svc.log"
    sleep 0.5
  done
}

wait_healthy() {
  local cli=$1 deadline=$(($(date +%s) + ${2:-120}))
  until "$cli" operator cluster health --address "127.0.0.1:$FRONTEND_PORT" 2>/dev/null | grep -q SERVING; do
    for svc in "${SERVICES[@]}"; do
      pid_of "$svc" >/dev/null || die "the $svc service exited; see $STATE/log/$svc.log"
    done
    [ "$(date +%s)" -lt "$deadline" ] || die "the frontend did not become healthy; see the logs in $STATE/log"
    sleep 1
  done
}

setup_namespace() {
  local cli=$1 tries=0
  until PATH="$(dirname "$cli"):$PATH" TEMPORAL_ADDRESS="127.0.0.1:$FRONTEND_PORT" NAMESPACE="$NAMESPACE" \
    RETENTION="$RETENTION" REBOUND_SEARCH_ATTRIBUTES="$SEARCH_ATTRIBUTES" \
    sh "$ROOT/deploy/temporal/setup.sh" >>"$STATE/log/setup.log" 2>&1; do
    # Right after the first start the history shards may still be being acquired.
    tries=$((tries + 1))
    [ "$tries" -lt 20 ] || die "namespace setup failed; see $STATE/log/setup.log"
    sleep 2
  done
}

cmd_start() {
  local started pg cli
  started=$(date +%s)
  build
  pg=$(find_pg_bin)
  cli=$(find_cli)
  mkdir -p "$STATE/log" "$STATE/run"
  init_ports
  init_postgres "$pg"
  load_ports
  start_postgres "$pg"
  migrate
  # One after the other: services starting together race to write the cluster's metadata, and
  # the losers exit.
  for svc in "${SERVICES[@]}"; do
    start_service "$svc"
    wait_listening "$svc"
  done
  wait_healthy "$cli"
  setup_namespace "$cli"
  say "ready in $(($(date +%s) - started)) s: TEMPORAL_ADDRESS=127.0.0.1:$FRONTEND_PORT namespace $NAMESPACE (logs in $STATE/log)"
}

cmd_stop() {
  [ -f "$STATE/cluster.env" ] || { say "nothing to stop in $STATE"; return; }
  load_ports
  local svc
  for svc in worker frontend matching history; do stop_service "$svc"; done
  local pg
  pg=$(find_pg_bin)
  if pg_ctl_ "$pg" status >/dev/null 2>&1; then pg_ctl_ "$pg" -m fast -w stop >/dev/null; fi
  say "stopped"
}

cmd_restart() {
  local what=${1:-}
  [ -f "$STATE/cluster.env" ] || die "no cluster in $STATE: start it first"
  load_ports
  case "$what" in
    postgresql)
      local pg
      pg=$(find_pg_bin)
      pg_ctl_ "$pg" -m fast -w stop >/dev/null
      start_postgres "$pg"
      ;;
    frontend | history | matching | worker)
      stop_service "$what"
      start_service "$what"
      wait_listening "$what"
      ;;
    *) die "restart what? postgresql, frontend, history, matching or worker" ;;
  esac
  say "restarted $what"
}

cmd_render_config() {
  [ -f "$STATE/cluster.env" ] || die "no cluster in $STATE: start it first"
  load_ports
  server_env
  sh "$ROOT/deploy/temporal/server.sh" render-config 2>/dev/null
}

cmd_status() {
  [ -f "$STATE/cluster.env" ] || { say "no cluster in $STATE"; return 1; }
  load_ports
  local svc code=0 pg
  pg=$(find_pg_bin)
  if pg_ctl_ "$pg" status >/dev/null 2>&1; then echo "postgresql  running  127.0.0.1:$PG_PORT"; else
    echo "postgresql  stopped"
    code=1
  fi
  for svc in "${SERVICES[@]}"; do
    if pid=$(pid_of "$svc"); then echo "$svc  running  pid $pid"; else
      echo "$svc  stopped"
      code=1
    fi
  done
  echo "TEMPORAL_ADDRESS=127.0.0.1:$FRONTEND_PORT"
  return $code
}

case "${1:-}" in
  build) build ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_restart "${2:-}" ;;
  status) cmd_status ;;
  render-config) cmd_render_config ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
    ;;
esac
