#!/usr/bin/env bash
# The WeChat mini-program's unit tests (miniprogram/tests): jest + miniprogram-simulate under jsdom.
# Installs the exact devDependencies from miniprogram/package-lock.json with `npm ci`, then runs jest.
# Exit 3 when the suite cannot run (no node/npm, or the npm registry is unreachable), with the reason
# as the last line of output, so `make test` names it as not run; otherwise jest's own exit status.
set -uo pipefail

NODE_MIN=18

not_run() { echo "miniprogram.sh: mini-program tests (miniprogram/tests) not run: $*" >&2; exit 3; }

cd "$(dirname "$0")/../miniprogram" || not_run "the miniprogram/ folder is missing"

command -v node >/dev/null 2>&1 || not_run "node is not installed (Node $NODE_MIN or newer is needed, e.g. apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || not_run "npm is not installed (apt-get install npm)"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$major" -ge "$NODE_MIN" ] || not_run "node $(node --version 2>/dev/null) is too old (Node $NODE_MIN or newer is needed)"

echo "node $(node --version), npm $(npm --version): npm ci (miniprogram/package-lock.json)"
if ! npm ci --no-audit --no-fund --loglevel=error; then
    not_run "npm ci failed (is the npm registry reachable?)"
fi
npx --no-install jest --ci
