// A deterministic executor for scheduler tests: each step takes base + per_token x tokens seconds
// of fake clock and "samples" token 7 for every request.
#pragma once
#include "engine/serve/simulator.h"

namespace precis::test {

class FakeExecutor : public StepExecutor {
 public:
  FakeExecutor(double base, double per_token) : base_(base), per_token_(per_token) {}
  Result<StepResult> run(const StepPlan& plan) override {
    StepResult r;
    int tokens = 0;
    for (const StepEntry& e : plan.entries) tokens += int(e.tokens.size());
    r.seconds = base_ + per_token_ * tokens;
    r.sampled.assign(size_t(plan.samples()), 7);
    plans.push_back(plan);
    return r;
  }
  std::string clock() const override { return "fake"; }
  std::vector<StepPlan> plans;

 private:
  double base_, per_token_;
};

// Requests with given arrival times, prompt lengths and output lengths.
inline Workload makeRequests(const std::vector<double>& arrivals, const std::vector<int>& prompts,
                             const std::vector<int>& outputs) {
  Workload w;
  for (size_t i = 0; i < arrivals.size(); ++i) {
    Request r;
    r.id = int(i);
    r.arrival = arrivals[i];
    r.prompt.assign(size_t(prompts[i]), 5);
    r.prompt[0] = 1;
    r.output_len = outputs[i];
    w.requests.push_back(r);
  }
  return w;
}

}  // namespace precis::test
