// Approval policies (see policy.h). Tested by tests/log/test_policy_shard.cpp.
#include "engine/log/policy.h"

#include <fstream>
#include <set>
#include <sstream>

namespace precis {

Result<Policy> parsePolicy(const nlohmann::json& j, const std::string& origin) {
  if (!j.is_object()) return makeError(origin + ": a policy must be a JSON object");
  Policy p;
  p.source = j;
  const std::set<std::string> numbers{"kl_mean_max", "kl_p99_max", "top1_min", "ppl_ratio_max", "speedup_min",
                                      "ttft_p99_max"};
  bool any = false;
  for (const auto& [k, v] : j.items()) {
    if (numbers.count(k)) {
      if (!v.is_number()) return makeError(origin + ": '" + k + "' must be a number");
      const double x = v.get<double>();
      if (!(x >= 0)) return makeError(origin + ": '" + k + "' must be >= 0");
      std::optional<double>* slot = k == "kl_mean_max"    ? &p.kl_mean_max
                                    : k == "kl_p99_max"   ? &p.kl_p99_max
                                    : k == "top1_min"     ? &p.top1_min
                                    : k == "ppl_ratio_max" ? &p.ppl_ratio_max
                                    : k == "speedup_min"  ? &p.speedup_min
                                                          : &p.ttft_p99_max;
      *slot = x;
      any = true;
    } else if (k == "baseline_run") {
      if (!v.is_number_integer() || v.get<int64_t>() <= 0)
        return makeError(origin + ": 'baseline_run' must be a positive run id");
      p.baseline_run = v.get<int64_t>();
    } else if (k == "speed_metric") {
      if (!v.is_string()) return makeError(origin + ": 'speed_metric' must be a string");
      p.speed_metric = v.get<std::string>();
    } else if (k == "name" || k == "description") {
      if (!v.is_string()) return makeError(origin + ": '" + k + "' must be a string");
    } else {
      return makeError(origin + ": unknown policy key '" + k +
                       "' (known: kl_mean_max, kl_p99_max, top1_min, ppl_ratio_max, speedup_min, baseline_run, "
                       "speed_metric, ttft_p99_max, name, description)");
    }
  }
  if (!any) return makeError(origin + ": the policy states no threshold");
  if (p.speedup_min && !p.baseline_run) return makeError(origin + ": 'speedup_min' needs 'baseline_run'");
  if (p.top1_min && *p.top1_min > 1) return makeError(origin + ": 'top1_min' is a fraction in [0, 1]");
  return p;
}

Result<Policy> loadPolicy(const std::string& path) {
  std::ifstream f(path);
  if (!f) return makeError(path + ": cannot open the policy file");
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return makeError(path + ": not valid JSON");
  return parsePolicy(j, path);
}

nlohmann::json PolicyDecision::checksJson() const {
  nlohmann::json a = nlohmann::json::array();
  for (const PolicyCheck& c : checks)
    a.push_back({{"check", c.name}, {"metric", c.metric}, {"threshold", c.threshold},
                 {"measured", c.measured ? nlohmann::json(*c.measured) : nlohmann::json(nullptr)},
                 {"passed", c.passed}, {"reason", c.reason}});
  return a;
}

namespace {

std::string num(double v) {
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}

// at_most: measured <= threshold passes; else measured >= threshold passes.
PolicyCheck check(const std::string& name, const std::string& metric, double threshold, bool at_most,
                  const std::map<std::string, double>& m, int64_t run_id) {
  PolicyCheck c{name, metric, threshold, std::nullopt, false, ""};
  auto it = m.find(metric);
  if (it == m.end()) {
    c.reason = "run " + std::to_string(run_id) + " recorded no metric '" + metric + "'";
    return c;
  }
  c.measured = it->second;
  c.passed = at_most ? it->second <= threshold : it->second >= threshold;  // NaN fails both
  if (!c.passed)
    c.reason = metric + " = " + num(it->second) + (at_most ? " exceeds the maximum " : " is below the minimum ") +
               num(threshold);
  return c;
}

}  // namespace

PolicyDecision evaluatePolicy(const Policy& p, const RunDetail& run, const RunDetail* baseline) {
  PolicyDecision d;
  const std::map<std::string, double> m = run.latestMetrics();
  const int64_t id = run.info.id;
  if (run.info.status != RunStatus::Finished)
    d.checks.push_back({"status", "", 0, std::nullopt, false,
                        std::string("run is ") + runStatusName(run.info.status) + ", not FINISHED"});
  if (p.kl_mean_max) d.checks.push_back(check("kl_mean_max", "kl_mean", *p.kl_mean_max, true, m, id));
  if (p.kl_p99_max) d.checks.push_back(check("kl_p99_max", "kl_p99", *p.kl_p99_max, true, m, id));
  if (p.top1_min) d.checks.push_back(check("top1_min", "top1_agreement", *p.top1_min, false, m, id));
  if (p.ppl_ratio_max) d.checks.push_back(check("ppl_ratio_max", "ppl_ratio", *p.ppl_ratio_max, true, m, id));
  if (p.ttft_p99_max) d.checks.push_back(check("ttft_p99_max", "ttft_p99", *p.ttft_p99_max, true, m, id));
  if (p.speedup_min) {
    PolicyCheck c{"speedup_min", p.speed_metric + " / baseline", *p.speedup_min, std::nullopt, false, ""};
    const std::map<std::string, double> b = baseline ? baseline->latestMetrics() : std::map<std::string, double>{};
    if (!baseline) c.reason = "baseline run " + std::to_string(p.baseline_run) + " not found";
    else if (!m.count(p.speed_metric)) c.reason = "run " + std::to_string(id) + " recorded no metric '" + p.speed_metric + "'";
    else if (!b.count(p.speed_metric) || !(b.at(p.speed_metric) > 0))
      c.reason = "baseline run " + std::to_string(p.baseline_run) + " recorded no positive '" + p.speed_metric + "'";
    else {
      c.measured = m.at(p.speed_metric) / b.at(p.speed_metric);
      c.passed = *c.measured >= *p.speedup_min;
      if (!c.passed) c.reason = "speed-up " + num(*c.measured) + " over run " + std::to_string(p.baseline_run) +
                                " is below the minimum " + num(*p.speedup_min);
    }
    d.checks.push_back(c);
  }
  d.approved = !d.checks.empty();
  for (const PolicyCheck& c : d.checks) d.approved = d.approved && c.passed;
  return d;
}

}  // namespace precis
