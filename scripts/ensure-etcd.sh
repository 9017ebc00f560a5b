#!/bin/sh
# Makes an etcd server binary available: GOVERSE_ETCD_BIN, then PATH, else installs Debian's etcd-server.
set -eu
if [ -n "${GOVERSE_ETCD_BIN:-}" ] && [ -x "${GOVERSE_ETCD_BIN}" ]; then exit 0; fi
# The package may start a system etcd on 2379; ours never uses that port.
exec sh "$(dirname "$0")/ensure-package.sh" etcd etcd-server
