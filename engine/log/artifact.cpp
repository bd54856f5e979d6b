// Artifact config reading and reproduction checks (see artifact.h). Tested by
// tests/log/test_artifact.cpp.
#include "engine/log/artifact.h"

#include <cmath>
#include <fstream>

namespace precis {

namespace {

// The string at j[a][b] (or j[a] when b is empty); "" when absent or not a string.
std::string str(const nlohmann::json& j, const char* a, const char* b = nullptr) {
  if (!j.is_object() || !j.contains(a)) return {};
  const nlohmann::json& x = b ? (j[a].is_object() && j[a].contains(b) ? j[a][b] : nlohmann::json()) : j[a];
  return x.is_string() ? x.get<std::string>() : std::string();
}

}  // namespace

Result<ArtifactConfig> parseArtifactConfig(const nlohmann::json& j, const std::string& origin) {
  if (!j.is_object()) return makeError(origin + ": not an artifact config (expected a JSON object)");
  if (!j.contains("schema_version") || !j["schema_version"].is_number_integer())
    return makeError(origin + ": no schema_version: not an artifact config written by `precis-cli export`");
  const int version = j["schema_version"].get<int>();
  if (version != kArtifactSchemaVersion)
    return makeError(origin + ": artifact schema_version " + std::to_string(version) + " is not the version this " +
                     "Precis reads (" + std::to_string(kArtifactSchemaVersion) + ")");
  ArtifactConfig a;
  a.path = origin;
  if (j.contains("run") && j["run"].is_object()) {
    a.run_id = j["run"].value("id", int64_t{0});
    a.db = str(j, "run", "db");
  }
  a.model_path = str(j, "model", "path");
  a.model_sha256 = str(j, "model", "sha256");
  if (a.model_path.empty() || a.model_sha256.size() != 64)
    return makeError(origin + ": model.path and model.sha256 (64 hex digits) are required");
  a.data_path = str(j, "data", "path");
  a.data_sha256 = str(j, "data", "sha256");
  a.tokens_sha256 = str(j, "data", "tokens_sha256");
  if (j.contains("envelope")) {
    const nlohmann::json& env = j["envelope"];
    a.backend = str(env, "device", "backend");
    if (env.is_object() && env.contains("inputs") && env["inputs"].is_object())
      for (const auto& [name, f] : env["inputs"].items()) {
        const std::string path = str(env["inputs"], name.c_str(), "path"), sha = str(env["inputs"], name.c_str(), "sha256");
        if (path.empty() || sha.size() != 64)
          return makeError(origin + ": envelope.inputs." + name + " needs a path and a sha256");
        a.inputs[name] = {path, sha};
      }
  }
  if (!j.contains("reproduce") || !j["reproduce"].is_object() || !j["reproduce"].contains("argv") ||
      !j["reproduce"]["argv"].is_array())
    return makeError(origin + ": reproduce.argv (the eval command of the run) is missing");
  for (const nlohmann::json& x : j["reproduce"]["argv"]) {
    if (!x.is_string()) return makeError(origin + ": reproduce.argv holds a value that is not a string");
    a.argv.push_back(x.get<std::string>());
  }
  if (a.argv.size() < 2 || a.argv[0] != "eval")
    return makeError(origin + ": reproduce.argv is not an `eval MODEL ...` command");
  if (!j.contains("metrics") || !j["metrics"].is_object() || j["metrics"].empty())
    return makeError(origin + ": no recorded metrics to reproduce");
  for (const auto& [k, v] : j["metrics"].items()) {
    if (v.is_number()) a.metrics[k] = v.get<double>();
    else if (v.is_null()) a.metrics[k] = std::nan("");  // JSON has no NaN: nlohmann writes it as null
    else return makeError(origin + ": metrics." + k + " is not a number");
  }
  return a;
}

Result<ArtifactConfig> loadArtifactConfig(const std::string& path) {
  std::ifstream f(path);
  if (!f) return makeError(path + ": cannot open the artifact config");
  const nlohmann::json j = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return makeError(path + ": not valid JSON");
  return parseArtifactConfig(j, path);
}

bool isTimingMetric(const std::string& key) {
  auto ends = [&](const std::string& s) { return key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0; };
  return key == "seconds" || ends("_seconds") || ends("_per_second");
}

ReproductionReport compareMetrics(const std::map<std::string, double>& recorded,
                                  const std::map<std::string, double>& measured, double tolerance) {
  ReproductionReport r;
  r.reproduced = true;
  for (const auto& [k, want] : recorded) {
    if (isTimingMetric(k)) continue;
    auto it = measured.find(k);
    if (it == measured.end()) {
      r.missing.push_back(k);
      r.reproduced = false;
      continue;
    }
    MetricComparison c{k, want, it->second, 0, false};
    if (std::isnan(want) || std::isnan(c.measured)) {
      c.agrees = std::isnan(want) && std::isnan(c.measured);
      c.rel_diff = c.agrees ? 0 : INFINITY;
    } else {
      const double diff = std::fabs(c.measured - want);
      c.rel_diff = want != 0 ? diff / std::fabs(want) : diff;
      c.agrees = tolerance == 0 ? c.measured == want : c.rel_diff <= tolerance;
    }
    r.max_rel_diff = std::max(r.max_rel_diff, c.rel_diff);
    r.reproduced = r.reproduced && c.agrees;
    r.metrics.push_back(c);
  }
  return r;
}

}  // namespace precis
