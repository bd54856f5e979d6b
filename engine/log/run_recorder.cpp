// RunRecorder (see run_recorder.h). Tested by tests/log/test_run_store.cpp.
#include "engine/log/run_recorder.h"

namespace precis {

RunRecorder::~RunRecorder() {
  if (id_ && !finished_) (void)finish(RunStatus::Failed);
}

Status RunRecorder::start(const std::string& kind, const std::map<std::string, std::string>& params,
                          const nlohmann::json& envelope, int64_t parent, const std::string& experiment,
                          const std::string& name) {
  if (id_) return makeError(store_.path() + ": this recorder already started run " + std::to_string(id_));
  NewRun run;
  run.experiment = experiment;
  run.kind = kind;
  run.name = name;
  run.parent = parent;
  run.params = params;
  run.envelope = envelope;
  Result<int64_t> id = store_.createRun(run);
  if (!id) return id.error();
  id_ = *id;
  return {};
}

Status RunRecorder::logMetric(const std::string& key, double value, int64_t step) {
  if (!id_) return makeError(store_.path() + ": logMetric before start");
  pending_.push_back(MetricPoint{key, value, step, nowMs()});
  return pending_.size() >= batch_ ? flush() : Status{};
}

Status RunRecorder::logMetrics(const std::map<std::string, double>& values, int64_t step) {
  for (const auto& [k, v] : values) {
    if (!id_) return makeError(store_.path() + ": logMetrics before start");
    pending_.push_back(MetricPoint{k, v, step, nowMs()});
  }
  return pending_.size() >= batch_ ? flush() : Status{};
}

Status RunRecorder::flush() {
  if (pending_.empty()) return {};
  Status s = store_.logMetrics(id_, pending_);
  if (s) pending_.clear();  // on failure the points stay buffered for the next try
  return s;
}

Status RunRecorder::finish(RunStatus status) {
  if (!id_) return makeError(store_.path() + ": finish before start");
  Status flushed = flush();
  Status s = store_.finishRun(id_, flushed ? status : RunStatus::Failed);
  finished_ = s.ok();
  return flushed ? s : flushed;
}

}  // namespace precis
