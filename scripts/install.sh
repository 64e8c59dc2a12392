#!/usr/bin/env bash
# Installs what Rebound and its tests need on a fresh Debian/Ubuntu machine:
# - Node packages (npm ci);
# - for the tests' real parts: a Docker engine, busybox-static (the test image), Prometheus'
#   Alertmanager and promtool, Chromium (the audit page test), PostgreSQL (the native Temporal
#   cluster), systemd-analyze (the unit files' check);
# - the Temporal CLI, built once into .rebound/bin from the Go module proxy when none is found;
# - the Temporal server and its SQL schema tool, built once into .rebound/bin the same way
#   (deploy/native/temporal-cluster.sh; test/topology runs a cluster of them);
# - deploy/compose-check (Docker Compose's loader, compose-go) for the deployment tests.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
# grep reads the whole list (no -q): under pipefail an early exit would fail busybox with SIGPIPE.
{ [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -x httpd >/dev/null; } || need_apt+=(busybox-static)
command -v prometheus-alertmanager >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt+=(postgresql)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install.sh: these Debian packages are needed for the tests: ${need_apt[*]} — install them as root (apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
  echo "install.sh: installing Debian packages: ${need_apt[*]} (about a minute)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "install.sh: installing the Node packages (npm ci, under a minute)"
  npm ci --no-audit --no-fund
fi

# Finds the Temporal CLI, or builds it now (once) rather than on first start; it says how long that
# usually takes and reports progress while Go works.
echo "install.sh: the Temporal CLI"
node bin/rebound.js temporal-cli

# The Temporal server and SQL tool for the native cluster (about 3 minutes once the CLI build above
# has filled the Go module cache; nothing when already built).
# The script finds Go on PATH or in /usr/local/go.
bash deploy/native/temporal-cluster.sh build

# Docker Compose's own loader (compose-go), built once for the deployment tests (test/deploy).
if [ ! -x .rebound/bin/compose-check ] || [ -n "$(find deploy/compose-check -newer .rebound/bin/compose-check -type f)" ]; then
  # Go's own installer puts it in /usr/local/go without touching PATH.
  command -v go >/dev/null 2>&1 || { [ -x /usr/local/go/bin/go ] && PATH="/usr/local/go/bin:$PATH"; }
  command -v go >/dev/null 2>&1 || { echo "install.sh: Go 1.24+ is needed to build deploy/compose-check (the deployment tests use it)" >&2; exit 1; }
  echo "install.sh: building deploy/compose-check (Docker Compose's loader, for the deployment tests; a minute or two on a first build)"
  (cd deploy/compose-check && GOFLAGS=-mod=readonly go build -o ../../.rebound/bin/compose-check .)
fi

echo "install.sh: done. Start Rebound with \`npm start\`, then see a recovery with \`node bin/rebound.js demo\` (or \`npx rebound demo\`)."
