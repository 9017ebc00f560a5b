#!/bin/sh
# The README's demo command: installs what the demo needs (etcd, PostgreSQL for --store postgres, node modules),
# builds, starts the demo.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-etcd.sh
case " $* " in *" --store postgres "* | *" --store=postgres "*) sh scripts/ensure-postgres.sh ;; esac
sh scripts/ensure-deps.sh
exec node bin/goverse-top.js demo "$@"
