#!/bin/sh
# Builds the upstream Goverse binaries for the interop tests (instant once cached), so the first build's minutes are
# not spent inside a test's time limit. The kit: $GOVERSE_UPSTREAM_KIT, else the default location below (the same
# as the tests'). Without a kit the interop tests skip themselves (and say so); a failed build is reported here and
# again, with build.sh's message, by the interop tests. Never fails the caller.
set -u
cd "$(dirname "$0")/.."
kit="${GOVERSE_UPSTREAM_KIT:-../shared/upstream-goverse}"
if [ ! -f "$kit/build.sh" ]; then
  if [ -n "${GOVERSE_UPSTREAM_KIT:-}" ]; then
    echo "warning: GOVERSE_UPSTREAM_KIT=$GOVERSE_UPSTREAM_KIT has no build.sh; the interop tests will fail" >&2
  else
    echo "upstream kit not found ($kit/build.sh): the interop tests will be skipped" >&2
  fi
  exit 0
fi
if ! bash "$kit/build.sh" >/dev/null; then
  echo "warning: building the upstream binaries from $kit failed; the interop tests will fail" >&2
fi
exit 0
