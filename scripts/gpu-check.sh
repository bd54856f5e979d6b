#!/usr/bin/env bash
# gpu-check.sh OUTDIR: the check to run on a machine with an NVIDIA GPU (see docs/gpu.md).
# Configures a fresh CUDA build (archs 90 for H100/H200; PRECIS_CUDA_ARCHS=... to change), builds
# everything, runs every CTest test (the gpu label included) with PRECIS_REQUIRE_CUDA=1 so that a
# CUDA row that would be skipped fails instead, runs the backend conformance harness once more in
# benchmark mode, and runs every program under build/tests/bench (with --backend cuda where it
# takes one). Every log and the nvidia-smi output go to OUTDIR; OUTDIR/summary.txt lists each step.
# Exit status: 0 all good, 1 a test or benchmark failed, 2 configure/build failed.
# Budget: under 9 minutes on an H100 with 16 cores (one architecture, ninja -j nproc).
set -uo pipefail

out="${1:?usage: scripts/gpu-check.sh OUTDIR}"
root="$(cd "$(dirname "$0")/.." && pwd)"
archs="${PRECIS_CUDA_ARCHS:-90}"
build="${PRECIS_GPU_BUILD_DIR:-$root/build-gpu-check}"
jobs="$(nproc)"
models="${PRECIS_MODELS_DIR:-$root/../shared/models}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
summary="$out/summary.txt"
: > "$summary"
status=0
start=$(date +%s)

note() { echo "$*" | tee -a "$summary"; }
step() {  # step NAME TIMEOUT_S CMD...: runs CMD with a time limit, logs to OUTDIR/NAME.log
  local name="$1" limit="$2"
  shift 2
  local t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  note "$(printf '%-28s rc=%-3s %4ss  %s' "$name" "$rc" "$(( $(date +%s) - t0 ))" "$*")"
  return $rc
}

note "gpu-check: $(date -u +%FT%TZ) commit $(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
note "archs $archs, build $build, jobs $jobs"
step nvidia-smi 30 nvidia-smi || status=1
step nvidia-smi-query 30 nvidia-smi -q
step nvcc-version 30 nvcc --version

rm -rf "$build"
if ! step configure 120 cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
       -DPRECIS_CUDA=ON -DPRECIS_CUDA_ARCHS="$archs" -DPRECIS_BENCH=ON -DPRECIS_TESTS=ON; then
  note "FAILED: configure (see configure.log)"; exit 2
fi
if ! grep -q "CUDA backend enabled" "$out/configure.log"; then
  note "FAILED: CMake did not enable the CUDA backend (see configure.log)"; exit 2
fi
if ! step build 330 cmake --build "$build" -j "$jobs"; then
  note "FAILED: build (see build.log)"; tail -n 30 "$out/build.log"; exit 2
fi

export PRECIS_REQUIRE_CUDA=1
export PRECIS_CUDA_MODULE="$build/lib/libprecis-cuda.so"
export PRECIS_MODELS_DIR="$models"
export QT_QPA_PLATFORM=offscreen

step ctest 240 ctest --test-dir "$build" --output-on-failure --timeout 200 -j 4 || status=1
step ctest-gpu-label 60 ctest --test-dir "$build" --output-on-failure -L gpu || status=1
if [ -x "$build/tests/kernels/test_backend_ops" ]; then
  step bench-ops 120 env PRECIS_BENCH_OPS=1 "$build/tests/kernels/test_backend_ops" || status=1
  grep -E "^QINFO.*bench " "$out/bench-ops.log" | sed 's/^QINFO *: [^)]*) //' > "$out/bench-ops-summary.txt"
fi

# Benchmark programs: --backend cuda where accepted; the real model where --model is accepted.
for exe in "$build"/tests/bench/*; do
  [ -f "$exe" ] && [ -x "$exe" ] || continue
  name="$(basename "$exe")"
  help="$("$exe" --help 2>&1 || true)"
  args=()
  grep -q -- "--backend" <<< "$help" && args+=(--backend cuda)
  if grep -q -- "--threads" <<< "$help"; then args+=(--threads "$jobs"); fi
  if grep -q -- "--model" <<< "$help" && [ -f "$models/stories260K.bin" ]; then
    step "bench-$name-stories260K" 120 "$exe" "${args[@]}" --model "$models/stories260K.bin" || status=1
  fi
  if grep -q -- "--preset" <<< "$help"; then
    step "bench-$name-110m" 150 "$exe" "${args[@]}" --preset 110m || status=1
  elif ! grep -q -- "--model" <<< "$help"; then
    step "bench-$name" 150 "$exe" "${args[@]}" || status=1
  fi
done

step nvidia-smi-after 30 nvidia-smi
note "total $(( $(date +%s) - start ))s, status $status"
exit $status
