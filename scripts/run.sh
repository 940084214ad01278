#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs a scenario (the built-in default
# without a file), writing its results to out/ (or the directory given with --out).
# Arguments go to `ossim run`: scripts/run.sh [SCENARIO.json] [--seed N] [--out DIR] [--set k=v]...
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh -DOSSIM_BUILD_TESTS=OFF -DOSSIM_BUILD_BENCHMARKS=OFF -DOSSIM_BUILD_APPS=ON
build/apps/ossim run "$@"
