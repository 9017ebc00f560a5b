#!/bin/sh
# Installs node modules when missing or older than the lockfile, then builds.
set -eu
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
npm run -s build >&2
