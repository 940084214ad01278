#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the built-in default scenario,
# writing its results to out/ (or the directory given with --out). Extra arguments go to
# `ossim run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh -DOSSIM_BUILD_TESTS=OFF -DOSSIM_BUILD_BENCHMARKS=OFF -DOSSIM_BUILD_APPS=ON
build/apps/ossim run "$@"
