#!/bin/sh
# The README's test command: installs what the suite needs (etcd, tmux for the console's end-to-end test, Prometheus
# for the alert rules and the scraping harness, PostgreSQL for the database harness, node modules, the upstream
# binaries for the interop tests when the upstream kit is there), builds, runs every test.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-etcd.sh
sh scripts/ensure-package.sh tmux tmux
sh scripts/ensure-prometheus.sh
sh scripts/ensure-postgres.sh
sh scripts/ensure-deps.sh
sh scripts/ensure-upstream.sh
exec npx vitest run "$@"
