// EvalLog (see eval_log.h): the same records as app/cli/run_logging.cpp's EvalRunLog.
#include "ui/eval_log.h"

#include <cstdlib>
#include <filesystem>

#include "engine/log/envelope.h"

namespace precis::ui {

namespace {
std::string absolutePath(const std::string& p) {
  if (p.empty()) return p;
  std::error_code ec;
  const std::filesystem::path a = std::filesystem::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}
}  // namespace

Status EvalLog::start(const std::string& db, const std::string& typed_model_path,
                      const std::map<std::string, std::string>& options, const DeviceInfo& device,
                      const std::vector<std::vector<int32_t>>& sequences, std::optional<uint64_t> seed,
                      const std::string& data_path) {
  Result<std::string> path = resolveDbPath(db, [](const char* k) { return std::getenv(k); }, true);
  if (!path) return path.error();
  Result<std::unique_ptr<RunStore>> store = RunStore::open(*path);
  if (!store) return makeError(store.error().message + " (untick \"record in the experiment log\" to run without it)");
  store_ = std::move(*store);
  const std::string model_path = absolutePath(typed_model_path);
  std::map<std::string, std::string> params{{"model", model_path.empty() ? "demo" : model_path}};
  for (const auto& [k, v] : options) params[k] = v;
  EnvelopeInputs in;
  in.device = &device;
  in.model_path = model_path;
  in.data_path = absolutePath(data_path);
  in.data_digest = tokenDigest(sequences);
  in.seed = seed;
  for (const auto& [k, v] : params)
    if (k != "model") in.knobs[k] = v;
  Result<nlohmann::ordered_json> envelope = collectEnvelope(in);
  if (!envelope) return envelope.error();
  recorder_ = std::make_unique<RunRecorder>(*store_);
  if (Status s = recorder_->start("eval", params, nlohmann::json(*envelope)); !s) return s;
  if (Status s = store_->setTags(recorder_->id(), {{"precis.source", "workbench"}}); !s) return s;
  nlohmann::json invocation{{"command", "eval"}, {"positional", {model_path}}, {"options", nlohmann::json::object()}};
  for (const auto& [k, v] : options) invocation["options"]["--" + k] = v;
  return store_->setDocument(recorder_->id(), "invocation", invocation);
}

Status EvalLog::finish(const EvalResult& result, const ConvertReport& report,
                       const std::map<std::string, double>& metrics) {
  if (!recorder_) return {};
  nlohmann::json tensors = nlohmann::json::array();
  for (const TensorDecision& d : report.tensors)
    tensors.push_back({{"name", d.name}, {"from", dtypeName(d.from)}, {"to", dtypeName(d.to)},
                       {"elements", d.elements}, {"bytes", d.bytes}, {"reason", d.reason}});
  if (Status s = store_->setDocument(recorder_->id(), "conversion",
                                     {{"bits_per_weight", report.bits_per_weight}, {"bytes", report.bytes},
                                      {"tensors", tensors}});
      !s)
    return s;
  (void)result;
  if (Status s = recorder_->logMetrics(metrics); !s) return s;
  return recorder_->finish(RunStatus::Finished);
}

Status EvalLog::interrupt() {
  if (!recorder_) return {};
  return recorder_->finish(RunStatus::Interrupted);
}

}  // namespace precis::ui
