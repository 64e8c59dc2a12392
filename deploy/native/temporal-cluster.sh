#!/usr/bin/env bash
# A Temporal cluster without containers: PostgreSQL (persistence and visibility, so custom search
# attributes work) and the four Temporal services (frontend, history, matching, worker) as separate
# processes, then the namespace and search attributes the compose stack registers
# (deploy/temporal/setup.sh). Used by users without Docker and by test/topology.
#
#   deploy/native/temporal-cluster.sh build             build the Temporal server and its SQL tool (once)
#   deploy/native/temporal-cluster.sh start             init (first time), start everything, wait until healthy
#   deploy/native/temporal-cluster.sh stop              stop the services, then PostgreSQL
#   deploy/native/temporal-cluster.sh restart SERVICE   postgresql | frontend | history | matching | worker
#   deploy/native/temporal-cluster.sh status            what runs, and the addresses
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
SERVER_VERSION=v1.29.1
SERVER_MODULE=go.temporal.io/server
BIN_DIR=${REBOUND_BIN_DIR:-$ROOT/.rebound/bin}
STATE=${REBOUND_CLUSTER_DIR:-$ROOT/.rebound/cluster}
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
RETENTION=${TEMPORAL_RETENTION:-720h}
# The same list as docker-compose.yml's temporal-setup (test/topology checks it against the code).
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

find_pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
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

write_config() {
  mkdir -p "$STATE/config"
  local store
  cat >"$STATE/config/rebound.yaml" <<EOF
# Written by deploy/native/temporal-cluster.sh; rewritten at every start.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
EOF
  for store in default visibility; do
    local db=temporal
    [ "$store" = visibility ] && db=temporal_visibility
    cat >>"$STATE/config/rebound.yaml" <<EOF
    postgres-$store:
      sql:
        pluginName: postgres12
        databaseName: $db
        connectAddr: 127.0.0.1:$PG_PORT
        connectProtocol: tcp
        user: temporal
        password: "$PG_PASSWORD"
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: 1h
EOF
  done
  cat >>"$STATE/config/rebound.yaml" <<EOF
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
  frontend:
    rpc: { grpcPort: $FRONTEND_PORT, membershipPort: $FRONTEND_MEMBERSHIP_PORT, httpPort: $FRONTEND_HTTP_PORT, bindOnLocalHost: true }
  history:
    rpc: { grpcPort: $HISTORY_PORT, membershipPort: $HISTORY_MEMBERSHIP_PORT, bindOnLocalHost: true }
  matching:
    rpc: { grpcPort: $MATCHING_PORT, membershipPort: $MATCHING_MEMBERSHIP_PORT, bindOnLocalHost: true }
  worker:
    rpc: { grpcPort: $WORKER_PORT, membershipPort: $WORKER_MEMBERSHIP_PORT, bindOnLocalHost: true }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: 127.0.0.1:$FRONTEND_PORT
      httpAddress: 127.0.0.1:$FRONTEND_HTTP_PORT
dcRedirectionPolicy:
  policy: noop
publicClient:
  hostPort: 127.0.0.1:$FRONTEND_PORT
dynamicConfigClient:
  filepath: $ROOT/deploy/temporal/dynamicconfig/rebound.yaml
  pollInterval: 10s
EOF
  chmod 600 "$STATE/config/rebound.yaml"
}

sql_tool() {
  "$SQL_TOOL" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u temporal --pw "$PG_PASSWORD" "$@"
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
  local db
  for db in temporal temporal_visibility; do
    local dir=temporal
    [ "$db" = temporal_visibility ] && dir=visibility
    if ! sql_tool --db "$db" update-schema -d "$SCHEMA_DIR/$dir/versioned" >>"$STATE/log/schema.log" 2>&1; then
      # First time: the database and its versioning tables do not exist yet.
      sql_tool --db "$db" create-database >>"$STATE/log/schema.log" 2>&1 || true
      sql_tool --db "$db" setup-schema -v 0.0 >>"$STATE/log/schema.log" 2>&1 ||
        die "setting up the $db schema failed; see $STATE/log/schema.log"
      sql_tool --db "$db" update-schema -d "$SCHEMA_DIR/$dir/versioned" >>"$STATE/log/schema.log" 2>&1 ||
        die "migrating the $db schema failed; see $STATE/log/schema.log"
    fi
  done
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
  # setsid: its own process group, so a Ctrl-C in this terminal does not reach it.
  setsid "$SERVER" --root "$STATE" --config config --env rebound --allow-no-auth start --service "$svc" \
    >>"$STATE/log/$svc.log" 2>&1 </dev/null &
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
  write_config
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
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
    ;;
esac
