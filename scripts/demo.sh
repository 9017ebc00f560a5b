#!/bin/sh
# The README's demo command: installs what the demo needs (etcd, node modules), builds, starts the demo.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-etcd.sh
sh scripts/ensure-deps.sh
exec node bin/goverse-top.js demo "$@"
