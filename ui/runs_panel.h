// Runs panel: the experiment log (engine/log) as a sortable, filterable table that refreshes every
// 2 s (runs started from precis-cli appear while they run); selecting a run shows its parameters,
// tags, latest metrics and metric curves; runs can be deleted. Selecting several runs compares
// them: the parameters that differ, their latest metrics side by side, and one metric's history
// overlaid (one curve per run). A policy (thresholds edited here, or loaded from / saved to a
// policy file) approves or refuses the selected run, recorded in the log; an approved run's
// artifact config and weights (GGUF, or safetensors for the lab formats) can be exported. Reads and
// writes on its own thread (RunsWorker).
// Tested by tests/ui/test_runs_panel.cpp, tests/ui/test_runs_compare.cpp, tests/ui/test_runs_export.cpp.
#pragma once
#include <QThread>
#include <QTimer>
#include <QWidget>

#include "ui/runs_worker.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;
class QTabWidget;
class QSortFilterProxyModel;
class QStandardItemModel;
class QTableView;

namespace precis::ui {

class ChartWidget;

class RunsPanel : public QWidget {
  Q_OBJECT
 public:
  explicit RunsPanel(QWidget* parent = nullptr);
  ~RunsPanel() override;  // quits and waits for the reader thread

  void openLog(const QString& path);  // "" = the default experiment log
  void refresh() { emit refreshRequested(); }
  void setDark(bool dark);

  QTableView* table() const { return view_; }
  QSortFilterProxyModel* proxy() const { return proxy_; }
  QLineEdit* filter() const { return filter_; }
  ChartWidget* chart() const { return chart_; }
  QString detailsText() const;
  QString statusText() const;
  // Deletes the selected run (no confirmation: used by the Delete button after it asks).
  void deleteSelected();
  // Selects these runs in the table (several: they are compared).
  void selectRuns(const QVector<qint64>& ids);
  QVector<qint64> selectedIds() const;
  QTableWidget* compareTable() const { return compare_; }
  QComboBox* overlayMetricBox() const { return overlay_metric_; }
  ChartWidget* overlayChart() const { return overlay_; }
  QTabWidget* lowerTabs() const { return lower_tabs_; }

  // The policy as edited: {"kl_mean_max": ..., ...} plus any other keys of a loaded policy file.
  QString policyJson() const;
  // Sets one threshold ("kl_mean_max", "kl_p99_max", "top1_min", "ppl_ratio_max", "ttft_p99_max").
  void setThreshold(const QString& key, double value);
  // Loads / saves a policy file (engine/log/policy.h format); false with the message on failure.
  bool loadPolicyFile(const QString& path, QString* error);
  bool savePolicyFile(const QString& path, QString* error) const;
  // Approves the first selected run against policyJson(); exports it to `dir`.
  void approveSelected();
  void exportSelected(const QString& dir);
  // Writes the converted weights of the first selected (approved) run to `path` (.gguf for the GGUF
  // formats, .safetensors for the lab formats), recorded as a "weights" artifact of the run
  // (engine/log/artifact_export.h writeRunWeights, as precis-cli export --weights).
  void exportWeightsSelected(const QString& path);
  // Stops the running weights export after the tensor being converted (Cancel export).
  void cancelExportWeights();
  QPushButton* cancelExportButton() const { return cancel_export_; }
  RunsWorker* worker() const { return worker_; }  // tests: its tensor hook
  QString approvalText() const;

 signals:
  void openRequested(const QString& path);
  void refreshRequested();
  void detailRequested(qint64 id);
  void removeRequested(qint64 id);
  void runsShown(int count);
  void compareRequested(const QVector<qint64>& ids);
  void approveRequested(qint64 id, const QString& policy_json);
  void exportRequested(qint64 id, const QString& dir);
  void exportWeightsRequested(qint64 id, const QString& path);

 private:
  void showRuns(const QVector<RunRow>& rows);
  void showDetail(const RunView& v);
  void showComparison(const RunCompare& c);
  void drawOverlay();
  QWidget* buildPolicyTab();
  qint64 selectedId() const;

  QThread thread_;
  RunsWorker* worker_ = nullptr;
  QTimer timer_;
  QLineEdit* path_ = nullptr;
  QLineEdit* filter_ = nullptr;
  QStandardItemModel* model_ = nullptr;
  QSortFilterProxyModel* proxy_ = nullptr;
  QTableView* view_ = nullptr;
  QLabel* details_ = nullptr;
  QLabel* status_ = nullptr;
  ChartWidget* chart_ = nullptr;
  qint64 shown_id_ = 0;
  QTabWidget* lower_tabs_ = nullptr;
  QTableWidget* compare_ = nullptr;
  QComboBox* overlay_metric_ = nullptr;
  ChartWidget* overlay_ = nullptr;
  RunCompare comparison_;
  struct Threshold {
    QString key;
    QCheckBox* on = nullptr;
    QDoubleSpinBox* value = nullptr;
  };
  QVector<Threshold> thresholds_;
  QString policy_extra_;  // JSON object of a loaded file's keys not edited here
  QLabel* approval_ = nullptr;
  QPushButton* cancel_export_ = nullptr;
};

}  // namespace precis::ui
