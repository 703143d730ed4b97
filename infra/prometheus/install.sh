#!/usr/bin/env bash
# Installs Prometheus and promtool from Debian's packages when they are missing (idempotent).
# The tests need the real binaries: promtool for the rule tests, prometheus for the dashboard test.
set -euo pipefail
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "error: prometheus/promtool not found and no apt-get: install Prometheus 2.x and put prometheus and promtool on PATH" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: installing prometheus needs root (apt-get install prometheus)" >&2; exit 1; }
  SUDO="sudo"
fi
echo "installing prometheus from Debian packages..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# --no-install-recommends: we only need the two binaries, not the node exporter and friends.
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# The package starts a system service on Debian; our tests run their own instance on free ports.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
  $SUDO systemctl stop prometheus || true
fi
command -v promtool >/dev/null || { echo "error: promtool still missing after installing prometheus" >&2; exit 1; }
