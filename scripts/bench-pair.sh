#!/bin/bash
# Compares two benchmark binaries on a noisy host: runs A on core 0 and B on core 1 at the
# same time, then the other way round, ROUNDS times, and prints each run's rate. Both runs
# of a pair share whatever the host does to them meanwhile.
#
# usage: scripts/bench-pair.sh FILTER ROUNDS BINARY_A BINARY_B
set -euo pipefail
if [ $# -ne 4 ]; then
  echo "usage: $0 FILTER ROUNDS BINARY_A BINARY_B" >&2
  exit 2
fi
filter=$1 rounds=$2 a=$3 b=$4
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rate() { grep -oE '(activations/s|items_per_second)=[0-9.]*[kMG]?/s' "$1" | head -1 || true; }
run_pair() {  # core of A, core of B
  taskset -c "$1" "$a" --benchmark_filter="$filter" >"$out/a" 2>&1 &
  taskset -c "$2" "$b" --benchmark_filter="$filter" >"$out/b" 2>&1
  wait
  echo "round $r: A on core $1 $(rate "$out/a")   B on core $2 $(rate "$out/b")"
}
for r in $(seq "$rounds"); do
  run_pair 0 1
  run_pair 1 0
done
