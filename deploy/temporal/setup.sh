#!/bin/sh
# Runs once per `docker compose up` (service temporal-setup): makes sure the namespace exists with the
# wanted retention and registers the search attributes Rebound's incidents carry. Safe to run again.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}" "${RETENTION:?}" "${REBOUND_SEARCH_ATTRIBUTES:?}"
export TEMPORAL_ADDRESS

until temporal operator cluster health >/dev/null 2>&1; do
  echo "temporal-setup: waiting for Temporal at $TEMPORAL_ADDRESS"
  sleep 2
done

if temporal operator namespace describe "$NAMESPACE" >/dev/null 2>&1; then
  temporal operator namespace update --retention "$RETENTION" "$NAMESPACE"
else
  temporal operator namespace create --retention "$RETENTION" "$NAMESPACE"
fi

existing=$(temporal operator search-attribute list --namespace "$NAMESPACE")
for pair in $REBOUND_SEARCH_ATTRIBUTES; do
  name=${pair%%=*}
  type=${pair#*=}
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "temporal-setup: search attribute $name already registered"
  else
    temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type "$type"
    echo "temporal-setup: registered search attribute $name ($type)"
  fi
done
echo "temporal-setup: namespace $NAMESPACE ready (retention $RETENTION)"
