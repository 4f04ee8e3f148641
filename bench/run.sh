#!/bin/sh
# Runs the benchmark suite and prints Markdown for bench/RESULTS.md.
# Usage: bench/run.sh [--quick]    (needs root for cgroups; run from the repository root)
set -e
cd "$(dirname "$0")/.."
make -s build/bench/bench_engine examples
build/bench/bench_engine "$@"
