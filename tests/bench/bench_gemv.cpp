// bench_gemv: the decode matrix-vector product (1..8 tokens) of every weight format on one backend,
// as bytes of weights read per second and as a fraction of the memory bandwidth measured on the same
// device in the same run (an f32 `add` over arrays far larger than the caches: reads 2, writes 1).
// Decode is memory-bound, so this fraction is the figure of merit (issue 3 target: the 4-bit
// fused GEMV at >= 85% of measured HBM bandwidth on a GPU).
// Usage: bench_gemv [--backend cpu|cuda|auto] [--threads N] [--formats f32,f16,bf16,q8_0,q4_0]
//                   [--out 8192] [--in 4096] [--tokens 1] [--probe-mb 512] [--seed S]
// Results: docs/benchmarks.md. Not a test: prints numbers, exits 0 unless something fails to run.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/registry.h"

using namespace precis;

namespace {

struct Args {
  std::string backend = "auto", formats = "f32,f16,bf16,q8_0,q4_0";
  int threads = 0, tokens = 1;
  int64_t out = 8192, in = 4096, probe_mb = 512;
  uint64_t seed = 1;
};

// Seconds per call of op, after warm-up, over at least 0.2 s of repeated calls.
double secondsPerCall(Backend& be, const std::function<void()>& op) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < 3; ++i) op();
  be.synchronize();
  int reps = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  while (elapsed < 0.2) {
    for (int i = 0; i < 5; ++i) op();
    reps += 5;
    be.synchronize();
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return elapsed / reps;
}

std::unique_ptr<Buffer> uploadBytes(Backend& be, const std::vector<uint8_t>& bytes) {
  auto buf = be.alloc(bytes.size());
  if (buf) be.upload(*buf, 0, bytes.data(), bytes.size());
  return buf;
}

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) { std::fprintf(stderr, "bench_gemv: %s needs a value\n", k.c_str()); std::exit(2); }
      return argv[++i];
    };
    if (k == "--backend") a.backend = val();
    else if (k == "--threads") a.threads = std::atoi(val());
    else if (k == "--formats") a.formats = val();
    else if (k == "--out") a.out = std::atoll(val());
    else if (k == "--in") a.in = std::atoll(val());
    else if (k == "--tokens") a.tokens = std::atoi(val());
    else if (k == "--probe-mb") a.probe_mb = std::atoll(val());
    else if (k == "--seed") a.seed = std::strtoull(val(), nullptr, 10);
    else if (k == "--help" || k == "-h") {
      std::printf("usage: bench_gemv [--backend cpu|cuda|auto] [--threads N] [--formats LIST] [--out N] [--in N]\n"
                  "                  [--tokens 1..8] [--probe-mb MB] [--seed S]\n");
      std::exit(0);
    } else {
      std::fprintf(stderr, "bench_gemv: unknown option %s (see --help)\n", k.c_str());
      return false;
    }
  }
  if (a.out <= 0 || a.in <= 0 || a.in % 32 != 0 || a.tokens < 1 || a.tokens > 64 || a.probe_mb < 16) {
    std::fprintf(stderr, "bench_gemv: need --out > 0, --in a multiple of 32, --tokens 1..64, --probe-mb >= 16\n");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, a)) return 2;
  auto be = createBackend(a.backend, {a.threads});
  if (!be.ok()) {
    std::fprintf(stderr, "bench_gemv: %s\n", be.error().message.c_str());
    return 1;
  }
  Backend& b = **be;
  std::printf("device: %s (%s)\n", b.device().name.c_str(), b.device().backend.c_str());

  // Bandwidth probe: y += x over two arrays of probe_mb MiB each.
  const int64_t probe_cols = 1024, probe_rows = a.probe_mb * (1 << 20) / 4 / probe_cols;
  const std::vector<uint8_t> zeros(size_t(probe_rows * probe_cols * 4), 0);
  auto px = uploadBytes(b, zeros), py = uploadBytes(b, zeros);
  if (!px || !py) {
    std::fprintf(stderr, "bench_gemv: cannot allocate the bandwidth probe: %s\n", b.lastError().c_str());
    return 1;
  }
  const TensorView vx = makeView(px->data(), DType::F32, probe_rows, probe_cols);
  const TensorView vy = makeView(py->data(), DType::F32, probe_rows, probe_cols);
  const double probe_s = secondsPerCall(b, [&] { b.add(vy, vx); });
  const double bw = 3.0 * double(zeros.size()) / probe_s;
  std::printf("measured bandwidth: %.1f GB/s (f32 add over 2 x %lld MiB: reads 2, writes 1)\n", bw / 1e9,
              static_cast<long long>(a.probe_mb));
  std::printf("gemv: out %lld, in %lld, %d token(s)\n\n", static_cast<long long>(a.out),
              static_cast<long long>(a.in), a.tokens);
  std::printf("%-6s %10s %10s %10s %8s  %s\n", "format", "MB", "us/call", "GB/s", "of bw", "kernel");

  std::mt19937 rng(static_cast<uint32_t>(a.seed));
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x(size_t(a.tokens * a.in)), row(size_t(a.in));
  for (float& v : x) v = normal(rng);
  std::vector<uint8_t> xb(x.size() * 4);
  std::memcpy(xb.data(), x.data(), xb.size());
  auto bx = uploadBytes(b, xb);
  auto by = b.alloc(size_t(a.tokens * a.out * 4));
  int failures = 0;
  size_t start = 0;
  while (start <= a.formats.size()) {
    const size_t comma = std::min(a.formats.find(',', start), a.formats.size());
    const std::string name = a.formats.substr(start, comma - start);
    start = comma + 1;
    DType t;
    if (!parseDType(name.c_str(), &t)) {
      std::fprintf(stderr, "bench_gemv: unknown format %s\n", name.c_str());
      return 2;
    }
    if (!b.supportsOp(Op::MatMul, t)) {
      std::printf("%-6s (matmul not supported on this backend)\n", name.c_str());
      continue;
    }
    const size_t rb = rowBytes(t, a.in);
    std::vector<uint8_t> w(rb * size_t(a.out));
    for (int64_t r = 0; r < a.out; ++r) {
      for (float& v : row) v = normal(rng) * 0.02f;
      dtypeTraits(t).from_float(row.data(), w.data() + size_t(r) * rb, a.in);
    }
    auto bw_buf = uploadBytes(b, w);
    if (!bw_buf || !bx || !by) {
      std::fprintf(stderr, "bench_gemv: cannot allocate %s weights: %s\n", name.c_str(), b.lastError().c_str());
      ++failures;
      continue;
    }
    const TensorView vw = makeView(bw_buf->data(), t, a.out, a.in);
    const TensorView vxx = makeView(bx->data(), DType::F32, a.tokens, a.in);
    const TensorView vyy = makeView(by->data(), DType::F32, a.tokens, a.out);
    const double s = secondsPerCall(b, [&] { b.matmul(vw, vxx, vyy); });
    if (!b.lastError().empty()) {
      std::fprintf(stderr, "bench_gemv: %s matmul failed: %s\n", name.c_str(), b.lastError().c_str());
      ++failures;
      continue;
    }
    const double gbs = double(w.size()) / s;
    std::printf("%-6s %10.1f %10.2f %10.1f %7.1f%%  %s\n", name.c_str(), double(w.size()) / 1e6, s * 1e6,
                gbs / 1e9, 100.0 * gbs / bw, b.kernelName(Op::MatMul, t).c_str());
  }
  return failures == 0 ? 0 : 1;
}
