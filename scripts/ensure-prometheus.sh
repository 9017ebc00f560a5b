#!/bin/sh
# Makes Prometheus available for the tests: `promtool` (checks and unit-tests the alert rules in ops/prometheus/) and
# the `prometheus` server (test/harness/prometheus.ts). GOVERSE_PROMTOOL_BIN and GOVERSE_PROMETHEUS_BIN, then PATH,
# else Debian's prometheus package, which ships both.
set -eu
if [ -n "${GOVERSE_PROMTOOL_BIN:-}" ] && [ -x "${GOVERSE_PROMTOOL_BIN}" ] \
  && [ -n "${GOVERSE_PROMETHEUS_BIN:-}" ] && [ -x "${GOVERSE_PROMETHEUS_BIN}" ]; then exit 0; fi
# Where services may start, the package starts a system Prometheus on 9090; our tests never use that port.
sh "$(dirname "$0")/ensure-package.sh" promtool prometheus
command -v prometheus >/dev/null 2>&1 || { echo "error: promtool found but the prometheus server is not on PATH" >&2; exit 1; }
