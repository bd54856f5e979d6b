// Quantize panel: the quantization lab's scheme knobs (weight format, scale granularity, activation
// precision and granularity, calibration, per-tensor overrides, embeddings), the evaluation data
// (sampled tokens, a token-id file or a text file) and window length; Evaluate, Sweep and
// Sensitivity with progress and Cancel. Results: a table of the evaluation statistics; a
// quality frontier with a logarithmic KL axis against bits per weight or measured speed (tokens/s),
// the Pareto-optimal runs marked (one point per run; clicking a point shows that run); a token view
// (the evaluated text coloured by per-token KL, the worst tokens listed, ui/token_view.h); a
// sensitivity heatmap (layer x tensor, KL when only that tensor is quantized) and a KL-per-tensor
// chart. Evaluations are recorded in the experiment log as precis-cli eval records them.
// Tested by tests/ui/test_workbench.cpp (stories260K: the table shows evaluate()'s numbers, the
// frontier gets the point, a sweep cancelled mid-way keeps its points and is marked cancelled) and
// tests/ui/test_quantize_lab.cpp (lab scheme knobs, logging, sensitivity heatmap, cancel while
// quantizing), tests/ui/test_token_view.cpp and tests/ui/test_frontier.cpp.
#pragma once
#include <QMap>
#include <QWidget>

#include "ui/frontier.h"
#include "ui/live_feed.h"
#include "ui/worker_types.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QTabWidget;
class QProgressBar;
class QPushButton;
class QSettings;
class QSpinBox;
class QTableWidget;

namespace precis::ui {

class ChartWidget;
class HeatmapWidget;
class TokenView;

class QuantizePanel : public QWidget {
  Q_OBJECT
 public:
  explicit QuantizePanel(QWidget* parent = nullptr);

  EvalRequest currentRequest() const;
  QStringList sweepFormats() const;
  void setModelContext(int context_length, bool has_tokenizer);
  void saveSettings(QSettings& s) const;
  void restoreSettings(const QSettings& s);
  void setDark(bool dark);

  // Worker results (connected queued by the main window).
  void onEvaluation(const EvalRecord& record);
  void onFrontierPoints(const QVector<LivePoint>& points);
  void onProgress(const QString& task, double fraction, const QString& text);
  void onFailed(const QString& task, const QString& message);
  void onCancelled(const QString& task);
  void onSweepFinished(bool cancelled, int completed, int total);
  void onSensitivity(const SensitivityResult& result);
  // Shows the run with this id in the details box and selects its table row.
  void showRun(int run_id);

  QTableWidget* resultsTable() const { return table_; }
  ChartWidget* frontierChart() const { return chart_; }
  QPushButton* evaluateButton() const { return evaluate_; }
  QPushButton* sweepButton() const { return sweep_; }
  QPushButton* cancelButton() const { return cancel_; }
  QPushButton* sensitivityButton() const { return sensitivity_; }
  QComboBox* formatBox() const { return format_; }
  QComboBox* granularityBox() const { return granularity_; }
  QComboBox* activationsBox() const { return activations_; }
  QComboBox* actGranularityBox() const { return act_granularity_; }
  QComboBox* calibrationBox() const { return calibration_; }
  QPlainTextEdit* overridesEdit() const { return overrides_; }
  QCheckBox* logBox() const { return log_box_; }
  void setLogPath(const QString& db) { db_ = db; }
  HeatmapWidget* heatmap() const { return heatmap_; }
  ChartWidget* sensitivityChart() const { return sens_chart_; }
  QTabWidget* resultTabs() const { return result_tabs_; }
  QSpinBox* sampleBox() const { return sample_; }
  QSpinBox* ctxBox() const { return ctx_; }
  TokenView* tokenView() const { return token_view_; }
  // The frontier's x axis: bits per weight or the quantized model's measured tokens/s.
  QComboBox* frontierAxisBox() const { return axis_; }
  FrontierAxis frontierAxis() const;
  // Run ids of the frontier's points in chart order, and of its Pareto-optimal points (ascending x).
  QVector<int> frontierRuns() const { return point_runs_; }
  QVector<int> paretoRuns() const { return pareto_runs_; }
  QString statusText() const;
  QString detailsText() const;
  bool busy() const { return busy_; }

 signals:
  void evaluateRequested(const precis::ui::EvalRequest& request);
  void sweepRequested(const precis::ui::EvalRequest& request, const QStringList& formats);
  void sensitivityRequested(const precis::ui::EvalRequest& request);
  void cancelRequested();

 private:
  void setBusy(bool busy);
  void startEvaluate();
  void startSweep();
  void startSensitivity();
  void redrawFrontier();

  QComboBox* format_ = nullptr;
  QComboBox* granularity_ = nullptr;
  QComboBox* activations_ = nullptr;
  QComboBox* act_granularity_ = nullptr;
  QComboBox* calibration_ = nullptr;
  QPlainTextEdit* overrides_ = nullptr;
  QCheckBox* log_box_ = nullptr;
  QString db_;
  QPushButton* sensitivity_ = nullptr;
  QTabWidget* result_tabs_ = nullptr;
  HeatmapWidget* heatmap_ = nullptr;
  ChartWidget* sens_chart_ = nullptr;
  QLabel* sens_text_ = nullptr;
  QCheckBox* embeddings_ = nullptr;
  QComboBox* source_ = nullptr;
  QSpinBox* sample_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QLineEdit* file_ = nullptr;
  QSpinBox* ctx_ = nullptr;
  QListWidget* sweep_formats_ = nullptr;
  QPushButton* evaluate_ = nullptr;
  QPushButton* sweep_ = nullptr;
  QPushButton* cancel_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* status_ = nullptr;
  QTableWidget* table_ = nullptr;
  ChartWidget* chart_ = nullptr;
  QLabel* details_ = nullptr;
  int s_runs_ = 0;
  TokenView* token_view_ = nullptr;
  QComboBox* axis_ = nullptr;
  int s_pareto_ = 0;
  QVector<int> arrived_;         // run ids of the frontier feed's points, in arrival order
  QMap<int, QPointF> live_;      // their (bits/weight, KL) as fed
  QVector<int> point_runs_;      // run id of each frontier point, in chart order
  QVector<int> pareto_runs_;     // run ids of the Pareto-optimal points, ascending x
  QMap<int, EvalRecord> runs_;   // by run id
  QMap<int, int> run_rows_;      // run id -> table row
  QVector<int> sweep_rows_;      // table rows of the running sweep
  bool busy_ = false;
  bool sweeping_ = false;
};

}  // namespace precis::ui
