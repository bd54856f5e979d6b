// Approval policies: written thresholds a run must meet before its configuration ships.
// A policy is a JSON object with any of these keys (unknown keys are errors, so a typo never
// silently approves):
//   kl_mean_max, kl_p99_max   at most, nats (metrics kl_mean, kl_p99)
//   top1_min                  at least, fraction in [0, 1] (metric top1_agreement)
//   ppl_ratio_max             at most, PPL(test)/PPL(reference) (metric ppl_ratio)
//   speedup_min + baseline_run   at least, speed_metric(run) / speed_metric(baseline run)
//   speed_metric              the throughput metric speed-up compares (default tokens_per_second)
//   ttft_p99_max              at most, seconds (metric ttft_p99, from serving runs)
//   name, description         free text
// A threshold whose metric the run did not record fails with that reason.
// Tested by tests/log/test_policy_shard.cpp.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/result.h"
#include "engine/log/run_store.h"

namespace precis {

struct Policy {
  std::optional<double> kl_mean_max, kl_p99_max, top1_min, ppl_ratio_max, speedup_min, ttft_p99_max;
  int64_t baseline_run = 0;
  std::string speed_metric = "tokens_per_second";
  nlohmann::json source;  // the policy as written
};

// `origin` names the file in errors.
Result<Policy> parsePolicy(const nlohmann::json& j, const std::string& origin);
Result<Policy> loadPolicy(const std::string& path);

struct PolicyCheck {
  std::string name;       // "kl_mean_max"
  std::string metric;     // "kl_mean"
  double threshold = 0;
  std::optional<double> measured;
  bool passed = false;
  std::string reason;     // why it failed (empty when passed)
};

struct PolicyDecision {
  bool approved = false;
  std::vector<PolicyCheck> checks;
  nlohmann::json checksJson() const;
};

// Checks `run` against `policy`; `baseline` is the run named by baseline_run (null when none).
PolicyDecision evaluatePolicy(const Policy& policy, const RunDetail& run, const RunDetail* baseline);

}  // namespace precis
