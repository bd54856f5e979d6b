// Logging the Quantize panel's evaluations to the experiment log exactly as `precis-cli eval`
// logs its runs (kind "eval"; params = the model's absolute path and the eval options that give the
// same scheme and data, spelled as precis-cli's flags; the envelope with the model and data
// digests; the "invocation" document that `precis-cli export` turns into reproduce.argv; the
// "conversion" document; the eval metrics; status FINISHED), plus the tag precis.source=workbench.
// A run started and never finished (an error) is recorded FAILED; a cancelled one INTERRUPTED.
// Tested by tests/ui/test_quantize_lab.cpp (the GUI's run has the CLI's params and metrics).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/core/result.h"
#include "engine/eval/evaluator.h"
#include "engine/log/run_recorder.h"
#include "engine/log/run_store.h"
#include "engine/quant/convert.h"

namespace precis::ui {

class EvalLog {
 public:
  // db: "" = the default log ($PRECIS_DB, else the XDG data folder). options: precis-cli eval flags
  // without "--" (e.g. {"weights", "int4"}, {"sample", "256"}); flags without a value map to "".
  Status start(const std::string& db, const std::string& model_path, const std::map<std::string, std::string>& options,
               const DeviceInfo& device, const std::vector<std::vector<int32_t>>& sequences,
               std::optional<uint64_t> seed, const std::string& data_path);
  Status finish(const EvalResult& result, const ConvertReport& report, const std::map<std::string, double>& metrics);
  Status interrupt();
  int64_t runId() const { return recorder_ ? recorder_->id() : 0; }
  std::string path() const { return store_ ? store_->path() : std::string(); }

 private:
  std::unique_ptr<RunStore> store_;
  std::unique_ptr<RunRecorder> recorder_;  // declared after store_: destroyed first
};

}  // namespace precis::ui
