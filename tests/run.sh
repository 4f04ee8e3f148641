#!/bin/sh
# Runs every test: unit and integration (cmocka) in the normal and the ASan+UBSan
# builds, the Python runtime's tests, the CLI tests and the fuzz targets (tests/fuzz/run.sh).
# Prints one closing line "N passed, N failed". Exit status 0 only if nothing failed.
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
passed=0
failed=0
failed_names=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() { # $1 = name, output in $log, $2 = exit status
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  if [ "$2" != 0 ] && [ "$f" = 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" != 0 ]; then failed_names="$failed_names $1"; fi
}

run_tap() { # $1 = name, then the command; its output goes to $log, "ok" / "not ok" lines count
  name=$1
  shift
  "$@" >"$log" 2>&1
  st=$?
  cat "$log"
  p=$(grep -c '^ok ' "$log")
  f=$(grep -c '^not ok ' "$log")
  if [ $st != 0 ] && [ "$f" = 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" != 0 ]; then failed_names="$failed_names $name"; fi
}

run_cmocka() { # $1 = binary
  echo "== $1"
  "$1" >"$log" 2>&1
  st=$?
  cat "$log"
  count "$1" $st
}

for build in build build-asan; do
  for t in "$build"/tests/unit/test_*; do
    [ -x "$t" ] && run_cmocka "$t"
  done
done
# Integration tests run real functions in real cgroups, in both builds: the plain build starts
# runtimes with clone(CLONE_VM | CLONE_VFORK), the sanitizer build with fork (src/engine/env.c).
for build in build build-asan; do
  for t in "$build"/tests/integration/test_*; do
    [ -x "$t" ] && run_cmocka "$t"
  done
done

if [ -d tests/python ]; then
  echo "== python runtime tests"
  $PY -m unittest discover -s tests/python -v >"$log" 2>&1
  st=$?
  cat "$log"
  p=$(grep -c ' \.\.\. ok$' "$log")
  f=$(grep -cE ' \.\.\. (FAIL|ERROR)$' "$log")
  if [ $st != 0 ] && [ "$f" = 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" != 0 ] && failed_names="$failed_names python"
fi

for t in tests/cli/test_*.sh; do
  [ -f "$t" ] || continue
  echo "== $t"
  run_tap "$t" sh "$t"
done

# Parsers of outside input under libFuzzer with ASan+UBSan (make fuzz), FUZZ_SECONDS each.
echo "== tests/fuzz/run.sh"
run_tap fuzz tests/fuzz/run.sh

# Nothing may outlive the suite: no engine cgroup, no function process, no loop device of a
# disk-backed /tmp (src/engine/ephemeral.h: each detaches itself with its namespace).
left=$(ls -d /sys/fs/cgroup/*/powertune/* /sys/fs/cgroup/powertune/* 2>/dev/null | head -5)
loops=$(grep -l "/ephemeral/" /sys/block/loop*/loop/backing_file 2>/dev/null | head -5)
if [ -n "$left$loops" ]; then
  echo "leftover cgroups or loop devices after the suite: $left $loops"
  failed=$((failed + 1)); failed_names="$failed_names leftovers"
else
  passed=$((passed + 1))
fi

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
