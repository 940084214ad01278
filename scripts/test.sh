#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
