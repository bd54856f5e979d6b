// RunRecorder: what a measuring command (eval, sweep rows, serve-sim, distill) calls to log one run:
// start(kind, params, envelope, parent), logMetric(key, value, step) buffered and written in
// batches (one transaction each), finish(status). A recorder destroyed without finish() flushes
// and marks its run FAILED, so an error path never leaves a run RUNNING in a live process.
// Tested by tests/log/test_run_store.cpp (batching, history, destructor) and by the SIGKILL test
// in tests/log/test_log_reliability.cpp (log_writer_helper.cpp drives it).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/log/run_store.h"

namespace precis {

class RunRecorder {
 public:
  // batch: metric points buffered before a write (1 = every point is its own transaction).
  explicit RunRecorder(RunStore& store, size_t batch = 64) : store_(store), batch_(batch ? batch : 1) {}
  ~RunRecorder();
  RunRecorder(const RunRecorder&) = delete;

  Status start(const std::string& kind, const std::map<std::string, std::string>& params,
               const nlohmann::json& envelope, int64_t parent = 0, const std::string& experiment = "Default",
               const std::string& name = "");
  // Buffers one point (timestamped now); writes the buffer when it holds `batch` points.
  Status logMetric(const std::string& key, double value, int64_t step = 0);
  Status logMetrics(const std::map<std::string, double>& values, int64_t step = 0);
  Status flush();
  // Flushes, then records the final status and end time.
  Status finish(RunStatus status);

  int64_t id() const { return id_; }
  bool started() const { return id_ != 0; }
  RunStore& store() { return store_; }

 private:
  RunStore& store_;
  size_t batch_;
  int64_t id_ = 0;
  bool finished_ = false;
  std::vector<MetricPoint> pending_;
};

}  // namespace precis
