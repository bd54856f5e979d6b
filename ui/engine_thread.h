// EngineThread: the GUI-side owner of the EngineWorker and its QThread. Requests go in as its
// signals (queued across the thread boundary); the worker's own signals come back queued.
// Destruction sets the cancel flag, quits the thread, waits for it, then deletes the worker.
// Tested by tests/ui/test_workbench.cpp (closing a window while a sweep runs returns promptly).
#pragma once
#include <QObject>
#include <QStringList>
#include <QThread>
#include <memory>

#include "ui/engine_worker.h"
#include "ui/live_feed.h"

namespace precis::ui {

class EngineThread : public QObject {
  Q_OBJECT
 public:
  explicit EngineThread(QObject* parent = nullptr);
  ~EngineThread() override;

  // For connecting the worker's output signals (queued) and, in tests, a direct hook.
  EngineWorker* worker() const { return worker_; }
  // Coalesced (bits/weight, KL mean) points of finished evaluations.
  LiveFeed* frontierFeed() const { return feed_; }
  void cancel() { worker_->cancel(); }

 signals:
  void startRequested(const QString& backend);
  void loadRequested(const QString& path);
  void demoRequested();
  void histogramRequested(const precis::ui::HistogramRequest& request);
  void evaluateRequested(const precis::ui::EvalRequest& request);
  void sweepRequested(const precis::ui::EvalRequest& request, const QStringList& formats);
  void sensitivityRequested(const precis::ui::EvalRequest& request);

 private:
  QThread thread_;
  EngineWorker* worker_ = nullptr;
  LiveFeed* feed_ = nullptr;
};

// Registers the value types used across the thread boundary (idempotent).
void registerWorkerTypes();

}  // namespace precis::ui
