#!/bin/sh
# Runs every fuzz target that `make fuzz` built ($FUZZ_BUILD/tests/fuzz/fuzz_*, default
# build-fuzz), or only those named as arguments, for FUZZ_SECONDS each (default 10), starting
# from its seeds in tests/fuzz/corpus/<name without "fuzz_">/. The seeds are only read: what a
# run finds goes to a scratch corpus that is removed afterwards. A crash, leak, sanitizer
# report, timeout or out-of-memory fails the target; its input is kept in
# $FUZZ_BUILD/fuzz-artifacts/ (add it to the seeds once fixed: the seeds are the regression
# tests, each replayed on every run).
# Prints "ok <target>: ..." or "not ok <target>: ..." per target (tests/run.sh counts them).
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-10}
build=${FUZZ_BUILD:-build-fuzz}
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
scratch=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$scratch" "$log"' EXIT
status=0
found=0
if [ $# = 0 ]; then set -- "$build"/tests/fuzz/fuzz_*; fi
for bin in "$@"; do
  case $bin in */*) ;; *) bin=$build/tests/fuzz/$bin ;; esac
  [ -x "$bin" ] || continue
  found=1
  name=$(basename "$bin")
  seeds=tests/fuzz/corpus/${name#fuzz_}
  mkdir -p "$scratch/$name"
  [ -d "$seeds" ] || seeds=
  # shellcheck disable=SC2086 # $seeds: one path without blanks, or nothing
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$name-" "$scratch/$name" $seeds >"$log" 2>&1
  st=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  if [ $st = 0 ]; then
    echo "ok $name: ${runs:-?} inputs in ${seconds} s, no finding"
  else
    echo "not ok $name: exit $st"
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -8 | sed 's/^/    /'
    status=1
  fi
done
if [ $found = 0 ]; then
  echo "not ok fuzz: no target in $build/tests/fuzz (run make fuzz)"
  status=1
fi
exit $status
