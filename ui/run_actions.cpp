// Run actions (see run_actions.h).
#include "ui/run_actions.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>

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
  Result<RunDetail> run = store.getRun(id);
  if (!run) return run.error();
  if (run->approvals.empty() || !run->approvals.back().approved)
    return makeError("run " + std::to_string(id) + " is not approved: approve it against a policy first");
  const nlohmann::json& env = run->envelope;
  auto inv = run->documents.find("invocation");
  if (env.is_null() || !env.contains("model") || inv == run->documents.end())
    return makeError("run " + std::to_string(id) + " has no model envelope or invocation to export");
  const std::string model_path = env["model"]["path"];
  Result<std::string> digest = sha256File(model_path);
  if (!digest) return digest.error();
  if (*digest != env["model"]["sha256"].get<std::string>())
    return makeError(model_path + ": sha256 " + *digest + " differs from the run's " +
                     env["model"]["sha256"].get<std::string>() + " (the file changed since)");
  namespace fs = std::filesystem;
  const fs::path out = dir;
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return makeError(out.string() + ": cannot create the folder: " + ec.message());
  nlohmann::ordered_json a;
  a["schema_version"] = 1;
  a["run"] = {{"id", id}, {"db", store.path()}, {"kind", run->info.kind}};
  a["model"] = env["model"];
  const std::string format = run->params.count("weights") ? run->params.at("weights") : "q8_0";
  a["weights"] = {{"format", format}, {"quantize_embeddings", run->params.count("quantize-embeddings") > 0}};
  if (run->documents.count("conversion")) a["weights"]["conversion"] = run->documents.at("conversion");
  a["data"] = env.contains("data") ? env["data"] : nlohmann::json(nullptr);
  a["metrics"] = run->latestMetrics();
  const ApprovalRecord& ap = run->approvals.back();
  a["approval"] = {{"approved", ap.approved}, {"time_ms", ap.time_ms}, {"policy", ap.policy}, {"checks", ap.checks}};
  a["envelope"] = env;
  nlohmann::json argv = nlohmann::json::array({"eval"});
  for (const auto& p : inv->second["positional"]) argv.push_back(p);
  for (const auto& [k, v] : inv->second["options"].items()) {
    argv.push_back(k);
    if (!v.get<std::string>().empty()) argv.push_back(v);
  }
  a["reproduce"] = {{"argv", argv},
                    {"note", "precis-cli followed by argv (add --json) measures metrics again on the same backend"}};
  const std::string cpath = (out / "artifact.json").string();
  {
    std::ofstream f(cpath);
    f << a.dump(2) << "\n";
    if (!f) return makeError(cpath + ": cannot write");
  }
  Result<std::string> cd = sha256File(cpath);
  if (!cd) return cd.error();
  const std::string abs = fs::absolute(cpath).string();
  if (Status s = store.addArtifact(id, {abs, "config", *cd, static_cast<int64_t>(fs::file_size(cpath, ec))}); !s)
    return s.error();
  return std::make_pair(abs, *cd);
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
