#!/usr/bin/env bash
# Builds the benchmarks in Release and runs them. Extra arguments go to each benchmark
# program (e.g. --benchmark_filter=EventQueue).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh -DOSSIM_BUILD_TESTS=OFF -DOSSIM_BUILD_BENCHMARKS=ON
for program in build/bench/bench_*; do
  "$program" "$@"
done
