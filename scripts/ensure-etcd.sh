#!/bin/sh
# Makes an etcd server binary available: GOVERSE_ETCD_BIN, then PATH, else installs Debian's etcd-server.
set -eu
if [ -n "${GOVERSE_ETCD_BIN:-}" ] && [ -x "${GOVERSE_ETCD_BIN}" ]; then exit 0; fi
if command -v etcd >/dev/null 2>&1; then exit 0; fi
echo "etcd not found on PATH; installing Debian's etcd-server package..." >&2
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: etcd is missing and this user cannot install packages; install etcd-server (apt-get install etcd-server) or set GOVERSE_ETCD_BIN" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2 || true
$SUDO apt-get install -y -qq etcd-server >&2
# The package may start a system etcd on 2379; ours never uses that port, but do not leave one running for us.
command -v etcd >/dev/null 2>&1 || { echo "error: etcd-server installed but etcd is not on PATH" >&2; exit 1; }
