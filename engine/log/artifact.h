// Reading back the artifact config that `precis-cli export` writes (artifact.json, schema_version 1)
// and checking that a re-evaluation reproduces it: the recorded model and data digests, the eval
// command that measured the run (reproduce.argv), and a metric-by-metric comparison in which
// timing metrics (seconds, *_per_second) are not compared (they depend on the machine's load).
// Tested by tests/log/test_artifact.cpp (parsing, missing keys and wrong versions named, metric
// comparison) and end to end by tests/cli/test_cli_runs.cpp (export, then eval --config).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/result.h"

namespace precis {

inline constexpr int kArtifactSchemaVersion = 1;

struct ArtifactConfig {
  std::string path;  // the artifact.json it was read from
  int64_t run_id = 0;
  std::string db;    // the experiment log the run came from
  std::string model_path;
  std::string model_sha256;
  std::string data_path;      // the input file, when the run read one ("" for --sample)
  std::string data_sha256;    // its digest ("" when none)
  std::string tokens_sha256;  // tokenDigest of the exact sequences measured ("" when not recorded)
  std::string backend;        // the backend that measured ("" when not recorded)
  struct InputFile {
    std::string path, sha256;
  };
  std::map<std::string, InputFile> inputs;  // envelope.inputs: reference, calib-data, override-file
  std::vector<std::string> argv;  // reproduce.argv: "eval", MODEL, options...
  std::map<std::string, double> metrics;
};

// Parses an artifact config; errors name the file and the missing or malformed key.
Result<ArtifactConfig> parseArtifactConfig(const nlohmann::json& j, const std::string& origin);
Result<ArtifactConfig> loadArtifactConfig(const std::string& path);

// True for metrics that measure time (seconds, tokens_per_second, ...): never compared.
bool isTimingMetric(const std::string& key);

struct MetricComparison {
  std::string key;
  double recorded = 0;
  double measured = 0;
  double rel_diff = 0;  // |measured - recorded| / |recorded| (|difference| when recorded is 0)
  bool agrees = false;
};

struct ReproductionReport {
  std::vector<MetricComparison> metrics;  // every recorded, non-timing metric, by key
  std::vector<std::string> missing;       // recorded keys the re-evaluation did not measure
  bool reproduced = false;                // every metric agrees and none is missing
  double max_rel_diff = 0;
};

// Compares a re-evaluation with the recorded metrics. A metric agrees when rel_diff <= tolerance
// (tolerance 0: bit-identical values; NaN agrees only with NaN).
ReproductionReport compareMetrics(const std::map<std::string, double>& recorded,
                                  const std::map<std::string, double>& measured, double tolerance);

}  // namespace precis
