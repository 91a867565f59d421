#!/usr/bin/env bash
# Creates .venv with the pinned moto server (the local AWS emulator used by tests, the demo and
# the benchmarks). Idempotent: does nothing when the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION="5.2.5"
VENV=".venv"
PY="${PYTHON:-python3}"

if [ -x "$VENV/bin/moto_server" ] && "$VENV/bin/python" -c "import importlib.metadata as m,sys; sys.exit(m.version('moto') != '$MOTO_VERSION')" 2>/dev/null; then
  exit 0
fi
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "setup-moto: $PY not found. Install Python 3.9 or later (it runs the local AWS emulator)." >&2
  exit 1
fi
echo "setup-moto: installing moto[server]==$MOTO_VERSION into $VENV (one time, about a minute)" >&2
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
"$VENV/bin/moto_server" --help >/dev/null
echo "setup-moto: ready ($VENV/bin/moto_server)" >&2
