// bench_lowp_gemm: the quantization lab's low-precision kernels (issue 3), measured side by side
// in one run on each backend, through the Backend interface (engine/backend/lowp_ops.h):
//  - GEMM at size^3: INT8 (int8 x int8 -> int32 + scale epilogue) and FP8 E4M3 (f32 accumulate +
//    scale epilogue) against F16 (cuBLAS gemmex, f32 compute) on the GPU, TFLOP/s and the ratio
//    (target >= 1.8x at 4096^3); on the CPU against OpenBLAS sgemm (f32) at a smaller size.
//    Also FP8 W8A8 through matmulPacked (fp8-e4m3 weights with channel scales x f32 activations
//    quantized to fp8-e4m3 per token inside the op, cuBLASLt fp8 GEMM, epilogue): the whole op,
//    activation quantization included, against the same baseline; skipped with the reason where
//    the backend names no kernel (the CPU, GPUs older than sm_89).
//  - W4A16 (int4 group:32, nf4 group:64) and W8A16 (int8 channel, fp8-e4m3 channel) decode GEMV,
//    one token, as weight bytes per second and as a fraction of the bandwidth measured in the same
//    run (target >= 85% for W4A16 on a GPU): the larger of an f32 copy (store_rows with identity
//    rows: read 1, write 1) and an f32 add (read 2, write 1) over arrays much larger than caches.
//  - activation quantize (f32 -> int8 / fp8 per token) and dequantize, GB/s (bytes read + written)
//    against that bandwidth (target: memory speed).
// Without a GPU the GPU part is skipped and the program says why (the registry's probe), then runs
// the CPU part. Usage: bench_lowp_gemm [--backend auto|cpu|cuda] [--size 4096] [--cpu-size 512]
// [--gemv-out 8192] [--gemv-in 4096] [--probe-mb 256] [--threads N] [--seed S]
// Results: docs/benchmarks.md. Not a test: prints numbers, exits non-zero only if an op fails.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "kernels/common/fp8.h"
#include "kernels/common/numerics.h"

using namespace precis;

namespace {

struct Args {
  std::string backend = "auto";
  int64_t size = 4096, cpu_size = 512, gemv_out = 8192, gemv_in = 4096, probe_mb = 256;
  int threads = 0;
  uint32_t seed = 1;
};

double secondsPerCall(Backend& be, const std::function<void()>& op) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < 2; ++i) op();
  be.synchronize();
  int reps = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  while (elapsed < 0.3) {
    for (int i = 0; i < 3; ++i) op();
    reps += 3;
    be.synchronize();
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return elapsed / reps;
}

std::unique_ptr<Buffer> put(Backend& be, const void* data, size_t bytes) {
  auto b = be.alloc(std::max<size_t>(bytes, 1));
  if (b && data) be.upload(*b, 0, data, bytes);
  return b;
}
template <class T>
std::unique_ptr<Buffer> put(Backend& be, const std::vector<T>& v) {
  return put(be, v.data(), v.size() * sizeof(T));
}

// Prints the backend's error (if any) for `what` and counts it in *failures.
bool ok(Backend& be, const char* what, int* failures) {
  if (be.lastError().empty()) return true;
  std::printf("  %s FAILED: %s\n", what, be.lastError().c_str());
  ++*failures;
  return false;
}

std::vector<uint8_t> randomBytes(size_t n, std::mt19937& rng, int lo, int hi) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = uint8_t(d(rng));
  return v;
}

// Measured bandwidth in bytes/s: max of an f32 copy (store_rows, identity rows) and an f32 add.
double measureBandwidth(Backend& be, int64_t probe_mb) {
  const int64_t cols = 1024, rows = probe_mb * (1 << 20) / 4 / cols;
  auto x = put(be, nullptr, size_t(rows * cols * 4)), y = put(be, nullptr, size_t(rows * cols * 4));
  std::vector<int32_t> ids(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) ids[size_t(i)] = int32_t(i);
  auto bi = put(be, ids);
  if (!x || !y || !bi) return 0;
  const TensorView vx = makeView(x->data(), DType::F32, rows, cols),
                   vy = makeView(y->data(), DType::F32, rows, cols);
  const TensorView vi = makeView(bi->data(), DType::I32, rows, 1);
  const double bytes = double(rows * cols * 4);
  const double copy = 2 * bytes / secondsPerCall(be, [&] { be.storeRows(vx, vy, vi); });
  const double add = 3 * bytes / secondsPerCall(be, [&] { be.add(vy, vx); });
  std::printf(
      "measured bandwidth: copy %.1f GB/s (store_rows, read 1 + write 1), add %.1f GB/s (read 2 + "
      "write 1) over "
      "%lld MiB arrays; using %.1f GB/s\n",
      copy / 1e9, add / 1e9, static_cast<long long>(probe_mb), std::max(copy, add) / 1e9);
  return std::max(copy, add);
}

// FP8 W8A8 through matmulPacked: y (m, m) = fp8(x (m, m) f32, per token) . w (m, m)^T fp8-e4m3
// codes with channel scales; `base` is the baseline's seconds per call (0: none measured).
void packedFp8(Backend& be, int64_t m, std::mt19937& rng, double base, int* failures) {
  const double flops = 2.0 * double(m) * double(m) * double(m);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<uint8_t> codes(size_t(m * m));
  for (uint8_t& c : codes) c = fp32ToFp8E4M3(nd(rng) * 64.f, true);
  std::vector<float> sc(static_cast<size_t>(m)), xh(static_cast<size_t>(m * m));
  for (float& s : sc) s = 0.001f + 0.0001f * std::fabs(nd(rng));
  for (float& v : xh) v = nd(rng);
  auto bc = put(be, codes), bs = put(be, sc), bx = put(be, xh),
       by = put(be, nullptr, size_t(m * m * 4));
  PackedWeightsView w;
  w.bits = 8;
  w.codebook = PackedCodebook::Fp8E4M3;
  w.codes = static_cast<const uint8_t*>(bc->data());
  w.code_stride = size_t(m);
  w.scales = static_cast<const float*>(bs->data());
  w.scale_stride = 1;
  w.group = m;
  w.rows = w.cols = m;
  const char* label = "fp8 W8A8";
  const std::string kernel = be.packedKernelName(w, PackedActMode::Fp8Token);
  if (kernel.empty()) {
    const std::string why = be.lowpUnsupportedReason(LowpOp::Gemm, LowpType::Fp8E4M3);
    std::printf("%-10s unsupported here: %s (the lab simulates it)\n", label,
                !why.empty() ? why.c_str()
                             : ("matmulPacked names no " + be.device().backend +
                                " kernel for fp8-e4m3 activations")
                                   .c_str());
    return;
  }
  const TensorView vx = makeView(bx->data(), DType::F32, m, m),
                   vy = makeView(by->data(), DType::F32, m, m);
  const double s =
      secondsPerCall(be, [&] { be.matmulPacked(w, PackedActMode::Fp8Token, 0.f, vx, vy); });
  if (!ok(be, label, failures)) return;
  std::printf("%-10s %10.3f %10.3f %8.2f  matmulPacked: %s\n", label, s * 1e3, flops / s / 1e12,
              base > 0 ? base / s : 0.0, kernel.c_str());
}

// GEMM y (m, m) = x (m, m) w (m, m)^T of each type; f32 is the backend's matmul (sgemm).
void gemms(Backend& be, int64_t m, std::mt19937& rng, bool cpu, int* failures) {
  std::printf("\nGEMM %lld^3 (%s):\n%-10s %10s %10s %8s  %s\n", static_cast<long long>(m),
              be.device().backend.c_str(), "type", "ms/call", "TFLOP/s", "x base", "kernel");
  const double flops = 2.0 * double(m) * double(m) * double(m);
  auto y = put(be, nullptr, size_t(m * m * 4));
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> sc(static_cast<size_t>(m));
  for (float& s : sc) s = 0.01f + 0.001f * std::fabs(nd(rng));
  auto scales = put(be, sc);
  double base = 0;
  if (cpu) {  // the CPU baseline: OpenBLAS sgemm through the backend's f32 matmul
    std::vector<float> f(size_t(m * m));
    for (float& v : f) v = nd(rng);
    auto w = put(be, f), x = put(be, f);
    const TensorView vw = makeView(w->data(), DType::F32, m, m),
                     vx = makeView(x->data(), DType::F32, m, m);
    const TensorView vy = makeView(y->data(), DType::F32, m, m);
    const double s = secondsPerCall(be, [&] { be.matmul(vw, vx, vy); });
    if (ok(be, "f32 matmul", failures)) {
      base = s;
      std::printf("%-10s %10.3f %10.3f %8.2f  %s\n", "f32", s * 1e3, flops / s / 1e12, 1.0,
                  be.kernelName(Op::MatMul, DType::F32).c_str());
    }
  }
  for (LowpType t : {LowpType::F16, LowpType::Int8, LowpType::Fp8E4M3}) {
    const std::string kernel = be.lowpKernelName(LowpOp::Gemm, t);
    if (kernel.empty()) {
      std::printf("%-10s unsupported here: %s (the lab simulates it)\n", lowpTypeName(t),
                  be.lowpUnsupportedReason(LowpOp::Gemm, t).c_str());
      continue;
    }
    const size_t bytes = size_t(m * m) * lowpTypeBytes(t);
    std::vector<uint8_t> codes(bytes);
    if (t == LowpType::Int8) codes = randomBytes(bytes, rng, 0, 254);
    for (size_t i = 0; i < bytes; ++i) {
      if (t == LowpType::Int8 && codes[i] == 0x80) codes[i] = 0;
      if (t == LowpType::Fp8E4M3) codes[i] = fp32ToFp8E4M3(nd(rng), true);
      if (t == LowpType::F16 && i % 2 == 0) {
        const uint16_t h = fp32ToFp16(nd(rng));
        std::memcpy(&codes[i], &h, 2);
      }
    }
    auto w = put(be, codes), x = put(be, codes);
    LowpGemmArgs a;
    a.type = t;
    a.w = w->data();
    a.x = x->data();
    a.w_stride = a.x_stride = size_t(m) * lowpTypeBytes(t);
    a.y = static_cast<float*>(y->data());
    a.y_stride = size_t(m) * 4;
    a.n = a.out = a.in = m;
    if (t != LowpType::F16) {  // per-channel weight scales, per-token activation scales
      a.w_scales = static_cast<const float*>(scales->data());
      a.x_scales = static_cast<const float*>(scales->data());
    }
    const double s = secondsPerCall(be, [&] { be.lowpGemm(a); });
    if (!ok(be, lowpTypeName(t), failures)) continue;
    if (!cpu && t == LowpType::F16) base = s;
    std::printf("%-10s %10.3f %10.3f %8.2f  %s\n", lowpTypeName(t), s * 1e3, flops / s / 1e12,
                base > 0 ? base / s : 0.0, kernel.c_str());
  }
  packedFp8(be, m, rng, base, failures);
  std::printf(
      "(x base: speed relative to %s; target on a GPU: int8 and fp8 >= 1.8x f16 at 4096^3)\n",
      cpu ? "OpenBLAS sgemm f32" : "cuBLAS f16");
}

// Decode GEMV of packed weights, one token, as a fraction of the bandwidth.
void gemvs(Backend& be, int64_t out, int64_t in, double bw, std::mt19937& rng, int* failures) {
  std::printf("\ndecode GEMV, 1 token, out %lld, in %lld (%s):\n%-22s %9s %9s %8s %7s  %s\n",
              static_cast<long long>(out), static_cast<long long>(in), be.device().backend.c_str(),
              "weights", "MB", "us/call", "GB/s", "of bw", "kernel");
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> xh(static_cast<size_t>(in));
  for (float& v : xh) v = nd(rng);
  auto x = put(be, xh), y = put(be, nullptr, size_t(out * 4));
  const TensorView vx = makeView(x->data(), DType::F32, 1, in),
                   vy = makeView(y->data(), DType::F32, 1, out);
  struct Spec {
    const char* name;
    int bits;
    int64_t group;
    PackedCodebook codebook;
  };
  for (const Spec& sp : {Spec{"W4A16 int4 group:32", 4, 32, PackedCodebook::Int},
                         Spec{"W4A16 nf4 group:64", 4, 64, PackedCodebook::Nf4},
                         Spec{"W8A16 int8 channel", 8, in, PackedCodebook::Int},
                         Spec{"W8A16 fp8-e4m3 channel", 8, in, PackedCodebook::Fp8E4M3}}) {
    PackedWeightsView w;
    w.bits = sp.bits;
    w.codebook = sp.codebook;
    w.rows = out;
    w.cols = in;
    w.group = sp.group;
    w.scale_stride = in / sp.group;
    w.code_stride = size_t(sp.bits == 8 ? in : in / 2);
    // bytes 1..126: valid int8 / int4 / nf4 codes and finite fp8-e4m3 ones (0x7f is NaN)
    const std::vector<uint8_t> codes = randomBytes(w.code_stride * size_t(out), rng, 1, 126);
    std::vector<float> scales(size_t(out * w.scale_stride), 0.01f);
    auto bc = put(be, codes), bs = put(be, scales);
    w.codes = static_cast<const uint8_t*>(bc->data());
    w.scales = static_cast<const float*>(bs->data());
    const std::string kernel = be.packedKernelName(w, PackedActMode::F32);
    const double s =
        secondsPerCall(be, [&] { be.matmulPacked(w, PackedActMode::F32, 0.f, vx, vy); });
    if (!ok(be, sp.name, failures)) continue;
    const double bytes = double(codes.size() + scales.size() * 4);
    std::printf("%-22s %9.1f %9.2f %8.1f %6.1f%%  %s\n", sp.name, bytes / 1e6, s * 1e6,
                bytes / s / 1e9, 100.0 * bytes / s / bw, kernel.c_str());
  }
  // q4_0 (the GGUF 4-bit format's fused GEMV) and f32 of the same shape, for scale
  {
    std::vector<float> row(static_cast<size_t>(in));
    const size_t rb = rowBytes(DType::Q4_0, in);
    std::vector<uint8_t> q(rb * size_t(out));
    for (int64_t r = 0; r < out; ++r) {
      for (float& v : row) v = nd(rng) * 0.02f;
      dtypeTraits(DType::Q4_0).from_float(row.data(), q.data() + size_t(r) * rb, in);
    }
    auto bq = put(be, q);
    const TensorView vq = makeView(bq->data(), DType::Q4_0, out, in);
    const double sq = secondsPerCall(be, [&] { be.matmul(vq, vx, vy); });
    if (ok(be, "q4_0 gemv", failures))
      std::printf("%-22s %9.1f %9.2f %8.1f %6.1f%%  %s\n", "q4_0 (reference)", double(q.size()) / 1e6, sq * 1e6,
                  double(q.size()) / sq / 1e9, 100.0 * double(q.size()) / sq / bw,
                  be.kernelName(Op::MatMul, DType::Q4_0).c_str());
  }
  std::vector<float> wf(size_t(out * in));
  for (float& v : wf) v = nd(rng) * 0.02f;
  auto bw32 = put(be, wf);
  const TensorView vw = makeView(bw32->data(), DType::F32, out, in);
  const double s = secondsPerCall(be, [&] { be.matmul(vw, vx, vy); });
  if (ok(be, "f32 gemv", failures))
    std::printf("%-22s %9.1f %9.2f %8.1f %6.1f%%  %s\n", "f32 (reference)",
                double(wf.size() * 4) / 1e6, s * 1e6, double(wf.size() * 4) / s / 1e9,
                100.0 * double(wf.size() * 4) / s / bw,
                be.kernelName(Op::MatMul, DType::F32).c_str());
  std::printf("(target on a GPU: W4A16 >= 85%% of the measured bandwidth)\n");
}

// Activation quantize / dequantize, (rows, cols) f32, GB/s of bytes read + written.
void actQuant(Backend& be, int64_t rows, int64_t cols, double bw, std::mt19937& rng,
              int* failures) {
  std::printf("\nactivation quantize, %lld x %lld f32 (%s):\n%-26s %9s %8s %7s  %s\n",
              static_cast<long long>(rows), static_cast<long long>(cols),
              be.device().backend.c_str(), "op", "us/call", "GB/s", "of bw", "kernel");
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> xh(size_t(rows * cols));
  for (float& v : xh) v = nd(rng);
  auto x = put(be, xh), q = put(be, nullptr, size_t(rows * cols)),
       s = put(be, nullptr, size_t(rows * 4)), y = put(be, nullptr, size_t(rows * cols * 4));
  for (LowpType t : {LowpType::Int8, LowpType::Fp8E4M3}) {
    ActQuantArgs a;
    a.type = t;
    a.x = static_cast<const float*>(x->data());
    a.x_stride = size_t(cols) * 4;
    a.q = q->data();
    a.q_stride = size_t(cols);
    a.scales = static_cast<float*>(s->data());
    a.n = rows;
    a.cols = cols;
    const double bytes = double(rows * cols) * 5;  // read f32, write 1-byte codes
    const double sq = secondsPerCall(be, [&] { be.quantizeActs(a); });
    if (ok(be, "quantize", failures))
      std::printf("%-26s %9.2f %8.1f %6.1f%%  %s\n",
                  (std::string("quantize ") + lowpTypeName(t) + " per token").c_str(), sq * 1e6,
                  bytes / sq / 1e9, 100.0 * bytes / sq / bw,
                  be.lowpKernelName(LowpOp::QuantizeActs, t).c_str());
    ActDequantArgs d;
    d.type = t;
    d.q = q->data();
    d.q_stride = size_t(cols);
    d.scales = static_cast<const float*>(s->data());
    d.y = static_cast<float*>(y->data());
    d.y_stride = size_t(cols) * 4;
    d.n = rows;
    d.cols = cols;
    const double sd = secondsPerCall(be, [&] { be.dequantizeActs(d); });
    if (ok(be, "dequantize", failures))
      std::printf("%-26s %9.2f %8.1f %6.1f%%  %s\n",
                  (std::string("dequantize ") + lowpTypeName(t)).c_str(), sd * 1e6,
                  bytes / sd / 1e9, 100.0 * bytes / sd / bw,
                  be.lowpKernelName(LowpOp::DequantizeActs, t).c_str());
  }
  std::printf("(target on a GPU: memory speed)\n");
}

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_lowp_gemm: %s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--backend")
      a.backend = val();
    else if (k == "--size")
      a.size = std::atoll(val());
    else if (k == "--cpu-size")
      a.cpu_size = std::atoll(val());
    else if (k == "--gemv-out")
      a.gemv_out = std::atoll(val());
    else if (k == "--gemv-in")
      a.gemv_in = std::atoll(val());
    else if (k == "--probe-mb")
      a.probe_mb = std::atoll(val());
    else if (k == "--threads")
      a.threads = std::atoi(val());
    else if (k == "--seed")
      a.seed = uint32_t(std::strtoul(val(), nullptr, 10));
    else if (k == "--help" || k == "-h") {
      std::printf(
          "usage: bench_lowp_gemm [--backend auto|cpu|cuda] [--size N] [--cpu-size N] [--gemv-out "
          "N]\n"
          "                       [--gemv-in N] [--probe-mb MB] [--threads N] [--seed S]\n");
      std::exit(0);
    } else {
      std::fprintf(stderr, "bench_lowp_gemm: unknown option %s (see --help)\n", k.c_str());
      return false;
    }
  }
  if (a.backend != "auto" && a.backend != "cpu" && a.backend != "cuda") {
    std::fprintf(stderr, "bench_lowp_gemm: --backend must be auto, cpu or cuda\n");
    return false;
  }
  if (a.size < 16 || a.size % 16 || a.cpu_size < 16 || a.cpu_size % 16 || a.gemv_in % 32 ||
      a.gemv_in <= 0 || a.gemv_out <= 0 || a.probe_mb < 16) {
    std::fprintf(
        stderr,
        "bench_lowp_gemm: sizes must be multiples of 16 (--gemv-in of 32), --probe-mb >= 16\n");
    return false;
  }
  return true;
}

void runAll(Backend& be, const Args& a, bool cpu, int* failures) {
  std::mt19937 rng(a.seed);
  std::printf("\n=== %s: %s ===\n", be.device().backend.c_str(), be.device().name.c_str());
  const double bw = measureBandwidth(be, a.probe_mb);
  if (!ok(be, "bandwidth probe", failures) || bw <= 0) return;
  gemms(be, cpu ? a.cpu_size : a.size, rng, cpu, failures);
  gemvs(be, a.gemv_out, a.gemv_in, bw, rng, failures);
  actQuant(be, cpu ? 256 : 4096, 4096, bw, rng, failures);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, a)) return 2;
  int failures = 0;
  if (a.backend != "cpu") {
    auto be = createBackend("cuda");  // says why when there is no module, driver or GPU
    if (be.ok()) {
      runAll(**be, a, false, &failures);
    } else {
      std::printf("GPU part SKIPPED: no usable CUDA backend (%s)\n", be.error().message.c_str());
      if (a.backend == "cuda") return 1;
    }
  }
  if (a.backend != "cuda") {
    auto be = createBackend("cpu", {a.threads});
    if (!be.ok()) {
      std::fprintf(stderr, "bench_lowp_gemm: %s\n", be.error().message.c_str());
      return 1;
    }
    std::printf("\nCPU part (the CPU twins; a smaller GEMM, %lld^3, against OpenBLAS sgemm):\n",
                static_cast<long long>(a.cpu_size));
    runAll(**be, a, true, &failures);
  }
  return failures == 0 ? 0 : 1;
}
