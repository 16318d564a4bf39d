#!/usr/bin/env bash
# bash scripts/test.sh [PYTEST ARGS...]
#
# The README's test command: installs everything the tests need on a fresh
# machine (a venv with the project and its test extras, Debian's chromium for the
# browser tests) and runs the whole suite with the network treated as absent.
set -euo pipefail
cd "$(dirname "$0")/.."

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False GRADIO_ANALYTICS_ENABLED=False

# Debian's chromium drives the browser tests (never a downloaded browser build).
if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -e ".[test,llm]"

# Run the suite with the network absent (a fresh network namespace with only
# loopback) where the machine allows it: proves nothing downloads at run time.
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && unshare -n ip link set lo up 2>/dev/null; then
    echo "running the tests with no network (loopback only)"
    exec unshare -n bash -c 'ip link set lo up 2>/dev/null || true; exec "$0" -m pytest "$@"' "$VENV/bin/python" "$@"
fi
exec "$VENV/bin/python" -m pytest "$@"
