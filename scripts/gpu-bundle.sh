#!/usr/bin/env bash
# gpu-bundle.sh: build here, test on a borrowed GPU machine that has CUDA but none of our Debian libraries.
#   scripts/gpu-bundle.sh pack BUILD_DIR BUNDLE_DIR   (here) packs the test and benchmark programs of a CUDA build
#       (configured with -DPRECIS_GUI=OFF -DPRECIS_CUDA=ON -DPRECIS_CUDA_ARCHS=90), the shared libraries they need
#       (Qt, OpenBLAS, SQLite, ICU...; never glibc or the CUDA libraries), the model fixtures and tests/fixtures into
#       BUNDLE_DIR/bundle.tar.gz. Absolute paths compiled into the build stay valid: the source tree of BUILD_DIR is
#       recreated at the same path over there.
#   scripts/gpu-bundle.sh run BUNDLE_DIR OUTDIR       (there) unpacks, finds the machine's CUDA libraries, runs every
#       CTest suite with PRECIS_REQUIRE_CUDA=1, the conformance harness in benchmark mode, the benchmarks on CUDA and
#       CPU side by side, and an end-to-end eval (CPU vs CUDA) of stories260K. Logs and summary.txt go to OUTDIR.
# The full-build variant for a machine with our Debian packages is scripts/gpu-check.sh (docs/gpu.md).
set -uo pipefail
mode="${1:?usage: gpu-bundle.sh pack BUILD_DIR BUNDLE_DIR | run BUNDLE_DIR OUTDIR}"

if [ "$mode" = pack ]; then
  build="$(cd "${2:?BUILD_DIR}" && pwd)"; dest="${3:?BUNDLE_DIR}"
  src="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")"
  models="$(sed -n 's/^PRECIS_MODELS_DIR:PATH=//p' "$build/CMakeCache.txt")"
  mkdir -p "$dest"; dest="$(cd "$dest" && pwd)"
  stage="$(mktemp -d)"; root="$stage/root"
  mkdir -p "$root$src" "$stage/libs"
  (cd "$src" && find "${build#"$src"/}" -type f \( -perm -u+x -o -name '*.so*' -o -name CTestTestfile.cmake \) \
      -not -path '*/CMakeFiles/*' -print0 | tar --null -T - -cf - | tar -C "$root$src" -xf -)
  (cd "$src" && tar -cf - tests/fixtures) | tar -C "$root$src" -xf -
  models_src="${PRECIS_MODELS_SRC:-$models}"  # where the fixtures are here, if not at the configured path
  if [ -d "$models_src" ]; then mkdir -p "$root$models" && cp -L "$models_src"/* "$root$models/"; fi
  # Shared libraries the programs need, except glibc, the C++ runtime (newer there) and CUDA (the machine's own).
  find "$root$build" -type f -perm -u+x -o -name '*.so' | while read -r f; do ldd "$f" 2>/dev/null; done \
    | awk '/=> \//{print $3}' | sort -u \
    | grep -Ev '/(libc|libm|libdl|librt|libpthread|ld-linux[^/]*|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas|libcublasLt)\.so' \
    | while read -r l; do cp -L "$l" "$stage/libs/"; done
  tar -C "$stage" -czf "$dest/bundle.tar.gz" root libs
  echo "src=$src build=$build models=$models" > "$dest/bundle.txt"
  rm -rf "$stage"
  ls -la "$dest"; exit 0
fi

[ "$mode" = run ] || { echo "unknown mode $mode" >&2; exit 2; }
bundle="$(cd "${2:?BUNDLE_DIR}" && pwd)"; final="${3:?OUTDIR}"; mkdir -p "$final"
out="$(mktemp -d)"  # logs: packed into OUTDIR/logs.tar.gz at the end (the device tool returns few files)
summary="$final/summary.txt"; : > "$summary"  # written as it goes: comes back even if the call is cut off
status=0; start=$(date +%s)
note() { echo "$*" | tee -a "$summary"; }
step() {  # step NAME TIMEOUT_S CMD...: logs to OUTDIR/NAME.log, one line in summary.txt
  local name="$1" limit="$2"; shift 2; local t0=$(date +%s)
  timeout --kill-after=5 "$limit" "$@" > "$out/$name.log" 2>&1; local rc=$?
  note "$(printf '%-30s rc=%-3s %4ss  %s' "$name" "$rc" "$(( $(date +%s) - t0 ))" "$*")"; return $rc
}
. <(sed 's/ /\n/g' "$bundle/bundle.txt")
tar -C / -xzf "$bundle/bundle.tar.gz" --strip-components=1 root
mkdir -p /tmp/precis-libs && tar -C /tmp/precis-libs -xzf "$bundle/bundle.tar.gz" --strip-components=1 libs
cudalib=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -e "$d/libcublas.so.13" ] && { cudalib="$d"; break; }
done
[ -n "$cudalib" ] || cudalib="$(dirname "$(find /usr /opt -name 'libcublas.so.13' 2>/dev/null | head -n1)")"
export LD_LIBRARY_PATH="/tmp/precis-libs:$cudalib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PRECIS_REQUIRE_CUDA=1 PRECIS_CUDA_MODULE="$build/lib/libprecis-cuda.so" PRECIS_MODELS_DIR="$models"
export QT_QPA_PLATFORM=offscreen PRECIS_DB="$out/precis-gpu.sqlite"
note "gpu-bundle run: $(date -u +%FT%TZ) cuda libs: $cudalib"
step nvidia-smi 30 nvidia-smi || status=1
step ldd-cuda-module 10 ldd "$PRECIS_CUDA_MODULE"
step ctest 150 ctest --test-dir "$build" --output-on-failure --timeout 200 -j 8 || status=1
step ctest-gpu-label 45 ctest --test-dir "$build" --output-on-failure -L gpu -V || status=1
ops="$build/tests/kernels/test_backend_ops"
[ -x "$ops" ] && { step bench-ops 60 env PRECIS_BENCH_OPS=1 "$ops" || status=1; }
cli="$build/app/cli/precis-cli"; m="$models/stories260K.bin"
"$cli" generate "$m" --tokens 1 -n 300 --temperature 0 --ids --backend cpu 2>/dev/null | tr -s ' ' > "$out/tokens.txt"
for be in cpu cuda; do  # end to end on a fixed token file: the numbers must agree across backends
  for w in fp32 fp16 q8_0 q4_0; do
    step "eval-$w-$be" 30 "$cli" eval "$m" --tokens "$out/tokens.txt" --weights "$w" --backend "$be" --no-log --json || status=1
  done
  step "generate-$be" 30 "$cli" generate "$m" --tokens 1 -n 64 --temperature 0 --ids --backend "$be" || status=1
done
for g in group:32 channel; do  # the quantization lab's packed formats on the CUDA kernels (issue 3)
  step "eval-int4-$g-cuda" 30 "$cli" eval "$m" --tokens "$out/tokens.txt" --weights int4 --granularity "$g" --backend cuda --no-log --json || status=1
  step "eval-int4-$g-cpu" 30 "$cli" eval "$m" --tokens "$out/tokens.txt" --weights int4 --granularity "$g" --backend cpu --no-log --json || status=1
done
step eval-int8-channel-cuda 30 "$cli" eval "$m" --tokens "$out/tokens.txt" --weights int8 --granularity channel --backend cuda --no-log --json || status=1
# Quantized activations on the device (W8A8 kernels, FP8 W8A8, device fake-quant, static
# calibration read back from the device), each next to its CPU run: the numbers must agree.
while read -r name args; do
  for be in cuda cpu; do
    # shellcheck disable=SC2086  # args is a list of flags
    step "eval-act-$name-$be" 30 "$cli" eval "$m" --tokens "$out/tokens.txt" $args --backend "$be" --no-log --json || status=1
  done
  note "eval-act $name cpu/cuda: $(grep -hE '"(perplexity|top1_agreement)"' "$out/eval-act-$name-cpu.log" | head -2 | tr -d ' \n') | $(grep -hE '"(perplexity|top1_agreement)"' "$out/eval-act-$name-cuda.log" | head -2 | tr -d ' \n')"
done <<'ACTS'
int8-a8-token --weights int8 --granularity channel --activations int8 --act-granularity token
int4-a8-static --weights int4 --granularity group:32 --activations int8 --act-granularity tensor
fp8-w8a8 --weights fp8-e4m3 --granularity channel --activations fp8-e4m3 --act-granularity token
nf4-a8 --weights nf4 --granularity group:64 --activations int8 --act-granularity token
bf16-fp8-static --weights bf16 --activations fp8-e4m3 --act-granularity tensor --act-calibration mse
ACTS
for w in fp32 fp16 q8_0 q4_0; do
  note "eval $w cpu/cuda: $(grep -hE '"(perplexity|reference_perplexity|top1_agreement)"|"mean"' "$out/eval-$w-cpu.log" | head -4 | tr -d ' \n') | $(grep -hE '"(perplexity|reference_perplexity|top1_agreement)"|"mean"' "$out/eval-$w-cuda.log" | head -4 | tr -d ' \n')"
done
b="$build/tests/bench"
quick="${PRECIS_GPU_QUICK:-0}"  # 1: skip the CPU baseline, the serving and the tiny-model benchmarks
[ "$quick" = 1 ] || step bench-inference-260K-cuda 45 "$b/bench_inference" --model "$m" --backend cuda || status=1
step bench-inference-110m-cuda 60 "$b/bench_inference" --preset 110m --backend cuda || status=1
[ "$quick" = 1 ] || step bench-inference-110m-cpu16 60 "$b/bench_inference" --preset 110m --backend cpu --threads 16 --decode 32 || status=1
step bench-inference-1b-cuda 150 "$b/bench_inference" --preset 1b --backend cuda --formats f32,q8_0,q4_0 || status=1
[ "$quick" = 1 ] || step bench-serve-110m-cuda 60 "$b/bench_serve" --preset 110m --backend cuda || status=1
# Training on the GPU (DeviceTrainGraph): tokens/s of the 110M shape and the fraction of cuBLAS's
# f32 / tf32 throughput measured in the same run.
step bench-train-110m-cuda 90 "$b/bench_train" --preset 110m --backend cuda --steps 10 || status=1
step bench-train-110m-cuda-tf32 90 "$b/bench_train" --preset 110m --backend cuda --steps 10 --tf32 || status=1
# issue 3: INT8/FP8 GEMM vs cuBLAS f16 at 4096^3, W4A16 GEMV vs measured bandwidth, quantize GB/s
step bench-lowp-gemm 120 "$b/bench_lowp_gemm" --backend auto --size 4096 || status=1
for e in "$b"/*; do  # benchmarks added later: run once with --backend cuda
  case "$(basename "$e")" in bench_inference|bench_serve|bench_train|bench_lowp_gemm) continue;; esac
  [ -x "$e" ] && { step "$(basename "$e")-cuda" 60 "$e" --backend cuda || status=1; }
done
step nvidia-smi-after 30 nvidia-smi
diff -q <(grep -v "/s" "$out/generate-cpu.log") <(grep -v "/s" "$out/generate-cuda.log") >/dev/null && note "generate: CPU and CUDA greedy text identical" \
  || note "generate: CPU and CUDA greedy text DIFFER (see generate-*.log)"
note "total $(( $(date +%s) - start ))s, status $status"
for f in "$out"/*.log; do  # failures' tails on stdout
  grep -q "rc=0 " <(grep "^$(basename "$f" .log) " "$summary") || { echo "== $(basename "$f")"; tail -n 25 "$f"; }
done
tar -C "$out" -czf "$final/logs.tar.gz" .
exit $status
