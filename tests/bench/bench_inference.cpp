// bench_inference: prefill and decode tokens/s of a model at several weight formats, with the
// machine's memory bandwidth measured in the same run (STREAM-like copy), and decode reported as
// a fraction of the bandwidth roofline (weight bytes read per token x tokens/s / bandwidth).
// Usage: bench_inference (--model PATH | --preset 15m|110m|1b) [--threads N] [--formats f32,q8_0,q4_0]
//                        [--prefill 512] [--decode 64] [--backend cpu|cuda|auto] [--seed S]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "engine/core/thread_pool.h"
#include "engine/model/loader.h"
#include "engine/model/presets.h"
#include "engine/quant/convert.h"
#include "engine/runtime/llama_runtime.h"

using namespace precis;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Copy bandwidth (bytes read + bytes written per second), best of 5, with `threads` threads.
double measureCopyBandwidth(int threads) {
  const size_t n = size_t(64) << 20;  // 64M floats = 256 MiB per array
  std::vector<float> a(n, 1.0f), b(n, 0.0f);
  ThreadPool pool(threads);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
    pool.parallelFor(int64_t(n), 1 << 16, [&](int64_t s, int64_t e) {
      std::memcpy(&b[size_t(s)], &a[size_t(s)], size_t(e - s) * sizeof(float));
    });
    const double dt = seconds(t0, Clock::now());
    best = std::max(best, 2.0 * double(n) * sizeof(float) / dt);
  }
  if (b[n / 2] != 1.0f) std::fprintf(stderr, "copy check failed\n");
  return best;
}

// Read-only bandwidth (bytes read per second), best of 5: an integer sum over 256 MiB.
double measureReadBandwidth(int threads) {
  const size_t n = size_t(32) << 20;  // 32M uint64 = 256 MiB
  std::vector<uint64_t> a(n);
  for (size_t i = 0; i < n; ++i) a[i] = i;
  ThreadPool pool(threads);
  double best = 0;
  std::atomic<uint64_t> sink{0};
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
    pool.parallelFor(int64_t(n), 1 << 16, [&](int64_t s, int64_t e) {
      uint64_t acc = 0;
      for (int64_t i = s; i < e; ++i) acc += a[size_t(i)];
      sink.fetch_add(acc);
    });
    best = std::max(best, double(n) * sizeof(uint64_t) / seconds(t0, Clock::now()));
  }
  return sink.load() == 1 ? 0 : best;
}

// Bytes of weights one decode step reads: every matrix and norm, plus one embedding row.
uint64_t decodeBytesPerToken(const Model& m) {
  uint64_t bytes = 0;
  for (const WeightTensor& t : m.tensors) {
    if (t.name == kTokenEmbd) {
      bytes += t.bytes / uint64_t(t.rows());
      if (m.config.tied_classifier) bytes += t.bytes;
    } else {
      bytes += t.bytes;
    }
  }
  return bytes;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find(',', b);
    if (e == std::string::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, preset, formats = "f32,q8_0,q4_0", backend_name = "cpu";
  int threads = 2, prefill = 512, decode = 128;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", a.c_str()); std::exit(2); }
      return argv[++i];
    };
    if (a == "--model") model_path = next();
    else if (a == "--preset") preset = next();
    else if (a == "--threads") threads = std::atoi(next().c_str());
    else if (a == "--formats") formats = next();
    else if (a == "--prefill") prefill = std::atoi(next().c_str());
    else if (a == "--decode") decode = std::atoi(next().c_str());
    else if (a == "--backend") backend_name = next();
    else if (a == "--seed") seed = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--help" || a == "-h") {
      std::printf("usage: bench_inference (--model PATH | --preset NAME) [--threads N] [--formats LIST]\n"
                  "                       [--prefill N] [--decode N] [--backend cpu|cuda|auto] [--seed S]\n");
      return 0;
    } else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); return 2; }
  }
  Result<Model> model = makeError("give --model PATH or --preset NAME");
  if (!model_path.empty()) {
    model = loadModel(model_path);
  } else if (!preset.empty()) {
    auto cfg = presetConfig(preset);
    if (!cfg) { std::fprintf(stderr, "%s\n", cfg.error().message.c_str()); return 1; }
    model = makeRandomModel(*cfg, seed);
  }
  if (!model) { std::fprintf(stderr, "error: %s\n", model.error().message.c_str()); return 1; }
  auto backend = createBackend(backend_name, {threads});
  if (!backend) { std::fprintf(stderr, "error: %s\n", backend.error().message.c_str()); return 1; }
  Backend& be = **backend;
  const LlamaConfig& c = model->config;
  prefill = std::min(prefill, c.context_length);
  decode = std::min(decode, c.context_length);

  const bool cpu = be.device().backend == "cpu";
  const double bw_copy = cpu ? measureCopyBandwidth(threads) : 0.0;
  const double bw_read = cpu ? measureReadBandwidth(threads) : 0.0;
  // The roofline uses the larger of the two, so the fraction is never flattered.
  const double bw = std::max(bw_copy, bw_read);
  std::printf("model: %s  params %.1fM  dim %d  layers %d  vocab %d\n",
              model_path.empty() ? ("preset " + preset).c_str() : model_path.c_str(),
              double(c.parameterCount()) / 1e6, c.dim, c.n_layers, c.vocab_size);
  std::printf("device: %s (%s), threads %d\n", be.device().name.c_str(), be.device().backend.c_str(),
              threads);
  if (bw > 0)
    std::printf("memory bandwidth: copy (read+write) %.2f GB/s, read-only %.2f GB/s; roofline uses %.2f GB/s\n",
                bw_copy / 1e9, bw_read / 1e9, bw / 1e9);
  std::printf("\n%-6s %10s %12s %12s %12s %10s  %s\n", "format", "MB/token", "prefill t/s",
              "decode t/s", "roofline t/s", "roofline%", "matmul kernel");

  double f32_decode = 0;
  for (const std::string& f : split(formats)) {
    DType t;
    if (!parseDType(f.c_str(), &t)) { std::fprintf(stderr, "unknown format %s\n", f.c_str()); return 2; }
    ConvertReport rep;
    auto conv = convertWeights(*model, WeightPlan{t, false}, &rep);
    if (!conv) { std::fprintf(stderr, "error: %s\n", conv.error().message.c_str()); return 1; }
    RuntimeOptions ro;
    ro.max_ctx = std::max(prefill, decode);
    ro.max_batch_tokens = std::max(prefill, 1);
    auto rt = LlamaRuntime::create(*conv, be, ro);
    if (!rt) { std::fprintf(stderr, "error: %s\n", rt.error().message.c_str()); return 1; }
    std::vector<float> logits(size_t(c.vocab_size));
    std::vector<BatchToken> batch;
    for (int i = 0; i < prefill; ++i) batch.push_back({(i * 7919 + 1) % c.vocab_size, i, 0, i + 1 == prefill});
    // Warm-up pass (page faults, BLAS buffers), then timed passes.
    (void)(*rt)->forward(batch, logits);
    const auto t0 = Clock::now();
    int reps = 0;
    do { (void)(*rt)->forward(batch, logits); ++reps; } while (seconds(t0, Clock::now()) < 1.0);
    const double prefill_tps = double(prefill) * reps / seconds(t0, Clock::now());
    // Decode, as llama-bench's tg test: one token per forward from an empty context.
    int32_t tok = 1;
    const auto t1 = Clock::now();
    for (int i = 0; i < decode; ++i) {
      const BatchToken bt{tok, i, 0, true};
      (void)(*rt)->forward(std::span<const BatchToken>(&bt, 1), logits);
      tok = (tok * 31 + 7) % c.vocab_size;
    }
    const double decode_tps = decode / seconds(t1, Clock::now());
    const double bytes = double(decodeBytesPerToken(*conv));
    const double roof = bw > 0 ? bw / bytes : 0.0;
    if (t == DType::F32) f32_decode = decode_tps;
    std::printf("%-6s %10.2f %12.1f %12.1f %12.1f %9.1f%%  %s\n", f.c_str(), bytes / 1e6, prefill_tps,
                decode_tps, roof, roof > 0 ? 100.0 * decode_tps / roof : 0.0,
                be.kernelName(Op::MatMul, t).c_str());
    if (t != DType::F32 && f32_decode > 0)
      std::printf("       decode speed-up over f32: %.2fx\n", decode_tps / f32_decode);
  }
  return 0;
}
