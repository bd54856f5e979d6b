// bench_train: training tokens/s of Precis's CPU trainer (engine/train Trainer: forward, loss,
// backward, gradient clip, AdamW) for the demo teacher's shape, measured side by side with
// PyTorch's CPU build running the same step on the same shape (tests/bench/bench_train_torch.py,
// run as a subprocess between our rounds), and optionally the wall and CPU time of building the
// demo models (target: under 3 minutes on 2 cores). Reports tokens per second of wall time and of
// process CPU time (on a machine loaded by other work the CPU-time figure with one thread is the
// fair comparison; OpenMP threads that spin make multi-thread CPU time less meaningful). Both sides
// run their matrix products on --threads threads: the PyTorch subprocess gets OPENBLAS_NUM_THREADS
// and OMP_NUM_THREADS set to it (left unset, OpenBLAS would use every core on both sides).
// With --backend cuda (engine/train DeviceTrainGraph on the CUDA TrainBackend): training tokens/s on
// the GPU, the model FLOP rate of the step (6 x matrix parameters per token + attention's products as
// executed, full T x T) and its fraction of cuBLAS SGEMM's throughput measured in the same run
// (square 8192 products through the same backend, TF32 off and on); without a GPU it says that it
// skipped the GPU part and why, and exits 0.
// Usage: bench_train [--threads N] [--steps S] [--batch B] [--ctx C] [--rounds R]
//                    [--python PATH] [--no-torch] [--demo] [--demo-dir DIR]
//                    [--backend cpu|cuda] [--preset 110m|15m|1b] [--tf32]
#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model/presets.h"
#include "engine/train/demo_models.h"
#include "engine/train/trainer.h"
#include "tests/train/train_test_data.h"

using namespace precis;

namespace {

double cpuNow() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
double wallNow() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Speed {
  double wall = 0, cpu = 0;  // tokens per second of wall / CPU time
};

const char* arg(int argc, char** argv, const char* name, const char* def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return def;
}
bool flag(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return true;
  return false;
}

Speed precisSpeed(const LlamaConfig& c, int batch, int ctx, int steps, int threads) {
  const std::vector<int32_t> stream = test::tokenStream(size_t(batch) * size_t(ctx) * 8 + 1, 1, c.vocab_size);
  TrainOptions o;
  o.batch = batch;
  o.ctx = ctx;
  o.steps = steps + 2;
  o.threads = threads;
  o.adam.lr = 1e-3f;
  auto tr = Trainer::create(TrainParams::init(c, 1), o, stream, stream);
  if (!tr) {
    std::fprintf(stderr, "bench_train: %s\n", tr.error().message.c_str());
    std::exit(1);
  }
  for (int i = 0; i < 2; ++i) (void)(*tr)->step();  // warm-up: buffers, page faults
  const double w0 = wallNow(), c0 = cpuNow();
  for (int i = 0; i < steps; ++i)
    if (auto s = (*tr)->step(); !s) {
      std::fprintf(stderr, "bench_train: %s\n", s.error().message.c_str());
      std::exit(1);
    }
  const double tokens = double(steps) * batch * ctx;
  return {tokens / (wallNow() - w0), tokens / (cpuNow() - c0)};
}

// Runs the PyTorch script; nullopt-like {0, 0} with a message when it cannot.
Speed torchSpeed(const std::string& python, const std::string& script, const LlamaConfig& c, int batch, int ctx,
                 int steps, int threads) {
  // PyTorch's matrix products go to its BLAS (Debian's build: OpenBLAS, which starts a thread per
  // core unless told): give it our thread count (TrainGraph runs OpenBLAS single-threaded inside
  // each of our pool's chunks).
  const std::string n = std::to_string(threads);
  const std::string cmd = "OPENBLAS_NUM_THREADS=" + n + " OMP_NUM_THREADS=" + n + " " + python + " " +
                          script + " --dim " + std::to_string(c.dim) + " --hidden " +
                          std::to_string(c.hidden_dim) + " --layers " + std::to_string(c.n_layers) + " --heads " +
                          std::to_string(c.n_heads) + " --kv " + std::to_string(c.n_kv_heads) + " --vocab " +
                          std::to_string(c.vocab_size) + " --batch " + std::to_string(batch) + " --ctx " +
                          std::to_string(ctx) + " --steps " + std::to_string(steps) + " --threads " +
                          std::to_string(threads) + " 2>/dev/null";
  std::FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {};
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  if (!j.is_object() || !j.contains("tokens_per_s")) {
    std::fprintf(stderr, "bench_train: PyTorch run failed (%s): %s\n", cmd.c_str(), out.c_str());
    return {};
  }
  return {j["tokens_per_s"].get<double>(), j["tokens_per_cpu_s"].get<double>()};
}

// Matrix FLOPs of one training step per token: forward 2 per weight of every product (layers and
// classifier) plus attention's Q K^T and P V over the full T x T (as the CUDA backend runs them),
// backward twice the forward.
double trainFlopsPerToken(const LlamaConfig& c, int ctx) {
  const double D = c.dim, KV = c.kvDim(), H = c.hidden_dim, V = c.vocab_size, L = c.n_layers;
  const double matrix_params = L * (2 * D * D + 2 * D * KV + 3 * D * H) + D * V;
  const double attention = L * 4.0 * ctx * D;  // 2 products x 2 flops x T x (heads x head_dim)
  return 3.0 * (2.0 * matrix_params + attention);
}

// cuBLAS SGEMM throughput (FLOP/s) of n x n x n products through `be` (best of 5 after a warm-up).
double gemmPeak(TrainBackend& be, int64_t n) {
  auto a = be.alloc(size_t(n * n) * 4), b = be.alloc(size_t(n * n) * 4), c = be.alloc(size_t(n * n) * 4);
  if (!a || !b || !c) return 0;
  auto* pa = static_cast<float*>(a->data());
  auto* pb = static_cast<float*>(b->data());
  auto* pc = static_cast<float*>(c->data());
  be.linearForward(pa, pb, pc, n, n, n);
  be.synchronize();
  double best = 0;
  for (int r = 0; r < 5; ++r) {
    const double t0 = wallNow();
    for (int i = 0; i < 3; ++i) be.linearForward(pa, pb, pc, n, n, n);
    be.synchronize();
    best = std::max(best, 3 * 2.0 * double(n) * n * n / (wallNow() - t0));
  }
  return be.lastError().empty() ? best : 0;
}

int cudaBench(const LlamaConfig& c, int batch, int ctx, int steps, bool tf32) {
  std::shared_ptr<TrainBackend> be;
  {
    Result<std::unique_ptr<TrainBackend>> r = createTrainBackend("cuda", TrainBackendOptions{0, 0, tf32});
    if (!r) {
      std::printf("bench_train: GPU part skipped: %s\n", r.error().message.c_str());
      return 0;
    }
    be = std::move(*r);
  }
  std::printf("device: %s; products: %s\n", be->deviceName().c_str(), be->gemmName().c_str());
  double peak_f32 = 0, peak_tf32 = 0;
  for (bool t : {false, true}) {
    Result<std::unique_ptr<TrainBackend>> r = createTrainBackend("cuda", TrainBackendOptions{0, 0, t});
    if (!r) continue;
    (t ? peak_tf32 : peak_f32) = gemmPeak(**r, 8192);
  }
  std::printf("cuBLAS 8192^3 products: %.1f TFLOP/s f32, %.1f TFLOP/s tf32\n", peak_f32 / 1e12, peak_tf32 / 1e12);
  const std::vector<int32_t> stream = test::tokenStream(size_t(batch) * size_t(ctx) * 8 + 1, 1, c.vocab_size);
  TrainOptions o;
  o.batch = batch;
  o.ctx = ctx;
  o.steps = steps + 2;
  o.adam.lr = 1e-4f;
  o.train_backend = be;
  auto tr = Trainer::create(TrainParams::init(c, 1), o, stream, stream);
  if (!tr) {
    std::fprintf(stderr, "bench_train: %s\n", tr.error().message.c_str());
    return 1;
  }
  for (int i = 0; i < 2; ++i)
    if (auto s = (*tr)->step(); !s) {
      std::fprintf(stderr, "bench_train: %s\n", s.error().message.c_str());
      return 1;
    }
  const double w0 = wallNow();
  double loss = 0;
  for (int i = 0; i < steps; ++i) {
    auto s = (*tr)->step();
    if (!s) {
      std::fprintf(stderr, "bench_train: %s\n", s.error().message.c_str());
      return 1;
    }
    loss = s->loss;
  }
  const double secs = wallNow() - w0, tokens = double(steps) * batch * ctx;
  const double flops = trainFlopsPerToken(c, ctx) * tokens / secs, peak = tf32 ? peak_tf32 : peak_f32;
  std::printf("\n| | value |\n|---|---|\n| training tokens/s (cuda%s) | %.0f |\n| step time | %.1f ms |\n"
              "| model TFLOP/s | %.2f |\n| fraction of cuBLAS %s peak (%.1f TFLOP/s) | %.1f%% |\n| last loss | %.4f |\n",
              tf32 ? ", tf32" : "", tokens / secs, 1e3 * secs / steps, flops / 1e12, tf32 ? "tf32" : "f32", peak / 1e12,
              peak > 0 ? 100.0 * flops / peak : 0.0, loss);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (flag(argc, argv, "--help")) {
    std::printf("bench_train [--threads N] [--steps S] [--batch B] [--ctx C] [--rounds R] [--python PATH]\n"
                "            [--no-torch] [--demo] [--demo-dir DIR] [--backend cpu|cuda] [--preset NAME] [--tf32]\n");
    return 0;
  }
  const std::string backend = arg(argc, argv, "--backend", "cpu"), preset = arg(argc, argv, "--preset", "");
  if (backend != "cpu" && backend != "cuda") {
    std::fprintf(stderr, "bench_train: --backend '%s' is not one of cpu, cuda\n", backend.c_str());
    return 2;
  }
  const int threads = std::atoi(arg(argc, argv, "--threads", "1"));
  const int steps = std::atoi(arg(argc, argv, "--steps", "10"));
  const int rounds = std::atoi(arg(argc, argv, "--rounds", "2"));
  const DemoConfig demo = defaultDemoConfig();
  LlamaConfig c = demo.teacher;
  c.vocab_size = demo.vocab_size;
  int def_batch = demo.batch, def_ctx = demo.ctx;
  if (!preset.empty()) {
    Result<LlamaConfig> pc = presetConfig(preset);
    if (!pc) {
      std::fprintf(stderr, "bench_train: --preset: %s\n", pc.error().message.c_str());
      return 2;
    }
    c = *pc;
    def_batch = 8;
    def_ctx = std::min(512, c.context_length);
  }
  const int batch = std::atoi(arg(argc, argv, "--batch", std::to_string(def_batch).c_str()));
  const int ctx = std::atoi(arg(argc, argv, "--ctx", std::to_string(def_ctx).c_str()));
  if (backend == "cuda") {
    std::printf("shape: dim %d, hidden %d, %d layers, %d heads / %d KV, vocab %d (%lld parameters); batch %d x %d "
                "tokens; %d steps\n",
                c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, (long long)c.parameterCount(),
                batch, ctx, steps);
    return cudaBench(c, batch, ctx, steps, flag(argc, argv, "--tf32"));
  }
  const std::string python = arg(argc, argv, "--python", "python3");
  const std::string script = std::string(PRECIS_SOURCE_DIR) + "/tests/bench/bench_train_torch.py";
  const bool torch = !flag(argc, argv, "--no-torch");

  std::printf("shape: dim %d, hidden %d, %d layers, %d heads / %d KV, vocab %d (%lld parameters); batch %d x %d "
              "tokens; %d steps per round, %d rounds, %d thread(s)\n",
              c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, (long long)c.parameterCount(),
              batch, ctx, steps, rounds, threads);
  Speed ours, theirs;
  for (int r = 0; r < rounds; ++r) {  // alternate, keep the best of each side
    const Speed a = precisSpeed(c, batch, ctx, steps, threads);
    std::printf("round %d precis : %9.1f tok/s wall, %9.1f tok/s CPU\n", r + 1, a.wall, a.cpu);
    ours = {std::max(ours.wall, a.wall), std::max(ours.cpu, a.cpu)};
    if (!torch) continue;
    const Speed b = torchSpeed(python, script, c, batch, ctx, steps, threads);
    std::printf("round %d pytorch: %9.1f tok/s wall, %9.1f tok/s CPU\n", r + 1, b.wall, b.cpu);
    theirs = {std::max(theirs.wall, b.wall), std::max(theirs.cpu, b.cpu)};
  }
  std::printf("\n| | wall tok/s | CPU tok/s |\n|---|---|---|\n| precis | %.1f | %.1f |\n", ours.wall, ours.cpu);
  if (theirs.wall > 0)
    std::printf("| pytorch | %.1f | %.1f |\n| precis / pytorch | %.2fx | %.2fx |\n", theirs.wall, theirs.cpu,
                ours.wall / theirs.wall, ours.cpu / theirs.cpu);

  if (flag(argc, argv, "--demo")) {
    const std::string dir = arg(argc, argv, "--demo-dir", (std::filesystem::temp_directory_path() / "precis-bench-demo").c_str());
    DemoConfig d = defaultDemoConfig();
    d.threads = threads;
    const double w0 = wallNow(), c0 = cpuNow();
    auto r = buildDemoModels(d, dir, {}, /*force=*/true);
    const double wall = wallNow() - w0, cpu = cpuNow() - c0;
    if (!r) {
      std::fprintf(stderr, "bench_train: demo models: %s\n", r.error().message.c_str());
      return 1;
    }
    std::printf("\ndemo models (%s): %.1f s wall, %.1f s CPU with %d thread(s) (target: under 180 s on 2 cores); "
                "teacher perplexity %.3f (floor %.3f), student KL %.4f\n",
                dir.c_str(), wall, cpu, threads, r->teacher_ppl, std::exp(r->entropy_floor), r->student_kl);
  }
  return 0;
}
