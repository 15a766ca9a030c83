#!/usr/bin/env bash
# Installs redis-server from Debian's packages when it is missing, once per machine: the tests
# of the shared quota store (host/tests/quotas.rs) start and stop their own redis-server on
# 127.0.0.1. Uses sudo when not run as root. Prints nothing when redis-server is already there.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
log() { echo "setup-redis: $*" >&2; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
log "installing redis-server from Debian's packages (one time, about a minute)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends redis-server >&2
# The package starts a system service on port 6379; the tests use their own servers.
if command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
command -v redis-server >/dev/null
log "redis-server $(redis-server --version | awk '{print $3}') installed"
