// Trainer: trains a Llama-family model on the CPU from a token stream, from scratch (hard labels)
// or by distillation from a teacher's logits (alpha * T^2 * KL + (1 - alpha) * CE), with AdamW,
// warm-up + cosine schedule, gradient clipping, periodic held-out evaluation, live metrics and
// cancellation through callbacks, and GGUF checkpoints plus optimizer state for resume.
// Batches: step s, row b reads the window of ctx+1 tokens starting at a position drawn from a
// splitmix64 hash of (seed, s, b), so a resumed run draws the same batches as an uninterrupted one.
// With options.backend "cuda" (or a TrainBackend given in options.train_backend) the steps and the
// held-out evaluation run on a DeviceTrainGraph; params() and checkpoints copy the state back.
// Tested by tests/train/test_trainer.cpp (overfits a batch, resume == uninterrupted, cancel,
// checkpoint loads through loadModel), tests/train/test_distill.cpp and
// tests/train/test_trainer_device.cpp (the device path on the CPU TrainBackend == the CPU path).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/core/thread_pool.h"
#include "engine/quant/scheme.h"
#include "engine/train/adamw.h"
#include "engine/train/train_backend.h"
#include "engine/train/train_params.h"
#include "kernels/cpu/train_ops.h"

namespace precis {

class LlamaRuntime;

// Teacher logits for `batch` sequences of `ctx` tokens each (tokens (batch*ctx), each sequence
// from position 0): writes (batch*ctx, vocab) floats.
using TeacherFn = std::function<Status(std::span<const int32_t> tokens, int batch, int ctx, float* logits)>;
// A teacher backed by a LlamaRuntime created with max_slots >= batch, max_ctx >= ctx.
TeacherFn runtimeTeacher(LlamaRuntime& runtime);

struct TrainOptions {
  int batch = 8;                 // sequences per step
  int ctx = 64;                  // tokens per sequence
  int64_t steps = 100;           // total optimizer steps
  AdamWConfig adam;
  int64_t warmup = 10;           // warm-up steps
  float min_lr_ratio = 0.1f;     // cosine floor, as a fraction of adam.lr
  double clip = 1.0;             // global gradient-norm clip (0 = off)
  cpu::DistillParams distill;    // alpha, temperature (alpha 0 without a teacher)
  int64_t eval_every = 50;       // held-out evaluation period in steps (0 = only at the end)
  int eval_windows = 16;         // held-out windows of ctx+1 tokens
  uint64_t seed = 0;             // batch sampling
  int threads = 0;               // 0 = hardware threads
  // Quantization-aware training: maps the fp32 master weights to the weights the forward uses
  // (fake-quantized); gradients of those weights update the master unchanged (straight-through).
  std::function<void(const TrainParams& master, TrainParams& effective)> weight_transform;
  // Where the steps run: "cpu" (TrainGraph on the host), "cuda" (DeviceTrainGraph on the GPU:
  // weights, gradients and AdamW moments stay on the device; an error without a GPU) or "auto"
  // (CUDA when available, else the CPU, with Trainer::backendNote() saying why).
  std::string backend = "cpu";
  bool tf32 = false;  // CUDA: let cuBLAS use TF32 tensor cores for the f32 products
  // Runs the DeviceTrainGraph on this backend instead of `backend` (tests drive the device path
  // on the CPU TrainBackend with it).
  std::shared_ptr<TrainBackend> train_backend;
  // Quantization-aware training of activations: linear-layer inputs fake-quantized per token in the
  // forward, straight-through in the backward (TrainGraph::setActivationQuant); the classifier's
  // input too with quantize_classifier_input. Applies to evaluate() as well.
  ActFormat activations = ActFormat::None;
  bool quantize_classifier_input = false;
};

struct StepMetrics {
  int64_t step = 0;              // 1-based, after the update
  double loss = 0, ce = 0;       // training objective and cross-entropy (nats/token)
  double kl = 0, agreement = 0;  // vs the teacher at T = 1 (0 without one)
  double lr = 0, grad_norm = 0, tokens_per_s = 0;
};
struct EvalMetrics {
  int64_t step = 0;
  double ce = 0, perplexity = 0;  // held-out cross-entropy and exp(ce)
  double kl = 0, agreement = 0;   // held-out, vs the teacher (0 without one)
  int64_t tokens = 0;
};
struct TrainCallbacks {
  std::function<void(const StepMetrics&)> on_step;
  std::function<void(const EvalMetrics&)> on_eval;
  std::function<bool()> should_stop;  // polled before every step; true cancels (run returns ok)
};

class Trainer {
 public:
  // `train` and `heldout` are token streams (each at least ctx + 1 tokens); `teacher` may be empty
  // (then options.distill.alpha must be 0).
  static Result<std::unique_ptr<Trainer>> create(TrainParams init, const TrainOptions& options,
                                                 std::vector<int32_t> train, std::vector<int32_t> heldout,
                                                 TeacherFn teacher = {});
  ~Trainer();
  // Runs steps until options.steps or cancellation; evaluates every eval_every steps and at the end.
  Status run(const TrainCallbacks& callbacks = {});
  // One optimizer step.
  Result<StepMetrics> step();
  // Held-out evaluation (teacher logits of the held-out windows are computed once and kept).
  Result<EvalMetrics> evaluate();

  int64_t stepsDone() const;
  // "cpu" or the TrainBackend's name and device ("cuda: NVIDIA H100 (sm_90)"), and why "auto" fell
  // back to the CPU ("" when it did not).
  std::string backendName() const;
  std::string backendNote() const;
  bool cancelled() const;
  const TrainParams& params() const;
  TrainParams& mutableParams();
  const TrainOptions& options() const;

  // Writes the weights as a GGUF (with `tokenizer`) and the optimizer state to `path + ".optim"`.
  Status saveCheckpoint(const std::string& path, const TokenizerData& tokenizer, const std::string& name) const;
  // Restores optimizer state and step count written by saveCheckpoint (weights come from the GGUF).
  Status loadOptimizerState(const std::string& optim_path);

 private:
  struct Impl;
  explicit Trainer(std::unique_ptr<Impl> impl);
  Result<StepMetrics> deviceStep(std::chrono::steady_clock::time_point t0);
  std::unique_ptr<Impl> impl_;
};

}  // namespace precis
