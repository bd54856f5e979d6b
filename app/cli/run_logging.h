// Logging a precis-cli measuring command as a run in the experiment log (engine/log): the options
// every measuring command takes (--db PATH, --no-log), opening the log at the right place, the
// eval command's run (params, envelope, conversion document, metrics, status), the sweep's parent
// run with one child run per grid row, and the sensitivity command's run.
// Tested by tests/log/test_log_cli.cpp (eval writes a FINISHED run with its envelope; --no-log
// writes nothing; export reproduces the metrics) and tests/cli/test_cli_runs.cpp (sweep rows,
// shards, sensitivity).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/cli/args.h"
#include "engine/backend/backend.h"
#include "engine/core/result.h"
#include "engine/eval/evaluator.h"
#include "engine/log/artifact.h"
#include "engine/log/eval_metrics.h"
#include "engine/log/run_recorder.h"
#include "engine/log/run_store.h"
#include "engine/log/shard.h"
#include "engine/quant/convert.h"

namespace precis::cli {

// The options a measuring command adds to its CommandSpec.
inline OptionSpec dbOption() {
  return {"--db", "PATH", "experiment log (default: $PRECIS_DB, else $XDG_DATA_HOME/precis/experiments.sqlite)"};
}
inline OptionSpec noLogOption() { return {"--no-log", "", "do not record this run in the experiment log"}; }

// Opens the experiment log named by --db / PRECIS_DB / XDG (creating its folder unless read_only).
Result<std::unique_ptr<RunStore>> openRunStore(const ParsedArgs& args, bool read_only = false);


// The run of one `precis-cli eval`: start() once the input is known, finish() with the result.
// Destroyed without finish() (an error path), the run is recorded FAILED. With --no-log both do nothing.
class EvalRunLog {
 public:
  Status start(const ParsedArgs& args, const std::string& model_path, const DeviceInfo& device,
               const std::vector<std::vector<int32_t>>& sequences);
  Status finish(const EvalResult& result, const ConvertReport& report);
  int64_t runId() const { return recorder_ ? recorder_->id() : 0; }

 private:
  std::unique_ptr<RunStore> store_;
  std::unique_ptr<RunRecorder> recorder_;  // declared after store_: destroyed first
};

// The runs of one `precis-cli sweep`: a parent run (kind "sweep", FAILED unless finished) and one
// child run (kind "sweep-row", parent_run_id = the sweep) per grid row of this shard, each row
// written whole in one transaction once measured, so a reader sees the sweep grow row by row.
// A row's params and "invocation" document are those of the equivalent `precis-cli eval`, so a
// row can be approved, exported and re-evaluated like an eval run. With --no-log all do nothing.
class SweepRunLog {
 public:
  Status start(const ParsedArgs& args, const std::string& model_path, const DeviceInfo& device,
               const std::vector<std::vector<int32_t>>& sequences, const Shard& shard, size_t grid_size,
               size_t shard_rows);
  // One row: `scheme_options` are the row's --weights/--granularity/--activations values (the
  // sweep's lists replaced by the row's own), `metrics` as evalRunMetrics plus any extras.
  Result<int64_t> row(size_t grid_index, const std::map<std::string, std::string>& scheme_options,
                      const std::map<std::string, double>& metrics, const ConvertReport& report, int64_t start_ms);
  Status finish();
  int64_t runId() const { return parent_ ? parent_->id() : 0; }
  std::string path() const { return store_ ? store_->path() : std::string(); }

 private:
  std::unique_ptr<RunStore> store_;
  std::unique_ptr<RunRecorder> parent_;  // declared after store_: destroyed first
  std::string model_path_;
  std::map<std::string, std::string> options_;  // the eval options a row shares (as recorded)
  nlohmann::json envelope_;
  size_t rows_done_ = 0;
};

// Records one finished `precis-cli sensitivity` run (kind "sensitivity"): params and envelope as
// for eval, the command's JSON result as the document "sensitivity", and its summary numbers as
// metrics. Returns the run id (0 with --no-log).
Result<int64_t> logSensitivityRun(const ParsedArgs& args, const std::string& model_path, const DeviceInfo& device,
                                  const std::vector<std::vector<int32_t>>& sequences, const nlohmann::json& result);

// `precis-cli eval --config ARTIFACT.json [MODEL]`: the run recorded in an exported artifact,
// evaluated again with exactly its model (digest checked; MODEL names a moved copy), data
// (file digest and token digest checked) and options, then compared metric by metric.
struct ConfiguredEval {
  ParsedArgs args;  // the recorded eval options plus the output/backend options given now
  ArtifactConfig artifact;
  double tolerance = 0;  // --tolerance: relative; 0 = the numbers must be identical
};
// "" when the options given next to --config are allowed, else the usage problem.
std::string configUsageProblem(const ParsedArgs& args);
// Reads the artifact and checks the model and data files' digests; errors name the file.
Result<ConfiguredEval> configuredEval(const ParsedArgs& args, const CommandSpec& eval_spec);
// The tokens about to be measured are the recorded ones (their digest).
Status checkConfiguredTokens(const ConfiguredEval& c, const std::vector<std::vector<int32_t>>& sequences);
// Compares the new metrics with the artifact's; prints a table unless json; the JSON of the report.
nlohmann::ordered_json reproductionReport(const ConfiguredEval& c, const std::map<std::string, double>& measured,
                                          const std::string& backend, bool print, bool* reproduced);

// The per-tensor decisions of a conversion, as recorded in a run's "conversion" document.
nlohmann::json conversionJson(const ConvertReport& report);

}  // namespace precis::cli
