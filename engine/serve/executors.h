// Step executors for the serving loop (simulator.h):
//   RuntimeExecutor  runs every step on the real model (one LlamaRuntime::forward over the tokens
//                    of all entries, padding included), greedy-samples, and reports the measured
//                    wall time of the call (clock "measured"). The runtime's paged KV pool is the
//                    scheduler's (runtimeOptionsFor): blocks the scheduler frees go back to it.
//   CostModel        step time = c0 + c_tok x tokens + c_att x attended positions + c_out x sampled
//                    rows, fitted by least squares (non-negative) to steps measured on the runtime
//                    (calibrate()); ModelExecutor replays a schedule on it (clock "model": no
//                    forward runs, sampled tokens are 0, times are predictions).
// makePolicyExecutor picks one of the two for a policy's run (serve-sim and the workbench).
// Tested by tests/serve/test_serve_runtime.cpp (batched greedy outputs equal single-request ones;
// the fit recovers a known linear cost), and through serve-sim and the Serve panel
// (tests/cli serve-sim suites, tests/ui/test_serve_panel.cpp, tests/ui/test_serve_timeline.cpp).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/runtime/llama_runtime.h"
#include "engine/serve/simulator.h"

namespace precis {

// How a measured step is timed: wall time (steady_clock), or the calling thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID). Thread CPU time is exact only for a CPU backend with 1 thread (the
// pool then runs every op inline on the caller); it leaves out time the OS gave to other processes,
// which makes runs on a shared, loaded machine comparable. Both are measurements, not models.
enum class StepTimer { Wall, ThreadCpu };
const char* stepTimerName(StepTimer t);  // "wall", "thread-cpu"

// Runtime options whose KV cache is exactly the scheduler's budget: its runtime slots, the
// context per slot, and kvBlocksFor(config) blocks of block_size positions.
RuntimeOptions runtimeOptionsFor(const SchedulerConfig& config, int max_batch_tokens);

class RuntimeExecutor : public StepExecutor {
 public:
  // Starts from an empty KV cache (every slot released).
  explicit RuntimeExecutor(LlamaRuntime& runtime, StepTimer timer = StepTimer::Wall);
  Result<StepResult> run(const StepPlan& plan) override;
  std::string clock() const override { return "measured"; }

 private:
  LlamaRuntime& rt_;
  StepTimer timer_;
  std::vector<BatchToken> batch_;
  std::vector<float> logits_;
};

struct StepFeatures {
  double tokens = 0;    // tokens computed (padding included)
  double attended = 0;  // sum over tokens of the positions each attends to (pos + 1)
  double sampled = 0;   // rows of vocabulary logits
};
StepFeatures stepFeatures(const StepPlan& plan);

struct CostModel {
  double c0 = 0, c_tok = 0, c_att = 0, c_out = 0;
  int points = 0;
  double median_rel_error = 0, max_rel_error = 0;  // on the points it was fitted to
  double predict(const StepFeatures& f) const { return c0 + c_tok * f.tokens + c_att * f.attended + c_out * f.sampled; }
  std::string describe() const;
};

struct CostSample {
  StepFeatures features;
  double seconds = 0;
};
Result<CostModel> fitCostModel(const std::vector<CostSample>& samples);

// Measures a grid of steps on `runtime` (decode batches of 1..slots sequences at several
// contexts, prefill chunks; median of `repeats` runs each; steps needing more KV blocks than the
// pool holds are left out) and fits the cost model. Releases every slot (call before a run, not
// during one). `cancelled`, polled before every measured step, stops it with an error saying so.
Result<CostModel> calibrate(LlamaRuntime& runtime, int token_budget, int repeats = 3,
                            std::vector<CostSample>* samples_out = nullptr, StepTimer timer = StepTimer::Wall,
                            const std::function<bool()>& cancelled = {});

// The cost model of `precis-cli serve-sim --clock model` for a set of policies' runs: calibrate() on
// a runtime of `model` with room for every policy's runtime slots (a full context for each, so no
// KV pressure while measuring) and the largest token budget. Shared by serve-sim and the workbench.
Result<CostModel> calibrateForPolicies(const Model& model, Backend& backend, const std::vector<SchedulerConfig>& configs,
                                       int max_batch_tokens, StepTimer timer = StepTimer::Wall,
                                       const std::function<bool()>& cancelled = {});

class ModelExecutor : public StepExecutor {
 public:
  explicit ModelExecutor(CostModel model) : model_(model) {}
  Result<StepResult> run(const StepPlan& plan) override;
  std::string clock() const override { return "model"; }

 private:
  CostModel model_;
};

// The executor of one policy's run, as serve-sim and the workbench's Serve panel set it up: with a
// cost model (`cost`), a ModelExecutor replaying on it (no runtime); else a RuntimeExecutor timed by
// `timer` over a runtime of `model` whose paged KV cache is exactly this policy's block budget
// (runtimeOptionsFor(config, max_batch_tokens)). `executor` refers to `runtime`: keep them together.
struct PolicyExecutor {
  std::unique_ptr<LlamaRuntime> runtime;  // null under the cost model
  std::unique_ptr<StepExecutor> executor;
};
Result<PolicyExecutor> makePolicyExecutor(const Model& model, Backend& backend, const SchedulerConfig& config,
                                          int max_batch_tokens, const CostModel* cost, StepTimer timer);

}  // namespace precis
