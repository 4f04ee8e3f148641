#!/bin/sh
# Installs the Debian packages powertune needs to build, test and run its examples.
# Used by the README, .ci/run and every set-up path. Needs root (or sudo).
set -eu
PACKAGES="build-essential pkg-config
  libmicrohttpd-dev libcurl4-openssl-dev libssl-dev libjansson-dev libzip-dev libyaml-dev libcmocka-dev zlib1g-dev clang libclang-rt-dev
  python3 python3-numpy python3-boto3 awscli valgrind curl autoconf automake libtool cmake chromium
  e2fsprogs"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install-deps: installing$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
