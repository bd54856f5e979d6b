// Run actions (see run_actions.h).
#include "ui/run_actions.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>

#include "engine/log/artifact_export.h"
#include "engine/log/sha256.h"

namespace precis::ui {

Result<PolicyDecision> approveRun(RunStore& store, int64_t id, const nlohmann::json& policy_json,
                                  const std::string& origin) {
  Result<Policy> policy = parsePolicy(policy_json, origin);
  if (!policy) return policy.error();
  Result<RunDetail> run = store.getRun(id);
  if (!run) return run.error();
  std::optional<RunDetail> baseline;
  if (policy->baseline_run) {
    Result<RunDetail> b = store.getRun(policy->baseline_run);
    if (b) baseline = std::move(*b);
  }
  PolicyDecision d = evaluatePolicy(*policy, *run, baseline ? &*baseline : nullptr);
  if (Status s = store.addApproval(id, d.approved, policy->source, d.checksJson()); !s) return s.error();
  return d;
}

Result<std::pair<std::string, std::string>> exportRunConfig(RunStore& store, int64_t id, const std::string& dir) {
  Result<ArtifactDraft> draft = draftArtifactConfig(store, id, nullptr);
  if (!draft) return draft.error();
  return writeArtifactConfig(store, id, draft->config, dir);
}

Result<RunCompare> compareRuns(RunStore& store, const std::vector<int64_t>& ids) {
  RunCompare c;
  std::vector<RunDetail> runs;
  for (int64_t id : ids) {
    Result<RunDetail> d = store.getRun(id);
    if (!d) return d.error();
    c.ids.push_back(id);
    c.labels.push_back(std::to_string(id) + " " + d->info.kind);
    runs.push_back(std::move(*d));
  }
  std::set<std::string> keys;
  for (const RunDetail& r : runs)
    for (const auto& [k, v] : r.params) keys.insert(k);
  for (const std::string& k : keys) {
    std::vector<std::string> values;
    for (const RunDetail& r : runs) values.push_back(r.params.count(k) ? r.params.at(k) : "");
    bool same = true;
    for (const std::string& v : values) same = same && v == values.front();
    if (same) ++c.same_params;
    else c.param_diff.emplace_back(k, values);
  }
  std::vector<std::map<std::string, double>> latest;
  std::set<std::string> mkeys;
  for (const RunDetail& r : runs) {
    latest.push_back(r.latestMetrics());
    for (const auto& [k, v] : latest.back()) mkeys.insert(k);
  }
  for (const std::string& k : mkeys) {
    std::vector<double> values;
    for (const auto& l : latest) values.push_back(l.count(k) ? l.at(k) : std::numeric_limits<double>::quiet_NaN());
    c.latest.emplace_back(k, values);
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    std::map<std::string, std::vector<std::pair<double, double>>> h;
    for (const MetricPoint& p : runs[i].metrics) h[p.key].emplace_back(double(p.step), p.value);
    for (auto& [k, pts] : h) {
      if (pts.size() < 2) continue;
      auto& slot = c.histories[k];
      slot.resize(runs.size());
      slot[i] = std::move(pts);
    }
  }
  return c;
}

}  // namespace precis::ui
