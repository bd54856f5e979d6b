// EngineWorker: owns the engine objects (backend, loaded model, runtimes) and does all long work
// (loading, evaluating, sweeping, histograms) on its own thread (see engine_thread.h). The GUI talks
// to it only through queued signals; results go back as value types (worker_types.h).
// Cancel: cancel() sets an atomic flag from any thread; loading reads it after every tensor (the
// loader's LoadOptions::progress, then convertWeights' progress while a quantized model's f32
// reference is made), quantization after every tensor (ui/scheme_run.h), the evaluator's progress
// callback after every window, a sweep between
// formats, a sensitivity analysis after every evaluation. Evaluations are recorded in the
// experiment log as precis-cli eval records them (ui/eval_log.h) unless the request says not to.
// Tested by tests/ui/test_workbench.cpp (stories260K: load, evaluate, sweep cancelled mid-way) and
// tests/ui/test_load_cancel.cpp (a cancelled load keeps the previous model).
#pragma once
#include <QObject>
#include <QStringList>
#include <atomic>
#include <functional>
#include <memory>

#include "engine/backend/backend.h"
#include "engine/core/result.h"
#include "engine/model/model.h"
#include "ui/lab_types.h"
#include "ui/live_feed.h"
#include "ui/worker_types.h"

namespace precis {
class LlamaRuntime;
}

namespace precis::ui {

class EngineWorker : public QObject {
  Q_OBJECT
 public:
  // `frontier`: where finished evaluations are appended as (bits/weight, KL mean) points, tag = run id.
  explicit EngineWorker(std::shared_ptr<LiveBuffer> frontier, QObject* parent = nullptr);
  ~EngineWorker() override;

  // Thread-safe: asks the running task to stop (it reports `cancelled`).
  void cancel() { cancel_.store(true); }
  bool cancelRequested() const { return cancel_.load(); }
  // Test hook, called on the engine thread after each tensor is quantized (done of total).
  void setConversionHook(std::function<void(int done, int total)> hook) { conversion_hook_ = std::move(hook); }
  // Test hook, called on the engine thread after each tensor of a load (read, then dequantized for
  // the reference when stored quantized: `stage` "read" or "dequantize").
  void setLoadHook(std::function<void(const char* stage, int done, int total)> hook) { load_hook_ = std::move(hook); }

 public slots:
  void start(const QString& backend);  // "auto", "cpu", "cuda"
  void loadModel(const QString& path);
  void loadDemo();
  void computeHistogram(const precis::ui::HistogramRequest& request);
  void evaluate(const precis::ui::EvalRequest& request);
  void sweep(const precis::ui::EvalRequest& request, const QStringList& formats);
  // Quantizes one tensor at a time to the request's weight spec (everything else as stored) and
  // measures the KL against the reference on the request's data.
  void sensitivity(const precis::ui::EvalRequest& request);

 signals:
  void deviceReady(const precis::ui::DeviceSummary& device);
  void modelLoaded(const precis::ui::ModelSummary& model);
  // The loaded model itself, read-only, for the lab workers on their threads (lab_types.h).
  void modelShared(const precis::ui::ModelPtr& model);
  void histogramReady(const precis::ui::HistogramResult& result);
  void progressChanged(const QString& task, double fraction, const QString& text);
  void evaluationFinished(const precis::ui::EvalRecord& record);
  // One point of a sweep finished (also reported through evaluationFinished).
  void sweepPointFinished(const precis::ui::EvalRecord& record, int index, int total);
  void sweepFinished(bool cancelled, int completed, int total);
  void sensitivityFinished(const precis::ui::SensitivityResult& result);
  void frontierDataAvailable();
  void failed(const QString& task, const QString& message);
  void cancelled(const QString& task);

 private:
  struct Prepared;
  Result<std::unique_ptr<Prepared>> prepare(const EvalRequest& request, int max_tokens_for_sample);
  Result<EvalRecord> runOne(Prepared& prepared, const EvalRequest& request, const QString& task,
                            double fraction_lo, double fraction_hi);
  bool ensureBackend();
  // Makes `model` (and its f32 reference) current; false, with `failed` or `cancelled` emitted and
  // the previous model kept, when the reference could not be made or the load was cancelled.
  bool setModel(Model model, const QString& label, double fraction_lo = 0);

  std::shared_ptr<LiveBuffer> frontier_;
  std::atomic<bool> cancel_{false};
  std::unique_ptr<Backend> backend_;
  std::shared_ptr<Model> model_;      // as stored
  std::shared_ptr<Model> reference_;  // model_ or its f32 dequantization
  std::function<void(int, int)> conversion_hook_;
  std::function<void(const char*, int, int)> load_hook_;
  int next_run_ = 1;
  int next_sweep_ = 1;
};

}  // namespace precis::ui
