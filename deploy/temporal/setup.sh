#!/bin/sh
# Runs once per `docker compose up` (service temporal-setup): makes sure the namespace exists with the
# wanted retention and registers the search attributes Rebound's incidents carry. Safe to run again.
# (The namespace is passed as an argument, which older CLIs such as the one in the Temporal image take.)
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

# A namespace just created is not in every cache yet: wait until it can be read (up to a minute).
tries=0
until existing=$(temporal operator search-attribute list --namespace "$NAMESPACE" 2>/dev/null); do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "temporal-setup: namespace $NAMESPACE never became readable" >&2; exit 1; }
  sleep 1
done
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
