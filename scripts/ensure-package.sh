#!/bin/sh
# Usage: ensure-package.sh <command> <debian-package>. Installs the package with apt-get when the command is missing.
set -eu
cmd="$1"
pkg="$2"
if command -v "$cmd" >/dev/null 2>&1; then exit 0; fi
echo "$cmd not found on PATH; installing Debian's $pkg package..." >&2
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
command -v "$cmd" >/dev/null 2>&1 || { echo "error: $pkg installed but $cmd is not on PATH" >&2; exit 1; }
