#!/usr/bin/env bash
# The README's test command: installs every dependency (Debian packages via apt), configures,
# builds (with the CUDA backend when nvcc is present) and runs every test through CTest.
# Usage: scripts/test.sh [extra cmake args...]   (BUILD_DIR=... to choose the build folder)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build="${BUILD_DIR:-build}"
cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
