// The training loop shared by `precis-cli train` and `precis-cli distill` (see train_cli.h).
// Tested by tests/cli/test_cli_train.cpp.
#include "app/cli/train_cli.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/run_logging.h"
#include "engine/eval/token_input.h"
#include "engine/log/envelope.h"
#include "engine/model/gguf_writer.h"
#include "engine/model/presets.h"
#include "engine/train/quant_aware.h"

namespace precis::cli {
namespace {

// A signal handler can reach only static storage: this flag is the one piece of process-wide state,
// set by SIGINT/SIGTERM while a job runs and read by the trainer's should_stop between steps.
volatile std::sig_atomic_t g_stop_requested = 0;
extern "C" void onStopSignal(int) { g_stop_requested = 1; }

// Installs the handlers for the lifetime of a job and restores the previous ones.
class StopSignals {
 public:
  StopSignals() {
    g_stop_requested = 0;
    prev_int_ = std::signal(SIGINT, onStopSignal);
    prev_term_ = std::signal(SIGTERM, onStopSignal);
  }
  ~StopSignals() {
    std::signal(SIGINT, prev_int_);
    std::signal(SIGTERM, prev_term_);
  }
  bool requested() const { return g_stop_requested != 0; }

 private:
  void (*prev_int_)(int) = SIG_DFL;
  void (*prev_term_)(int) = SIG_DFL;
};

std::string absolutePath(const std::string& p) {
  std::error_code ec;
  const std::filesystem::path a = std::filesystem::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

bool isPathOption(const std::string& k) {
  return k == "--data" || k == "--tokens" || k == "--teacher" || k == "--student" || k == "--student-config" ||
         k == "--config" || k == "--tokenizer" || k == "--out";
}

// The experiment-log side of a job: nothing at all with --no-log.
class JobLog {
 public:
  Status start(const ParsedArgs& args, const TrainJob& job, const TrainOptions& o) {
    if (args.has("--no-log")) return {};
    Result<std::unique_ptr<RunStore>> store = openRunStore(args);
    if (!store) return makeError(store.error().message + " (use --no-log to run without logging)");
    store_ = std::move(*store);
    std::map<std::string, std::string> params = job.params;
    for (const auto& [k, v] : args.values)
      if (k != "--json" && k != "--db" && k != "--no-log" && k != "--quiet")
        params[k.substr(2)] = isPathOption(k) ? absolutePath(v) : v;
    EnvelopeInputs in;
    in.device = job.device;
    in.model_path = job.model_path.empty() ? "" : absolutePath(job.model_path);
    in.data_path = args.has("--data") ? absolutePath(args.get("--data"))
                   : args.has("--tokens") ? absolutePath(args.get("--tokens")) : "";
    in.data_digest = job.data_digest;
    in.seed = o.seed;
    for (const auto& [k, v] : params) in.knobs[k] = v;
    Result<nlohmann::ordered_json> env = collectEnvelope(in);
    if (!env) return env.error();
    recorder_ = std::make_unique<RunRecorder>(*store_);
    return recorder_->start(job.command, params, nlohmann::json(*env));
  }
  // Metric failures are kept and reported once at the end (the run itself goes on).
  void metrics(const std::map<std::string, double>& m, int64_t step) {
    if (!recorder_) return;
    if (Status s = recorder_->logMetrics(m, step); !s && error_.empty()) error_ = s.error().message;
  }
  Status finish(RunStatus status, const std::string& command) {
    if (!recorder_) return {};
    if (!error_.empty()) return makeError("experiment log: " + error_);
    if (Status s = recorder_->finish(status); !s) return s;
    std::cerr << "precis-cli " << command << ": logged run " << recorder_->id() << " to " << store_->path() << "\n";
    return {};
  }
  int64_t id() const { return recorder_ ? recorder_->id() : 0; }

 private:
  std::unique_ptr<RunStore> store_;
  std::unique_ptr<RunRecorder> recorder_;  // destroyed first; FAILED unless finished
  std::string error_;
};

// Writes the final model: the trained weights (checkpoint + optimizer state), then, with
// quantization-aware training, the quantized student in its place.
Status writeFinal(const Trainer& trainer, const TrainJob& job, std::string* note) {
  if (Status s = trainer.saveCheckpoint(job.out, job.tokenizer, job.name); !s) return s;
  if (!job.quantize) return {};
  Result<QuantizedModel> q = quantizedStudent(trainer.params(), *job.quantize, job.tokenizer, job.name);
  if (!q) return makeError(job.out + ": quantizing the student: " + q.error().message);
  if (Status s = writeGguf(q->model, job.out); !s) return s;
  char bits[32];
  std::snprintf(bits, sizeof bits, "%.3f", q->report.quantized_bits_per_weight);
  *note = "weights " + weightSpecName(job.quantize->weights) + " (" + bits + " bits per quantized weight" +
          (q->report.simulated_tensors ? "; GGUF has no such type: stored as f32 values on the format's grid)" : ")");
  return {};
}

}  // namespace

std::vector<OptionSpec> trainLoopOptions() {
  return {{"--steps", "N", "optimizer steps (default 200)"},
          {"--batch", "B", "sequences per step (default 8)"},
          {"--ctx", "C", "tokens per sequence (default: 64 or the models' context length if shorter)"},
          {"--lr", "LR", "peak learning rate of AdamW (default 3e-3)"},
          {"--warmup", "N", "linear warm-up steps (default 10, or a tenth of --steps if fewer), then cosine decay"},
          {"--min-lr", "R", "cosine floor as a fraction of --lr (default 0.1)"},
          {"--weight-decay", "W", "AdamW decoupled weight decay on matrices (default 0.1)"},
          {"--clip", "X", "global gradient-norm clip, 0 = off (default 1)"},
          {"--eval-every", "N", "held-out evaluation every N steps, and at the end (default 50; 0 = end only)"},
          {"--eval-windows", "N", "held-out windows of C+1 tokens per evaluation (default 16)"},
          {"--heldout", "F", "fraction of the data held out for evaluation (default 0.1)"},
          {"--seed", "S", "seed of initialisation, batch order and --sample (default 0)"},
          {"--threads", "N", "CPU threads (default: all cores)"},
          {"--train-backend", "NAME", "where the training steps run: cpu (default), cuda (weights, gradients and AdamW state on the GPU) or auto"},
          {"--tf32", "", "with --train-backend cuda: let cuBLAS use TF32 tensor cores for the f32 products"},
          {"--checkpoint-every", "N", "write --out and OUT.optim every N steps (default 0: at the end and on Ctrl-C)"},
          {"--resume", "", "continue from --out's OUT.optim (same options: the same trajectory)"},
          {"--pause-at", "N", "stop after step N with a checkpoint, as Ctrl-C does but exit code 0 (resume later)"},
          {"--log-every", "N", "progress line every N steps (default 1)"},
          {"--quiet", "", "no progress lines"},
          {"--json", "", "print the summary as one JSON object"},
          dbOption(),
          noLogOption()};
}

std::vector<OptionSpec> quantAwareOptions() {
  return {{"--quantize", "FORMAT", "quantization-aware: train through fake-quantized weights (int8, int4, int4-asym, nf4, fp8-e4m3, fp8-e5m2, q8_0, q4_0, ...) and write the quantized student"},
          {"--granularity", "G", "scales for --quantize: tensor, channel (default), group:N"},
          {"--calibration", "C", "clipping for --quantize: max (default), percentile:P, mse"},
          {"--quantize-embeddings", "", "quantize token_embd/output too (kept by default)"},
          {"--activations", "A", "with --quantize, also train through fake-quantized matmul inputs: none (default), int8, fp8-e4m3 (per token)"}};
}

Result<std::optional<QuantScheme>> quantAwareScheme(const ParsedArgs& args) {
  if (!args.has("--quantize")) {
    for (const char* k : {"--granularity", "--calibration", "--quantize-embeddings", "--activations"})
      if (args.has(k)) return makeError(std::string(k) + " needs --quantize");
    return std::optional<QuantScheme>{};
  }
  Result<QuantScheme> s = quantAwareSchemeFrom(args.get("--quantize"), args.get("--granularity"),
                                               args.get("--calibration"), args.has("--quantize-embeddings"));
  if (!s) return s.error();
  QuantScheme scheme = *s;
  if (args.has("--activations")) {
    Result<ActFormat> a = parseActFormat(args.get("--activations"));
    if (!a) return makeError("--activations: " + a.error().message);
    scheme.activations = *a;
    scheme.act_granularity = ActGranularity::Token;
  }
  return std::optional<QuantScheme>{scheme};
}

std::optional<TrainOptions> trainOptionsFromArgs(const ParsedArgs& args, std::string& err) {
  TrainOptions o;
  o.steps = 200;
  o.adam.lr = 3e-3f;
  auto integer = [&](const char* k, long long def, long long lo, long long hi) {
    return intOption(args, k, def, lo, hi, err);
  };
  auto number = [&](const char* k, double def, double lo, double hi) -> std::optional<double> {
    if (!args.has(k)) return def;
    return parseNumber(k, args.get(k), lo, hi, err);
  };
  const auto steps = integer("--steps", 200, 1, 100000000), batch = integer("--batch", 8, 1, 4096);
  if (!steps || !batch) return std::nullopt;
  const auto ctx = integer("--ctx", 0, 2, 1 << 20),
             warmup = integer("--warmup", std::min<long long>(10, steps.value_or(0) / 10), 0, 100000000);
  if (!ctx || !warmup) return std::nullopt;
  const auto eval_every = integer("--eval-every", 50, 0, 100000000), windows = integer("--eval-windows", 16, 1, 1 << 20);
  if (!eval_every || !windows) return std::nullopt;
  const auto seed = integer("--seed", 0, 0, INT64_MAX), threads = integer("--threads", 0, 0, 4096);
  if (!seed || !threads) return std::nullopt;
  const auto lr = number("--lr", 3e-3, 1e-9, 10), min_lr = number("--min-lr", 0.1, 0, 1);
  if (!lr || !min_lr) return std::nullopt;
  const auto wd = number("--weight-decay", 0.1, 0, 10), clip = number("--clip", 1.0, 0, 1e9);
  if (!wd || !clip) return std::nullopt;
  o.steps = *steps;
  o.batch = int(*batch);
  o.ctx = int(*ctx);
  o.warmup = std::min<int64_t>(*warmup, o.steps);
  o.eval_every = *eval_every;
  o.eval_windows = int(*windows);
  o.seed = uint64_t(*seed);
  o.threads = int(*threads);
  o.adam.lr = float(*lr);
  o.min_lr_ratio = float(*min_lr);
  o.adam.weight_decay = float(*wd);
  o.backend = args.get("--train-backend", "cpu");
  if (o.backend != "cpu" && o.backend != "cuda" && o.backend != "auto") {
    err = "--train-backend: '" + o.backend + "' is not one of cpu, cuda, auto";
    return std::nullopt;
  }
  o.tf32 = args.has("--tf32");
  if (o.tf32 && o.backend == "cpu") {
    err = "--tf32 needs --train-backend cuda or auto";
    return std::nullopt;
  }
  o.clip = *clip;
  return o;
}

std::optional<double> heldoutFromArgs(const ParsedArgs& args, std::string& err) {
  if (!args.has("--heldout")) return 0.1;
  return parseNumber("--heldout", args.get("--heldout"), 0.001, 0.9, err);
}

Result<TokenSplit> loadDataFromArgs(const ParsedArgs& args, const Tokenizer* tokenizer, int vocab, double heldout) {
  const bool tokens = args.has("--tokens");
  const std::string path = tokens ? args.get("--tokens") : args.get("--data");
  if (!tokens && !tokenizer)
    return makeError(path + ": a text file needs a tokenizer (the model has none; give --tokens FILE of ids)");
  return loadTrainingData(path, tokens, tokenizer, vocab, heldout);
}

int runTrainJob(const CommandSpec& spec, const ParsedArgs& args, const TrainJob& job, TrainParams init,
                const TrainOptions& options, TokenSplit data, TeacherFn teacher) {
  std::string err;
  const std::optional<long long> ckpt_every = intOption(args, "--checkpoint-every", 0, 0, INT64_MAX, err);
  const std::optional<long long> log_every = intOption(args, "--log-every", 1, 1, INT64_MAX, err);
  const std::optional<long long> pause_at = intOption(args, "--pause-at", 0, 1, INT64_MAX, err);
  if (!ckpt_every || !log_every || !pause_at) return usageError(spec, err);
  const bool quiet = args.has("--quiet"), json = args.has("--json");
  const bool distilling = bool(teacher);
  const int64_t train_tokens = int64_t(data.train.size()), heldout_tokens = int64_t(data.heldout.size());

  TrainOptions o = options;
  std::optional<QuantAwarePlan> plan;
  if (job.quantize) {
    Result<QuantAwarePlan> p = planQuantAware(init, *job.quantize);
    if (!p) return runtimeError(spec, p.error().message);
    plan = std::move(*p);
    applyQuantAware(*plan, o);
  }
  Result<std::unique_ptr<Trainer>> trainer =
      Trainer::create(std::move(init), o, std::move(data.train), std::move(data.heldout), std::move(teacher));
  if (!trainer) return runtimeError(spec, trainer.error().message);
  Trainer& tr = **trainer;
  if (args.has("--resume")) {
    const std::string optim = job.out + ".optim";
    if (Status s = tr.loadOptimizerState(optim); !s)
      return runtimeError(spec, s.error().message + " (--resume continues the run that wrote --out " + job.out + ")");
    if (tr.stepsDone() >= o.steps)
      return runtimeError(spec, optim + ": already at step " + std::to_string(tr.stepsDone()) + " of --steps " +
                                    std::to_string(o.steps) + "; raise --steps to train further");
    if (!quiet) std::fprintf(stderr, "resuming from %s at step %lld\n", optim.c_str(), (long long)tr.stepsDone());
  }

  JobLog log;
  if (Status s = log.start(args, job, o); !s) return runtimeError(spec, s.error().message);
  if (!quiet) {
    std::fprintf(stderr, "%s: %lld parameters, %lld training and %lld held-out tokens, %lld steps of %d x %d tokens\n",
                 job.command.c_str(), (long long)tr.params().count(), (long long)train_tokens,
                 (long long)heldout_tokens, (long long)o.steps, o.batch, o.ctx);
    if (plan) std::fprintf(stderr, "quantization-aware: %s\n", plan->summary.c_str());
    if (!tr.backendNote().empty()) std::fprintf(stderr, "%s\n", tr.backendNote().c_str());
    if (tr.backendName() != "cpu") std::fprintf(stderr, "training on %s\n", tr.backendName().c_str());
  }

  StopSignals signals;
  Status checkpoint_error;
  EvalMetrics last_eval;
  bool evaluated = false;
  TrainCallbacks cb;
  cb.should_stop = [&] { return signals.requested() || (*pause_at > 0 && tr.stepsDone() >= *pause_at); };
  cb.on_step = [&](const StepMetrics& m) {
    std::map<std::string, double> metrics{{"loss", m.loss}, {"ce", m.ce}, {"lr", m.lr},
                                          {"grad_norm", m.grad_norm}, {"tokens_per_s", m.tokens_per_s}};
    if (distilling) {
      metrics["kl"] = m.kl;
      metrics["agreement"] = m.agreement;
    }
    log.metrics(metrics, m.step);
    if (!quiet && (m.step % *log_every == 0 || m.step == o.steps)) {
      if (distilling)
        std::fprintf(stderr, "step %5lld/%lld  loss %.4f  ce %.4f  kl %.4f  agree %5.1f%%  lr %.2e  %6.0f tok/s\n",
                     (long long)m.step, (long long)o.steps, m.loss, m.ce, m.kl, 100 * m.agreement, m.lr, m.tokens_per_s);
      else
        std::fprintf(stderr, "step %5lld/%lld  loss %.4f  lr %.2e  %6.0f tok/s\n", (long long)m.step,
                     (long long)o.steps, m.loss, m.lr, m.tokens_per_s);
    }
    if (*ckpt_every > 0 && m.step % *ckpt_every == 0 && m.step < o.steps && checkpoint_error)
      checkpoint_error = tr.saveCheckpoint(job.out, job.tokenizer, job.name);
  };
  cb.on_eval = [&](const EvalMetrics& e) {
    last_eval = e;
    evaluated = true;
    std::map<std::string, double> metrics{{"heldout_ce", e.ce}, {"heldout_perplexity", e.perplexity}};
    if (distilling) {
      metrics["heldout_kl"] = e.kl;
      metrics["heldout_agreement"] = e.agreement;
    }
    log.metrics(metrics, e.step);
    if (quiet) return;
    if (distilling)
      std::fprintf(stderr, "eval step %lld: held-out ce %.4f  perplexity %.3f  kl %.4f  agree %.1f%%  (%lld tokens)\n",
                   (long long)e.step, e.ce, e.perplexity, e.kl, 100 * e.agreement, (long long)e.tokens);
    else
      std::fprintf(stderr, "eval step %lld: held-out ce %.4f  perplexity %.3f  (%lld tokens)\n", (long long)e.step, e.ce,
                   e.perplexity, (long long)e.tokens);
  };

  const auto t0 = std::chrono::steady_clock::now();
  const Status run = tr.run(cb);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!run) return runtimeError(spec, run.error().message);
  if (!checkpoint_error) return runtimeError(spec, checkpoint_error.error().message);
  if (tr.cancelled()) {
    if (Status s = tr.saveCheckpoint(job.out, job.tokenizer, job.name); !s) return runtimeError(spec, s.error().message);
    log.metrics({{"seconds", seconds}}, tr.stepsDone());
    if (Status s = log.finish(RunStatus::Interrupted, job.command); !s) return runtimeError(spec, s.error().message);
    const bool paused = !signals.requested();
    std::fprintf(stderr, "precis-cli %s: %s after step %lld; checkpoint written to %s (+ .optim); "
                 "continue with the same command and --resume\n",
                 job.command.c_str(), paused ? "paused" : "cancelled", (long long)tr.stepsDone(), job.out.c_str());
    return paused ? kExitOk : kExitCancelled;
  }
  std::string note;
  if (Status s = writeFinal(tr, job, &note); !s) return runtimeError(spec, s.error().message);
  log.metrics({{"seconds", seconds}}, tr.stepsDone());
  if (Status s = log.finish(RunStatus::Finished, job.command); !s) return runtimeError(spec, s.error().message);
  if (json) {
    nlohmann::ordered_json j{{"out", job.out}, {"steps", tr.stepsDone()}, {"parameters", tr.params().count()},
                             {"seconds", seconds}, {"run", log.id()}};
    if (evaluated) {
      j["heldout"] = {{"ce", last_eval.ce}, {"perplexity", last_eval.perplexity}, {"tokens", last_eval.tokens}};
      if (distilling) {
        j["heldout"]["kl"] = last_eval.kl;
        j["heldout"]["agreement"] = last_eval.agreement;
      }
    }
    if (job.quantize) j["quantized"] = note;
    std::cout << j.dump(2) << "\n";
  } else {
    std::printf("wrote %s: %lld parameters after %lld steps (%.1f s)%s%s\n", job.out.c_str(),
                (long long)tr.params().count(), (long long)tr.stepsDone(), seconds, note.empty() ? "" : ", ",
                note.c_str());
    if (evaluated && distilling)
      std::printf("held-out: cross-entropy %.4f nats/token, perplexity %.3f, KL to teacher %.4f, top-1 agreement %.1f%%\n",
                  last_eval.ce, last_eval.perplexity, last_eval.kl, 100 * last_eval.agreement);
    else if (evaluated)
      std::printf("held-out: cross-entropy %.4f nats/token, perplexity %.3f\n", last_eval.ce, last_eval.perplexity);
  }
  return kExitOk;
}

}  // namespace precis::cli
