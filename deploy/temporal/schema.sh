#!/bin/sh
# Creates (the first time) and migrates Temporal's two PostgreSQL databases, temporal and
# temporal_visibility, to the schema of the server version in use. Safe to run again: later runs
# apply only newer schema versions. docker-compose.yml runs it in the temporalio/admin-tools image
# (service temporal-schema); deploy/native/temporal-cluster.sh runs it before starting the services.
#   TEMPORAL_DB_HOST, TEMPORAL_DB_PORT, TEMPORAL_DB_USER, TEMPORAL_DB_PASSWORD   as for the server
#   TEMPORAL_SQL_TOOL_PATH (default temporal-sql-tool), TEMPORAL_SCHEMA_DIR (default the image's
#   /etc/temporal/schema/postgresql/v12)
set -eu
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD must hold the PostgreSQL password}"
tool=${TEMPORAL_SQL_TOOL_PATH:-temporal-sql-tool}
schema=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}
# The password goes through the environment, not the command line other users can read.
SQL_PASSWORD=$TEMPORAL_DB_PASSWORD
export SQL_PASSWORD
sql() {
  "$tool" --plugin postgres12 --ep "${TEMPORAL_DB_HOST:-127.0.0.1}" -p "${TEMPORAL_DB_PORT:-5432}" \
    -u "${TEMPORAL_DB_USER:-temporal}" "$@"
}
for db in temporal temporal_visibility; do
  dir=temporal
  [ "$db" = temporal_visibility ] && dir=visibility
  if sql --db "$db" update-schema -d "$schema/$dir/versioned"; then
    echo "temporal-schema: $db is up to date"
    continue
  fi
  # First time: the database and its versioning tables do not exist yet.
  sql --db "$db" create-database || true
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "$schema/$dir/versioned"
  echo "temporal-schema: $db created"
done
