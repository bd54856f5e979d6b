// The serving loop: feeds a workload's arrivals to the scheduler on a run clock, runs each planned
// step on a StepExecutor and records the timeline. The clock advances by each step's time as the
// executor reports it (measured on the device for RuntimeExecutor, predicted for the cost model,
// fixed for the fake executor of the tests) and jumps to the next arrival (or dynamic window
// expiry) while the engine is idle. With charge_host_time the measured scheduler time of every
// step is added too (what a real server pays). Closed-loop users send their next request when the
// previous one finished or was rejected.
// Tested by tests/serve/test_scheduler.cpp (fake executor) and tests/serve/test_serve_runtime.cpp
// (the real model; batched greedy == single-request greedy; overload).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/serve/scheduler.h"
#include "engine/serve/timeline.h"
#include "engine/serve/workload.h"

namespace precis {

struct StepResult {
  double seconds = 0;            // time the step took (see clock())
  std::vector<int32_t> sampled;  // one token per entry with sample == true, in plan order
};

class StepExecutor {
 public:
  virtual ~StepExecutor() = default;
  virtual Result<StepResult> run(const StepPlan& plan) = 0;
  virtual std::string clock() const = 0;  // "measured", "model", "fake"
};

struct SimOptions {
  bool charge_host_time = false;
  // Live series for the experiment log and the GUI: every step, every request that ends.
  std::function<void(const StepRecord& step)> on_step;
  std::function<void(const RequestRecord& request)> on_request;
  std::function<bool()> cancelled;  // true = stop (the run returns an error saying so)
};

struct SimResult {
  Timeline timeline;
  std::vector<std::vector<int32_t>> outputs;  // generated tokens per request id
};

Result<SimResult> simulate(const Workload& workload, const SchedulerConfig& config, StepExecutor& executor,
                           const SimOptions& options = {});

}  // namespace precis
