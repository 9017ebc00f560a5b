#!/bin/sh
# Usage: ensure-package.sh <command> <debian-package> [<dir-pattern>...]. Installs the package with apt-get when the
# command is missing: not on PATH nor in any of the directories (globs, e.g. '/usr/lib/postgresql/*/bin').
set -eu
cmd="$1"
pkg="$2"
shift 2
found() {
  command -v "$cmd" >/dev/null 2>&1 && return 0
  for pattern in "$@"; do
    for dir in $pattern; do
      [ -x "$dir/$cmd" ] && return 0
    done
  done
  return 1
}
if found "$@"; then exit 0; fi
echo "$cmd not found; installing Debian's $pkg package..." >&2
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: $cmd is missing and this user cannot install packages; install $pkg (apt-get install $pkg)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2 || true
$SUDO apt-get install -y -qq "$pkg" >&2
found "$@" || { echo "error: $pkg installed but $cmd is not found" >&2; exit 1; }
