// ServeWorker: the batching lab's engine side. Runs engine/serve's simulator on the real model
// (every step one forward, times measured; or, with the cost-model clock, on a cost model fitted to
// steps measured first, as serve-sim --clock model) for each chosen policy on one seeded workload, on its
// own thread (worker_thread.h). Per step it appends occupancy, queue depth and KV usage, per
// finished request the running output-token throughput, to a LiveBuffer (coalesced by LiveFeed);
// each policy's metrics (engine/serve/metrics.h, vLLM definitions) come back as a ServeResult.
// With request.log enabled each policy's run is written to the experiment log exactly as
// `precis-cli serve-sim --db` writes it (kind serve-sim, params, envelope, per-step and
// per-request series, the flattened metrics); a cancelled run is recorded INTERRUPTED.
// Cancel: an atomic flag the simulator polls every step (the cost model's calibration before every
// step it measures; a run stopped there logs nothing).
// Tested by tests/ui/test_serve_panel.cpp (stories260K: every request of the seeded workload
// finishes with its output length, the occupancy chart gets one point per step, the log holds the
// run with the same counts; cancel at an exact step; a plan file's per-tensor formats are served).
#pragma once
#include <QObject>
#include <atomic>
#include <functional>
#include <memory>

#include "engine/serve/workload.h"
#include "ui/lab_types.h"
#include "ui/live_feed.h"

namespace precis::ui {

// The workload of a request, as the worker builds it (the seeded generator, or the trace file);
// prompt ids are drawn in [2, vocab_size). The Serve panel's "Save trace…" writes it.
Result<Workload> buildServeWorkload(const ServeRequest& request, int vocab_size, int32_t bos);

class ServeWorker : public QObject {
  Q_OBJECT
 public:
  explicit ServeWorker(std::shared_ptr<LiveBuffer> live, QObject* parent = nullptr);
  void cancel() { cancel_.store(true); }
  // Test hook, called on the worker thread after every simulated step with the step's index
  // (0-based, per policy); tests use it to cancel at an exact step.
  void setStepHook(std::function<void(int)> hook) { step_hook_ = std::move(hook); }

 public slots:
  void run(const precis::ui::ServeRequest& request, const precis::ui::ModelPtr& model);

 signals:
  void progressChanged(double fraction, const QString& text);
  void dataAvailable();
  void policyFinished(const precis::ui::ServeResult& result);
  void finished(bool cancelled, int completed, int total);
  void failed(const QString& message);

 private:
  std::shared_ptr<LiveBuffer> live_;
  std::atomic<bool> cancel_{false};
  std::function<void(int)> step_hook_;
};

}  // namespace precis::ui
