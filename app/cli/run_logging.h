// Logging a precis-cli measuring command as a run in the experiment log (engine/log): the options
// every measuring command takes (--db PATH, --no-log), opening the log at the right place, and the
// eval command's run (params, envelope, conversion document, metrics, status).
// Tested by tests/log/test_log_cli.cpp (eval writes a FINISHED run with its envelope; --no-log
// writes nothing; export reproduces the metrics).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/cli/args.h"
#include "engine/backend/backend.h"
#include "engine/core/result.h"
#include "engine/eval/evaluator.h"
#include "engine/log/run_recorder.h"
#include "engine/log/run_store.h"
#include "engine/quant/convert.h"

namespace precis::cli {

// The options a measuring command adds to its CommandSpec.
inline OptionSpec dbOption() {
  return {"--db", "PATH", "experiment log (default: $PRECIS_DB, else $XDG_DATA_HOME/precis/experiments.sqlite)"};
}
inline OptionSpec noLogOption() { return {"--no-log", "", "do not record this run in the experiment log"}; }

// Opens the experiment log named by --db / PRECIS_DB / XDG (creating its folder unless read_only).
Result<std::unique_ptr<RunStore>> openRunStore(const ParsedArgs& args, bool read_only = false);

// The metrics an eval run records (keys as in docs/experiment-log.md).
std::map<std::string, double> evalMetrics(const EvalResult& r, const ConvertReport& report);

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

}  // namespace precis::cli
