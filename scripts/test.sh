#!/usr/bin/env bash
# The test command: installs what is missing, builds everything (library, tests, examples,
# benchmarks, the CLI), runs the whole test suite. Fails if no test was found.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh -DOSSIM_BUILD_TESTS=ON -DOSSIM_BUILD_EXAMPLES=ON -DOSSIM_BUILD_BENCHMARKS=ON \
  -DOSSIM_BUILD_APPS=ON -DOSSIM_INSTALL=ON
ctest --test-dir build --output-on-failure --no-tests=error -j"$(nproc)"
