// Serve panel, the batching lab: choose the policies (static, dynamic with its batch window,
// continuous with its token budget; KV blocks and block size, queue bound), the workload (Poisson,
// bursty or closed-loop arrivals, or a trace file; request count, prompt and output lengths, TTFT
// and TPOT deadlines, seed), the weights (and a per-tensor plan file, as serve-sim --plan, with what
// it assigns shown below it) and the clock (measured, or serve-sim's fitted cost
// model), and the measured quality of the weights for quality goodput (an eval JSON and the
// acceptance policy, as serve-sim --quality); Run / Stop with a progress bar; Save trace… writes the generated workload as a trace. Live charts (coalesced through LiveFeed): batch occupancy, KV usage and queue depth
// per step, running output-token throughput; when each policy finishes: TTFT and TPOT percentile
// curves (p50/p99 marked in the table), throughput vs p99 TTFT (one point per run), and a table of
// the batching metrics with one column per policy (goodput against the deadlines), and the request
// timeline (wait / prefill / decode per request, deadlines, misses) of a chosen policy's run. Runs
// go to the experiment log like serve-sim's.
// Tested by tests/ui/test_serve_panel.cpp and tests/ui/test_serve_plan.cpp.
#pragma once
#include <QWidget>

#include "ui/lab_types.h"
#include "ui/live_feed.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QScrollArea;
class QPushButton;
class QSettings;
class QSpinBox;
class QTableWidget;

namespace precis::ui {

class ChartWidget;
class RequestTimelineWidget;

class ServePanel : public QWidget {
  Q_OBJECT
 public:
  explicit ServePanel(QWidget* parent = nullptr);

  ServeRequest currentRequest() const;
  void setLogTarget(const LogTarget& log) { log_ = log; }
  void saveSettings(QSettings& s) const;
  void restoreSettings(const QSettings& s);
  void setDark(bool dark);

  // Worker results (connected queued by the main window).
  void onLivePoints(const QVector<LivePoint>& points);
  void onProgress(double fraction, const QString& text);
  void onPolicyFinished(const ServeResult& result);
  void onFinished(bool cancelled, int completed, int total);
  void onFailed(const QString& message);

  QCheckBox* policyBox(const QString& policy) const;
  QSpinBox* requestsBox() const { return requests_; }
  QSpinBox* maxBatchBox() const { return max_batch_; }
  QSpinBox* seedBox() const { return seed_; }
  QComboBox* arrivalBox() const { return arrival_; }
  QDoubleSpinBox* rateBox() const { return rate_; }
  QLineEdit* outputLenEdit() const { return output_len_; }
  QLineEdit* promptLenEdit() const { return prompt_len_; }
  QDoubleSpinBox* ttftTargetBox() const { return ttft_target_; }
  QDoubleSpinBox* tpotTargetBox() const { return tpot_target_; }
  QSpinBox* blockSizeBox() const { return block_size_; }
  QSpinBox* maxQueueBox() const { return max_queue_; }
  QCheckBox* shedBox() const { return shed_; }
  QComboBox* clockBox() const { return clock_; }
  QComboBox* weightsBox() const { return weights_; }
  QLineEdit* granularityEdit() const { return granularity_; }
  QLineEdit* planEdit() const { return plan_; }
  // What the chosen plan file assigns (describePlan), or why it is refused.
  QString planInfoText() const;
  QLineEdit* qualityEdit() const { return quality_; }
  QDoubleSpinBox* qualityMaxKlBox() const { return quality_max_kl_; }
  QDoubleSpinBox* qualityMinTop1Box() const { return quality_min_top1_; }
  QLineEdit* traceEdit() const { return trace_; }
  QComboBox* timelinePolicyBox() const { return timeline_policy_; }
  RequestTimelineWidget* timeline() const { return timeline_; }
  // Writes the workload the current settings generate as a trace file (engine saveTrace); false
  // with a message naming the problem (a closed loop has no arrival times; an unwritable file).
  bool saveTrace(const QString& path, QString* error) const;
  QPushButton* runButton() const { return run_; }
  QPushButton* stopButton() const { return stop_; }
  ChartWidget* occupancyChart() const { return occupancy_; }
  ChartWidget* kvChart() const { return kv_; }
  ChartWidget* queueChart() const { return queue_; }
  ChartWidget* throughputChart() const { return throughput_; }
  ChartWidget* ttftChart() const { return ttft_; }
  ChartWidget* tpotChart() const { return tpot_; }
  ChartWidget* frontierChart() const { return frontier_; }
  QTableWidget* metricsTable() const { return table_; }
  QString statusText() const;
  bool busy() const { return busy_; }
  const QVector<ServeResult>& results() const { return results_; }

 signals:
  void runRequested(const precis::ui::ServeRequest& request);
  void stopRequested();

 private:
  void start();
  void setBusy(bool busy);
  void showPlan();
  QWidget* buildTimeline();
  void showTimeline(int index);
  void fitTimeline();
  bool eventFilter(QObject* watched, QEvent* event) override;  // refits the timeline on resize

  QCheckBox* static_ = nullptr;
  QCheckBox* dynamic_ = nullptr;
  QCheckBox* continuous_ = nullptr;
  QSpinBox* max_batch_ = nullptr;
  QDoubleSpinBox* window_ = nullptr;
  QSpinBox* budget_ = nullptr;
  QCheckBox* chunked_ = nullptr;
  QSpinBox* kv_blocks_ = nullptr;
  QSpinBox* block_size_ = nullptr;
  QSpinBox* max_queue_ = nullptr;
  QCheckBox* shed_ = nullptr;
  QComboBox* arrival_ = nullptr;
  QLineEdit* trace_ = nullptr;
  QPushButton* trace_browse_ = nullptr;
  QDoubleSpinBox* ttft_target_ = nullptr;
  QDoubleSpinBox* tpot_target_ = nullptr;
  QComboBox* clock_ = nullptr;
  QLineEdit* quality_ = nullptr;
  QDoubleSpinBox* quality_max_kl_ = nullptr;
  QDoubleSpinBox* quality_min_top1_ = nullptr;
  QComboBox* timeline_policy_ = nullptr;
  RequestTimelineWidget* timeline_ = nullptr;
  QScrollArea* timeline_area_ = nullptr;
  bool timeline_fit_ = true;  // fit the run into the view until the user zooms
  QDoubleSpinBox* rate_ = nullptr;
  QSpinBox* concurrency_ = nullptr;
  QSpinBox* requests_ = nullptr;
  QLineEdit* prompt_len_ = nullptr;
  QLineEdit* output_len_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QComboBox* weights_ = nullptr;
  QLineEdit* granularity_ = nullptr;
  QLineEdit* plan_ = nullptr;
  QLabel* plan_info_ = nullptr;
  QCheckBox* log_box_ = nullptr;
  QPushButton* run_ = nullptr;
  QPushButton* stop_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* status_ = nullptr;
  ChartWidget* occupancy_ = nullptr;
  ChartWidget* kv_ = nullptr;
  ChartWidget* queue_ = nullptr;
  ChartWidget* throughput_ = nullptr;
  ChartWidget* ttft_ = nullptr;
  ChartWidget* tpot_ = nullptr;
  ChartWidget* frontier_ = nullptr;
  QTableWidget* table_ = nullptr;
  QStringList running_policies_;
  QVector<ServeResult> results_;  // this run's finished policies
  int frontier_series_ = -1;
  LogTarget log_;
  bool busy_ = false;
};

// The metrics table's rows: (label, cell text of one result). Shared with the tests.
QStringList serveMetricNames();
QStringList serveMetricCells(const ServeResult& r);

}  // namespace precis::ui
