#!/usr/bin/env bash
# Installs the already-built ossim into a scratch prefix, then builds and runs a consumer
# project against it with find_package(ossim CONFIG), and another through add_subdirectory.
# Usage: check_package.sh <source dir> <build dir> <scratch dir> [<CXX flags of the build>]
# The consumers are built with the same compiler flags (a sanitizer build needs its
# runtime at link time).
set -euo pipefail
source_dir=$1
build_dir=$2
scratch=$3
cxx_flags=${4:-}
rm -rf "$scratch"
mkdir -p "$scratch"

cmake --install "$build_dir" --prefix "$scratch/prefix" >/dev/null
cmake -S "$source_dir/tests/package/consumer" -B "$scratch/installed" \
  -DCMAKE_PREFIX_PATH="$scratch/prefix" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$cxx_flags" >/dev/null
cmake --build "$scratch/installed" -j2 >/dev/null
"$scratch/installed/consumer"

cmake -S "$source_dir/tests/package/consumer" -B "$scratch/subdirectory" \
  -DOSSIM_SOURCE_DIR="$source_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$cxx_flags" >/dev/null
cmake --build "$scratch/subdirectory" -j2 --target consumer >/dev/null
"$scratch/subdirectory/consumer"
