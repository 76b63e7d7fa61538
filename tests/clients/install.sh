#!/usr/bin/env bash
# Installs the Node side of tests/clients (pinned in package-lock.json) into tests/clients/node_modules:
# @modelcontextprotocol/sdk, @modelcontextprotocol/inspector, @modelcontextprotocol/conformance, and `node@22` — a
# Node 22 binary from the npm registry (node_modules/node/bin/node), so the system Node is never touched or needed
# beyond running npm itself.
#
# Idempotent: does nothing when node_modules was installed from the current package-lock.json and its Node 22 runs.
# Quiet: prints one line when it installs, nothing when it has nothing to do, npm's output only on failure.
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.genmcp-installed-lock.json
if [[ -f "$stamp" ]] && cmp -s package-lock.json "$stamp" && node_modules/node/bin/node --version >/dev/null 2>&1; then
    exit 0
fi

command -v npm >/dev/null || { echo "tests/clients/install.sh: npm is needed (any Node >= 18 with npm)" >&2; exit 1; }
echo "tests/clients: npm ci (MCP TypeScript SDK, Inspector, conformance suite, Node 22)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# --loglevel=error: the packages declare Node >= 22 engines, which the npm running this (any version) need not meet.
if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
    cat "$log" >&2
    echo "tests/clients/install.sh: npm ci failed" >&2
    exit 1
fi
version=$(node_modules/node/bin/node --version)
[[ "$version" == v22.* ]] || { echo "tests/clients/install.sh: expected Node 22, got '$version'" >&2; exit 1; }
cp package-lock.json "$stamp"
