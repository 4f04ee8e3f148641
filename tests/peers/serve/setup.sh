#!/bin/sh
# Installs the AWS SDK for JavaScript v3 Lambda client (npm @aws-sdk/client-lambda) for the
# `powertune serve` peer test, into build/peers/serve-sdk (never committed).
# Usage: tests/peers/serve/setup.sh [DIR]     (idempotent; exit 0 when installed)
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
dir=${1:-$root/build/peers/serve-sdk}
pkg="@aws-sdk/client-lambda@3"
if [ -f "$dir/node_modules/@aws-sdk/client-lambda/package.json" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "serve-sdk setup: npm is missing" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || printf '{"name":"powertune-serve-sdk-peer","private":true}\n' >package.json
log="$dir/install.log"
if ! npm install --no-audit --no-fund --no-save "$pkg" >"$log" 2>&1; then
  echo "serve-sdk setup: npm install $pkg failed (see $log):" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
echo "serve-sdk setup: installed $(node -p 'require("./node_modules/@aws-sdk/client-lambda/package.json").version') in $dir"
