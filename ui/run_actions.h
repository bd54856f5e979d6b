// Run actions of the Runs panel, in plain C++ over engine/log (no Qt): approving a run against a
// policy (thresholds as the policy JSON of engine/log/policy.h; the decision is recorded in the
// log exactly as `precis-cli approve` records it) and exporting an approved run's artifact config
// (DIR/artifact.json, schema_version 1, as `precis-cli export` writes it without --weights, recorded
// as a "config" artifact with its sha256); and the comparison of several runs (parameter diff,
// latest metrics side by side, metric histories for overlay).
// Tested by tests/ui/test_runs_compare.cpp (real log in a temporary file: approve passes and
// refuses with reasons, export refuses an unapproved run and writes the config of an approved one,
// the diff lists exactly the differing parameters).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/result.h"
#include "engine/log/policy.h"
#include "engine/log/run_store.h"

namespace precis::ui {

// Parses `policy` (origin names it in errors), checks run `id` (and the policy's baseline run),
// records the decision with addApproval and returns it.
Result<PolicyDecision> approveRun(RunStore& store, int64_t id, const nlohmann::json& policy, const std::string& origin);

// Writes DIR/artifact.json for approved run `id`; returns (path, sha256).
Result<std::pair<std::string, std::string>> exportRunConfig(RunStore& store, int64_t id, const std::string& dir);

struct RunCompare {
  std::vector<int64_t> ids;
  std::vector<std::string> labels;  // "12 eval"
  // Parameters whose values differ (absent = ""), and how many are the same in every run.
  std::vector<std::pair<std::string, std::vector<std::string>>> param_diff;
  int same_params = 0;
  // Latest value of every metric any run has (NaN where a run lacks it).
  std::vector<std::pair<std::string, std::vector<double>>> latest;
  // Metrics logged over several steps in at least one run: (step, value) per run.
  std::map<std::string, std::vector<std::vector<std::pair<double, double>>>> histories;
};
Result<RunCompare> compareRuns(RunStore& store, const std::vector<int64_t>& ids);

}  // namespace precis::ui
