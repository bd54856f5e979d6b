// RunsWorker: reads the experiment log (engine/log RunStore) on its own thread, so a slow or locked
// database never blocks the window. One RunStore per thread, as engine/log requires.
// Tested by tests/ui/test_runs_panel.cpp and tests/ui/test_runs_compare.cpp (compare, approve, export).
#pragma once
#include <QMetaType>
#include <QObject>
#include <QPointF>
#include <QString>
#include <QVector>
#include <atomic>
#include <functional>
#include <memory>

#include "ui/run_actions.h"

namespace precis {
class RunStore;
}

namespace precis::ui {

struct RunRow {
  qint64 id = 0;
  QString experiment, kind, name, status, started;
  double seconds = -1;  // -1 while running
  QString metrics;      // latest values of a few metrics, "kl_mean=0.03 ppl=12.1"
};

struct RunView {
  qint64 id = 0;
  QString text;  // params, tags, latest metrics, artifacts, approvals
  QVector<QString> metric_keys;             // metrics with a history (more than one step)
  QVector<QVector<QPointF>> metric_history;  // (step, value) per key
};

class RunsWorker : public QObject {
  Q_OBJECT
 public:
  RunsWorker();
  ~RunsWorker() override;
  // Stops a weights export after the tensor being converted (any thread: an atomic flag the
  // conversion's progress callback reads); nothing is written.
  void cancelExport() { cancel_export_.store(true); }
  // Test hook, called on the worker thread after each tensor an export converts (tensors done).
  void setTensorHook(std::function<void(int)> hook) { tensor_hook_ = std::move(hook); }

 public slots:
  void open(const QString& path);  // "" = the default log (PRECIS_DB, XDG data folder)
  void refresh();
  void detail(qint64 id);
  void remove(qint64 id);
  void compare(const QVector<qint64>& ids);
  // policy_json: the policy object as JSON text (engine/log/policy.h keys).
  void approve(qint64 id, const QString& policy_json);
  void exportConfig(qint64 id, const QString& dir);
  // The run's converted weights at `path` (engine writeRunWeights: GGUF for the GGUF/float formats, a
  // Precis quantized safetensors for the lab formats), recorded in the log. Reports every converted
  // tensor (exportProgress) and stops at cancelExport().
  void exportWeights(qint64 id, const QString& path);

 signals:
  void opened(const QString& path);
  void runsListed(const QVector<precis::ui::RunRow>& rows);
  void detailReady(const precis::ui::RunView& view);
  void failed(const QString& message);
  void comparisonReady(const precis::ui::RunCompare& comparison);
  // text: one line per check ("ok kl_mean_max 0.05: measured 0.012" / "FAIL ...: reason").
  void approvalDone(qint64 id, bool approved, const QString& text);
  void exported(qint64 id, const QString& path, const QString& sha256);
  void weightsExported(qint64 id, const QString& path, const QString& sha256);
  void exportProgress(int tensors_done, int tensors_total);

 private:
  std::unique_ptr<RunStore> store_;
  QString path_;
  std::atomic<bool> cancel_export_{false};
  std::function<void(int)> tensor_hook_;
};

}  // namespace precis::ui

Q_DECLARE_METATYPE(precis::ui::RunRow)
Q_DECLARE_METATYPE(precis::ui::RunView)
Q_DECLARE_METATYPE(precis::ui::RunCompare)
