#!/bin/sh
# Installs the official Node.js runtime interface client (npm aws-lambda-ric 3.x) for the peer
# comparison of tests/integration/test_node.c, and assembles the peer function as a deployment
# package would be: build/peers/node-ric/function holds bootstrap, the handler, the launcher and
# node_modules, so nothing outside its code directory is needed (the sandbox's private /tmp hides
# everything else when the checkout lives under /tmp). Never committed.
# Its native part builds offline from the sources it bundles (curl, aws-lambda-cpp): needs autoconf,
# automake, libtool, cmake, g++ (scripts/install-deps.sh) and node's headers (npm_config_nodedir=/usr).
# Usage: tests/peers/node-ric/setup.sh [DIR]     (idempotent; exit 0 when installed)
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
dir=${1:-$root/build/peers/node-ric}
fn="$dir/function"
pkg="aws-lambda-ric@3"
mkdir -p "$fn"
cp "$root/tests/peers/node-ric/function/bootstrap" "$root/tests/peers/node-ric/function/index.mjs" \
   "$root/tests/peers/node-ric/function/cjs.cjs" \
   "$root/tests/peers/node-ric/launch.mjs" "$fn/"
chmod -R a+rX "$dir"
if [ -f "$fn/node_modules/aws-lambda-ric/dist/index.mjs" ] &&
   [ -f "$fn/node_modules/aws-lambda-ric/dist/rapid-client.node" ]; then
  exit 0
fi
for tool in npm autoreconf automake libtoolize cmake make g++; do
  command -v "$tool" >/dev/null 2>&1 || { echo "node-ric setup: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
cd "$fn"
[ -f package.json ] || printf '{"name":"powertune-node-ric-peer","private":true}\n' >package.json
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
log="$dir/install.log"
if ! npm install --no-audit --no-fund --no-save "$pkg" >"$log" 2>&1; then
  echo "node-ric setup: npm install $pkg failed (see $log):" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
chmod -R a+rX "$dir"
echo "node-ric setup: installed $(node -p 'require("./node_modules/aws-lambda-ric/package.json").version') in $fn"
