// bench_quant: the real low-bit CPU kernels side by side in one run. Decode (one token per forward)
// and prefill tokens/s of f32, W8A16 (int8 channel), W4A16 (int4 group:32), W8A8 and W4A8 (int8
// per-token activations), q8_0, q4_0, plus W4A16 "simulated" (the dequantized f32 path the lab used
// before the packed kernels), nf4 group:32 and fp8-e4m3 channel (table kernels), each as a ratio to f32, with the weight bytes one decode step reads.
// Every format quantizes every matrix, embeddings and classifier included (same policy for all).
// Then the wall time of the lab's interactive sweep: stories260K over {fp16, bf16, fp8-e4m3,
// int8, int4} x {tensor, channel, group:32} (11 rows; formats without granularity once), each row
// quantize + runtime + evaluate 256 sampled tokens against the reference, as `precis-cli sweep`.
// On a shared machine other processes steal cycles: --rounds R (default 3) runs all formats R
// times, interleaved, and keeps each format's best decode and prefill speed.
// Usage: bench_quant [--model PATH | --preset 15m|110m|1b] [--threads N] [--prefill N] [--decode N]
//                    [--rounds R] [--sweep-model PATH] [--seed S]
// Results: docs/benchmarks.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/eval/evaluator.h"
#include "engine/model/loader.h"
#include "engine/model/presets.h"
#include "engine/quant/packed_backend.h"
#include "engine/quant/quantize_model.h"
#include "engine/runtime/llama_runtime.h"

using namespace precis;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

struct Config {
  const char* label;
  const char* format;
  const char* granularity;
  ActFormat acts;
  bool packed;  // run the packed kernels (false: the simulated f32 path)
};

// Bytes of weights one decode step reads: every matrix at its stored size (packed for the lab
// formats), one embedding row (the whole table when it is also the classifier).
uint64_t decodeBytes(const Model& m, const ModelQuantReport& rep) {
  uint64_t b = 0;
  for (const TensorQuantReport& t : rep.tensors) {
    if (t.name == kTokenEmbd) b += m.config.tied_classifier ? t.bytes : t.bytes / uint64_t(m.config.vocab_size);
    else b += t.bytes;
  }
  return b;
}

int die(const std::string& msg) {
  std::fprintf(stderr, "bench_quant: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, preset = "110m", sweep_model = PRECIS_BENCH_MODELS_DIR "/stories260K.bin";
  int threads = 2, prefill = 128, decode = 32, rounds = 3;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", a.c_str()); std::exit(2); }
      return argv[++i];
    };
    if (a == "--model") model_path = next();
    else if (a == "--preset") preset = next();
    else if (a == "--threads") threads = std::atoi(next().c_str());
    else if (a == "--prefill") prefill = std::atoi(next().c_str());
    else if (a == "--decode") decode = std::atoi(next().c_str());
    else if (a == "--rounds") rounds = std::atoi(next().c_str());
    else if (a == "--sweep-model") sweep_model = next();
    else if (a == "--seed") seed = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--help" || a == "-h") {
      std::printf("usage: bench_quant [--model PATH | --preset 15m|110m|1b] [--threads N] [--prefill N] [--decode N] [--rounds R]\n"
                  "                   [--sweep-model PATH (default: stories260K; \"\" skips the sweep)] [--seed S]\n");
      return 0;
    } else {
      std::fprintf(stderr, "unknown argument %s (see --help)\n", a.c_str());
      return 2;
    }
  }
  if (threads < 1 || prefill < 1 || decode < 1 || rounds < 1)
    return die("--threads, --prefill, --decode and --rounds must be positive");
  Result<Model> model = makeError("no model");
  if (!model_path.empty()) {
    model = loadModel(model_path);
  } else {
    Result<LlamaConfig> cfg = presetConfig(preset);
    if (!cfg) return die(cfg.error().message);
    model = makeRandomModel(*cfg, seed);
  }
  if (!model) return die(model.error().message);
  std::unique_ptr<Backend> cpu = createCpuBackend(threads);
  const LlamaConfig& c = model->config;
  prefill = std::min(prefill, c.context_length);
  decode = std::min(decode, c.context_length);
  std::printf("model: %s  params %.1fM  dim %d  layers %d  vocab %d\n",
              model_path.empty() ? ("preset " + preset + " (random weights)").c_str() : model_path.c_str(),
              double(c.parameterCount()) / 1e6, c.dim, c.n_layers, c.vocab_size);
  std::printf("device: %s, threads %d; prefill %d tokens per forward, decode %d tokens; best of %d rounds\n\n",
              cpu->device().name.c_str(), threads, prefill, decode, rounds);

  const Config configs[] = {
      {"f32", "fp32", "-", ActFormat::None, false},
      {"w8a16 int8 ch", "int8", "channel", ActFormat::None, true},
      {"w4a16 int4 g32", "int4", "group:32", ActFormat::None, true},
      {"w8a8 int8 ch", "int8", "channel", ActFormat::Int8, true},
      {"w4a8 int4 g32", "int4", "group:32", ActFormat::Int8, true},
      {"q8_0", "q8_0", "-", ActFormat::None, false},
      {"q4_0", "q4_0", "-", ActFormat::None, false},
      {"w4a16 simulated", "int4", "group:32", ActFormat::None, false},
      {"w4a16 nf4 g32", "nf4", "group:32", ActFormat::None, true},
      {"w8a16 fp8 ch", "fp8-e4m3", "channel", ActFormat::None, true},
  };
  constexpr int kConfigs = sizeof(configs) / sizeof(configs[0]);
  double best_decode[kConfigs] = {}, best_prefill[kConfigs] = {}, mb[kConfigs] = {};
  std::string kernels[kConfigs];
  for (int round = 0; round < rounds; ++round)
  for (int ci = 0; ci < kConfigs; ++ci) {
    const Config& cf = configs[ci];
    QuantScheme s;
    Result<WeightFormat> f = parseWeightFormat(cf.format);
    if (!f) return die(f.error().message);
    Result<WeightSpec> w = parseGranularity(cf.granularity[0] == '-' ? "channel" : cf.granularity, *f);
    if (!w) return die(w.error().message);
    s.weights = *w;
    s.activations = cf.acts;
    s.include_embeddings = true;
    Result<QuantizedModel> q = quantizeModel(*model, s);
    if (!q) return die(q.error().message);
    Backend* be = cpu.get();
    std::unique_ptr<PackedBackend> packed;
    if (cf.packed) {
      PackedBackend::Options po{cf.acts, ActGranularity::Token, c.vocab_size, true};
      Result<std::unique_ptr<PackedBackend>> p = PackedBackend::create(*cpu, *cpu, *q, po);
      if (!p) return die(p.error().message);
      packed = std::move(*p);
      be = packed.get();
      if (q->report.simulated_tensors != 0) return die(std::string(cf.label) + ": some tensors have no packed kernel");
    }
    RuntimeOptions ro;
    ro.max_ctx = std::max(prefill, decode);
    ro.max_batch_tokens = prefill;
    Result<std::unique_ptr<LlamaRuntime>> rt = LlamaRuntime::create(q->model, *be, ro);
    if (!rt) return die(rt.error().message);
    std::vector<float> logits(size_t(c.vocab_size));
    std::vector<BatchToken> batch;
    for (int i = 0; i < prefill; ++i) batch.push_back({(i * 7919 + 1) % c.vocab_size, i, 0, i + 1 == prefill});
    if (Status st = (*rt)->forward(batch, logits); !st) return die(st.error().message);  // warm-up
    const auto t0 = Clock::now();
    int reps = 0;
    do {
      (void)(*rt)->forward(batch, logits);
      ++reps;
    } while (seconds(t0, Clock::now()) < 1.0);
    const double prefill_tps = double(prefill) * reps / seconds(t0, Clock::now());
    int32_t tok = 1;
    const auto t1 = Clock::now();
    for (int i = 0; i < decode; ++i) {
      const BatchToken bt{tok, i, 0, true};
      (void)(*rt)->forward(std::span<const BatchToken>(&bt, 1), logits);
      tok = (tok * 31 + 7) % c.vocab_size;
    }
    const double decode_tps = decode / seconds(t1, Clock::now());
    best_decode[ci] = std::max(best_decode[ci], decode_tps);
    best_prefill[ci] = std::max(best_prefill[ci], prefill_tps);
    mb[ci] = double(decodeBytes(*model, q->report)) / 1e6;
    std::string kernel = packed && !packed->kernelRows().empty() ? packed->kernelRows().front().kernel : "";
    for (const WeightTensor& t : q->model.tensors)
      if (!packed && t.shape.size() == 2) kernel = be->kernelName(Op::MatMul, t.type);
    if (!cf.packed && q->report.simulated_tensors > 0) kernel = "simulated: dequantized to f32, " + kernel;
    kernels[ci] = kernel;
    std::fprintf(stderr, "round %d: %s decode %.2f t/s, prefill %.1f t/s\n", round + 1, cf.label, decode_tps, prefill_tps);
  }
  std::printf("%-15s %9s %11s %7s %11s %7s  %s\n", "config", "MB/token", "decode t/s", "x f32", "prefill t/s", "x f32",
              "matmul kernel");
  for (int ci = 0; ci < kConfigs; ++ci)
    std::printf("%-15s %9.2f %11.2f %6.2fx %11.1f %6.2fx  %s\n", configs[ci].label, mb[ci], best_decode[ci],
                best_decode[ci] / best_decode[0], best_prefill[ci], best_prefill[ci] / best_prefill[0], kernels[ci].c_str());
  std::fflush(stdout);

  if (sweep_model.empty()) return 0;
  Result<Model> sm = loadModel(sweep_model);
  if (!sm) {
    std::printf("\nsweep: skipped (%s)\n", sm.error().message.c_str());
    return 0;
  }
  const auto s0 = Clock::now();
  RuntimeOptions ro;
  ro.max_ctx = std::min(257, sm->config.context_length);
  Result<std::unique_ptr<LlamaRuntime>> ref = LlamaRuntime::create(*sm, *cpu, ro);
  if (!ref) return die(ref.error().message);
  Result<std::vector<int32_t>> seq = sampleSequence(**ref, 1, 256, 0);
  if (!seq) return die(seq.error().message);
  int rows = 0;
  for (const char* fmt : {"fp16", "bf16", "fp8-e4m3", "int8", "int4"})
    for (const char* g : {"tensor", "channel", "group:32"}) {
      QuantScheme s;
      Result<WeightFormat> f = parseWeightFormat(fmt);
      if (!f) return die(f.error().message);
      if (!formatHasGranularity(*f) && std::string(g) != "tensor") continue;
      Result<WeightSpec> w = parseGranularity(formatHasGranularity(*f) ? g : "channel", *f);
      if (!w) return die(w.error().message);
      s.weights = *w;
      Result<QuantizedModel> q = quantizeModel(*sm, s);
      if (!q) return die(q.error().message);
      Result<std::unique_ptr<PackedBackend>> p = PackedBackend::create(*cpu, *cpu, *q, PackedBackend::Options{});
      if (!p) return die(p.error().message);
      Result<std::unique_ptr<LlamaRuntime>> rt = LlamaRuntime::create(q->model, **p, ro);
      if (!rt) return die(rt.error().message);
      EvalOptions eo;
      eo.threads = threads;
      Result<EvalResult> r = evaluate(**ref, **rt, {*seq}, eo);
      if (!r) return die(r.error().message);
      ++rows;
    }
  std::printf("\nsweep: %s, %d rows x 256 sampled tokens (quantize + evaluate each): %.2f s\n", sweep_model.c_str(),
              rows, seconds(s0, Clock::now()));
  return 0;
}
