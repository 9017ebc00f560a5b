#!/bin/sh
# Makes PostgreSQL's server programs (initdb, postgres) available for test/harness/postgres.ts: GOVERSE_PG_BIN_DIR,
# then PATH, then Debian's layout (/usr/lib/postgresql/<version>/bin, not on PATH), else installs Debian's
# postgresql package. Where services may start, the package starts a system server on 5432; ours never uses it.
set -eu
if [ -n "${GOVERSE_PG_BIN_DIR:-}" ] && [ -x "${GOVERSE_PG_BIN_DIR}/initdb" ] && [ -x "${GOVERSE_PG_BIN_DIR}/postgres" ]; then exit 0; fi
exec sh "$(dirname "$0")/ensure-package.sh" initdb postgresql '/usr/lib/postgresql/*/bin'
