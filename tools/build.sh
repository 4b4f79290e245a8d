#!/usr/bin/env bash
# Configures and builds capsrun into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" ${CMAKE_FLAGS:-} >/dev/null
cmake --build build -j"$(nproc)"
