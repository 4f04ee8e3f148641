#!/bin/sh
# Runs the benchmark suite and prints Markdown for bench/RESULTS.md.
# Usage: bench/run.sh [--quick]    (needs root for cgroups; run from the repository root)
set -e
cd "$(dirname "$0")/.."
make -s build/bench/bench_engine examples
build/bench/bench_engine "$@"
# The Python runtime's cold start against bare python3 (issue 3).
make -s build/bench/bench_python
build/bench/bench_python "$@"
# The Node.js runtime's cold start against bare node, and the INIT boost (issue 3).
make -s build/bench/bench_node examples
build/bench/bench_node "$@"
# The tuner (issue 4): also rewrites its own section of bench/RESULTS.md.
make -s build/bench/bench_tune
build/bench/bench_tune "$@" --results bench/RESULTS.md
# `powertune serve` (issue 5): invokes/s through the REST API vs the loopback HTTP floor.
make -s build/bench/bench_serve examples
build/bench/bench_serve "$@"
