// ServePanel (see serve_panel.h).
#include "ui/serve_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>

#include "ui/chart_widget.h"
#include "ui/request_timeline.h"
#include "ui/serve_plan.h"
#include "ui/serve_worker.h"

namespace precis::ui {

namespace {

const QStringList kPolicies = {"static", "dynamic", "continuous"};

QString ms(double s) { return QString::number(1000 * s, 'f', 1); }
QString num(double v, int decimals = 3) { return QString::number(v, 'f', decimals); }

// (percentile, value in ms) for q = 0..100: numpy's linear percentile, as engine/serve reports.
QVector<QPointF> percentileCurve(QVector<double> values) {
  QVector<QPointF> out;
  if (values.isEmpty()) return out;
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  for (int p = 0; p <= 100; ++p) out << QPointF(p, 1000 * percentileSorted(sorted, p));
  return out;
}

}  // namespace

QStringList serveMetricNames() {
  return {"requests finished / total", "rejected", "output tokens", "duration s", "requests/s", "output tokens/s",
          "TTFT mean ms", "TTFT p50 ms", "TTFT p99 ms", "TPOT mean ms", "TPOT p50 ms", "TPOT p99 ms",
          "ITL p99 ms", "E2E mean ms", "E2E p99 ms", "queue mean ms", "queue p99 ms", "occupancy mean",
          "tokens/step mean", "padded token ratio", "KV usage max", "preemptions", "deadline misses",
          "requests meeting deadlines", "goodput req/s", "quality goodput tok/s", "quality", "steps", "device s", "clock",
          "cost model", "log run", "weight kernels", "weights served", "plan"};
}

QStringList serveMetricCells(const ServeResult& r) {
  const ServeMetrics& m = r.metrics;
  return {QString("%1 / %2").arg(m.finished).arg(m.requests), QString::number(m.rejected),
          QString::number(m.output_tokens), num(m.duration), num(m.requests_per_s), num(m.output_tokens_per_s, 1),
          ms(m.ttft.mean), ms(m.ttft.p50), ms(m.ttft.p99), ms(m.tpot.mean), ms(m.tpot.p50), ms(m.tpot.p99),
          ms(m.itl.p99), ms(m.e2e.mean), ms(m.e2e.p99), ms(m.queue.mean), ms(m.queue.p99), num(m.occupancy_mean),
          num(m.tokens_per_step_mean, 1), num(m.padded_token_ratio), num(m.kv_usage_max),
          QString::number(m.preemptions), QString::number(m.deadline_misses), QString::number(m.good),
          num(m.goodput), m.quality_goodput ? num(*m.quality_goodput, 1) : QString("n/a (quality unknown)"),
          r.quality.isEmpty() ? QString("unknown (load an eval JSON)") : r.quality,
          QString::number(m.steps), num(m.device_seconds), QString::fromStdString(m.clock),
          r.cost_model ? QString::fromStdString(r.cost_model->describe()) : QString("none (measured)"),
          r.log_run ? QString::number(r.log_run) : QString("not logged"),
          r.kernels.isEmpty() ? QString("the float / GGUF kernels of the weights as converted") : r.kernels.join("; "),
          r.weights, r.plan.isEmpty() ? QString("none") : r.plan};
}

ServePanel::ServePanel(QWidget* parent) : QWidget(parent) {
  static_ = new QCheckBox(tr("&static"));
  dynamic_ = new QCheckBox(tr("d&ynamic"));
  continuous_ = new QCheckBox(tr("&continuous"));
  continuous_->setChecked(true);
  auto* pol = new QHBoxLayout();
  pol->addWidget(static_);
  pol->addWidget(dynamic_);
  pol->addWidget(continuous_);
  max_batch_ = new QSpinBox();
  max_batch_->setRange(1, 256);
  max_batch_->setValue(8);
  window_ = new QDoubleSpinBox();
  window_->setRange(0, 1e6);
  window_->setValue(50);
  window_->setSuffix(" ms");
  budget_ = new QSpinBox();
  budget_->setRange(1, 1 << 16);
  budget_->setValue(256);
  chunked_ = new QCheckBox(tr("Chunked prefill (continuous)"));
  kv_blocks_ = new QSpinBox();
  kv_blocks_->setRange(0, 1 << 20);
  kv_blocks_->setSpecialValueText(tr("max batch × full context"));
  block_size_ = new QSpinBox();
  block_size_->setRange(1, 1 << 16);
  block_size_->setValue(16);
  block_size_->setSuffix(tr(" positions"));
  max_queue_ = new QSpinBox();
  max_queue_->setRange(1, 1 << 24);
  max_queue_->setValue(1024);
  max_queue_->setToolTip(tr("Waiting requests at most; an arrival beyond it is rejected"));
  shed_ = new QCheckBox(tr("At the bound, drop the &oldest waiting"));
  arrival_ = new QComboBox();
  arrival_->addItem(tr("Poisson"), "poisson");
  arrival_->addItem(tr("Bursty (1 s on, 1 s off)"), "bursty");
  arrival_->addItem(tr("Closed loop (users)"), "closed");
  arrival_->addItem(tr("Trace file"), "trace");
  trace_ = new QLineEdit();
  trace_->setPlaceholderText(tr("arrival_s prompt_len output_len [ttft_s tpot_s]"));
  trace_->setToolTip(tr("A trace file as precis-cli serve-sim --trace reads it"));
  trace_browse_ = new QPushButton(tr("Load…"));
  connect(trace_browse_, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Load a trace file"), trace_->text(),
                                                   tr("Traces (*.txt *.csv *.trace);;All files (*)"));
    if (!f.isEmpty()) trace_->setText(f);
  });
  auto* save_trace = new QPushButton(tr("Save…"));
  save_trace->setToolTip(tr("Save trace: write the workload these settings generate as a trace file"));
  connect(save_trace, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, tr("Save the trace"), "trace.txt", tr("Traces (*.txt)"));
    if (f.isEmpty()) return;
    QString error;
    status_->setText(saveTrace(f, &error) ? tr("Trace written to %1").arg(f) : tr("Failed: %1").arg(error));
  });
  auto* trace_row = new QHBoxLayout();
  trace_row->addWidget(trace_browse_);
  trace_row->addWidget(save_trace);
  ttft_target_ = new QDoubleSpinBox();
  ttft_target_->setRange(0, 1e9);
  ttft_target_->setDecimals(1);
  ttft_target_->setSuffix(" ms");
  ttft_target_->setSpecialValueText(tr("none"));
  ttft_target_->setToolTip(tr("TTFT deadline per request (goodput counts requests meeting both)"));
  tpot_target_ = new QDoubleSpinBox();
  tpot_target_->setRange(0, 1e9);
  tpot_target_->setDecimals(2);
  tpot_target_->setSuffix(" ms");
  tpot_target_->setSpecialValueText(tr("none"));
  tpot_target_->setToolTip(tr("TPOT deadline: mean time per output token after the first"));
  quality_ = new QLineEdit();
  quality_->setPlaceholderText(tr("precis-cli eval --json of these weights"));
  quality_->setToolTip(tr("The measured quality of these weights, for quality goodput (serve-sim --quality)"));
  auto* quality_browse = new QPushButton(tr("Load…"));
  connect(quality_browse, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Quality (precis-cli eval --json output)"),
                                                   quality_->text(), tr("JSON (*.json);;All files (*)"));
    if (!f.isEmpty()) quality_->setText(f);
  });
  auto* quality_row = new QHBoxLayout();
  quality_row->addWidget(quality_browse);
  quality_row->addStretch(1);
  quality_max_kl_ = new QDoubleSpinBox();
  quality_max_kl_->setDecimals(4);
  quality_max_kl_->setRange(0, 1e3);
  quality_max_kl_->setSingleStep(0.01);
  quality_max_kl_->setValue(0.05);
  quality_max_kl_->setToolTip(tr("Acceptance: KL mean at most this"));
  quality_min_top1_ = new QDoubleSpinBox();
  quality_min_top1_->setDecimals(3);
  quality_min_top1_->setRange(0, 1);
  quality_min_top1_->setSingleStep(0.01);
  quality_min_top1_->setValue(0.9);
  quality_min_top1_->setToolTip(tr("Acceptance: top-1 agreement at least this"));
  clock_ = new QComboBox();
  clock_->addItem(tr("measured (every step runs the model)"), "measured");
  clock_->addItem(tr("cost model (fitted to measured steps)"), "model");
  clock_->setToolTip(tr("serve-sim --clock: the cost model measures a grid of steps, fits c0 + c_tok·tokens + "
                        "c_att·attended + c_out·sampled, and replays the schedule on it (times are modelled)"));
  rate_ = new QDoubleSpinBox();
  rate_->setRange(0.01, 1e6);
  rate_->setValue(8);
  rate_->setSuffix(" req/s");
  concurrency_ = new QSpinBox();
  concurrency_->setRange(1, 4096);
  concurrency_->setValue(4);
  requests_ = new QSpinBox();
  requests_->setRange(1, 1 << 20);
  requests_->setValue(32);
  prompt_len_ = new QLineEdit("16");
  prompt_len_->setToolTip(tr("N, LO:HI (uniform) or data:N1,N2,..."));
  output_len_ = new QLineEdit("8:32");
  output_len_->setToolTip(prompt_len_->toolTip());
  seed_ = new QSpinBox();
  seed_->setRange(0, 1 << 30);
  weights_ = new QComboBox();
  weights_->addItems({"f32", "f16", "bf16", "q8_0", "q4_0", "int8", "int8-asym", "int4", "int4-asym", "nf4",
                      "fp8-e4m3", "fp8-e5m2"});
  weights_->setToolTip(tr("f32 (as stored), the float/GGUF casts, or a quantization-lab format stored packed "
                          "and served on its low-bit kernels (serve-sim --weights)"));
  granularity_ = new QLineEdit("channel");
  granularity_->setToolTip(tr("Scale granularity of a lab format: tensor, channel or group:N "
                              "(serve-sim --granularity)"));
  auto lab_weights = [this] {
    const QString w = weights_->currentText();
    granularity_->setEnabled(!QStringList{"f32", "f16", "bf16", "q8_0", "q4_0"}.contains(w));
  };
  connect(weights_, &QComboBox::currentTextChanged, this, lab_weights);
  lab_weights();
  plan_ = new QLineEdit();
  plan_->setPlaceholderText(tr("none: every matrix as Weights says"));
  plan_->setToolTip(tr("A plan / override file (serve-sim --plan; sensitivity --plan-out writes one): its "
                       "per-tensor formats apply first, and its base scheme, if any, replaces Weights"));
  auto* plan_browse = new QPushButton(tr("Load p&lan…"));
  connect(plan_browse, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Quantization plan"), plan_->text(),
                                                   tr("JSON (*.json);;All files (*)"));
    if (!f.isEmpty()) plan_->setText(f);
  });
  auto* plan_clear = new QPushButton(tr("Clear"));
  connect(plan_clear, &QPushButton::clicked, plan_, &QLineEdit::clear);
  auto* plan_row = new QHBoxLayout();
  plan_row->addWidget(plan_browse);
  plan_row->addWidget(plan_clear);
  plan_row->addStretch(1);
  plan_info_ = new QLabel();
  plan_info_->setWordWrap(true);
  plan_info_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  connect(plan_, &QLineEdit::textChanged, this, &ServePanel::showPlan);
  showPlan();
  log_box_ = new QCheckBox(tr("Record runs in the experiment &log"));
  log_box_->setChecked(true);
  auto enable = [this] {
    const QString a = arrival_->currentData().toString();
    const bool closed = a == "closed", trace = a == "trace";
    rate_->setEnabled(!closed && !trace);
    concurrency_->setEnabled(closed);
    for (QWidget* w : std::initializer_list<QWidget*>{requests_, prompt_len_, output_len_}) w->setEnabled(!trace);
    trace_->setEnabled(trace);
    trace_browse_->setEnabled(trace);
    window_->setEnabled(dynamic_->isChecked());
    budget_->setEnabled(continuous_->isChecked());
    chunked_->setEnabled(continuous_->isChecked());
  };
  connect(arrival_, &QComboBox::currentIndexChanged, this, enable);
  for (QCheckBox* b : {static_, dynamic_, continuous_}) connect(b, &QCheckBox::toggled, this, enable);
  enable();

  auto* policy_box = new QGroupBox(tr("Policy"));
  auto* pf = new QFormLayout(policy_box);
  pf->addRow(pol);
  pf->addRow(tr("Max &batch:"), max_batch_);
  pf->addRow(tr("Batch &window:"), window_);
  pf->addRow(tr("Token b&udget:"), budget_);
  pf->addRow(chunked_);
  pf->addRow(tr("&KV blocks:"), kv_blocks_);
  pf->addRow(tr("B&lock size:"), block_size_);
  pf->addRow(tr("Queue bou&nd:"), max_queue_);
  pf->addRow(shed_);
  auto* work_box = new QGroupBox(tr("Workload"));
  auto* wf = new QFormLayout(work_box);
  wf->addRow(tr("&Arrivals:"), arrival_);
  wf->addRow(tr("&Rate:"), rate_);
  wf->addRow(tr("&Users:"), concurrency_);
  wf->addRow(tr("Tr&ace file:"), trace_);
  wf->addRow(QString(), trace_row);
  wf->addRow(tr("Re&quests:"), requests_);
  wf->addRow(tr("&Prompt length:"), prompt_len_);
  wf->addRow(tr("&Output length:"), output_len_);
  wf->addRow(tr("TTFT &deadline:"), ttft_target_);
  wf->addRow(tr("TPOT dead&line:"), tpot_target_);
  wf->addRow(tr("S&eed:"), seed_);
  wf->addRow(tr("&Weights:"), weights_);
  wf->addRow(tr("&Granularity:"), granularity_);
  wf->addRow(tr("Pla&n:"), plan_);
  wf->addRow(QString(), plan_row);
  wf->addRow(QString(), plan_info_);
  wf->addRow(tr("Cloc&k:"), clock_);
  wf->addRow(tr("&Quality file:"), quality_);
  wf->addRow(QString(), quality_row);
  wf->addRow(tr("Accept KL ≤"), quality_max_kl_);
  wf->addRow(tr("Accept top-1 ≥"), quality_min_top1_);

  run_ = new QPushButton(tr("&Run"));
  stop_ = new QPushButton(tr("S&top"));
  stop_->setEnabled(false);
  connect(run_, &QPushButton::clicked, this, &ServePanel::start);
  connect(stop_, &QPushButton::clicked, this, [this] {
    status_->setText(tr("Stopping…"));
    emit stopRequested();
  });
  auto* buttons = new QHBoxLayout();
  buttons->addWidget(run_);
  buttons->addWidget(stop_);
  progress_ = new QProgressBar();
  progress_->setRange(0, 1000);
  status_ = new QLabel(tr("Measured clock: every step runs the real model and its time is measured; the cost model "
                          "replays the schedule on times fitted to measured steps."));
  status_->setWordWrap(true);

  auto* controls = new QWidget();
  auto* cl = new QVBoxLayout(controls);
  cl->addWidget(policy_box);
  cl->addWidget(work_box);
  cl->addWidget(log_box_);
  cl->addLayout(buttons);
  cl->addWidget(progress_);
  cl->addWidget(status_);
  cl->addStretch(1);
  auto* scroll = new QScrollArea();
  scroll->setWidget(controls);
  scroll->setWidgetResizable(true);
  scroll->setMinimumWidth(300);
  scroll->setMaximumWidth(360);

  auto chart = [](const QString& title, const QString& x, const QString& y, const QString& empty) {
    auto* c = new ChartWidget();
    c->setTitle(title);
    c->setAxisTitles(x, y);
    c->setEmptyText(empty);
    return c;
  };
  occupancy_ = chart(tr("Batch occupancy"), tr("time (s)"), tr("sequences / max batch"), tr("Run to see each step"));
  kv_ = chart(tr("KV cache usage"), tr("time (s)"), tr("blocks used / total"), QString());
  queue_ = chart(tr("Queue depth"), tr("time (s)"), tr("waiting requests"), QString());
  throughput_ = chart(tr("Throughput"), tr("time (s)"), tr("output tokens/s so far"), QString());
  ttft_ = chart(tr("TTFT percentiles"), tr("percentile"), tr("TTFT (ms)"), tr("Per policy, when it finishes"));
  tpot_ = chart(tr("TPOT percentiles"), tr("percentile"), tr("TPOT (ms)"), QString());
  frontier_ = chart(tr("Throughput vs p99 TTFT (one point per run)"), tr("p99 TTFT (ms)"), tr("output tokens/s"),
                    tr("Each finished run adds a point"));
  for (const QString& p : kPolicies) frontier_->addSeries(ChartWidget::Kind::Scatter, p);
  table_ = new QTableWidget(serveMetricNames().size(), 0);
  table_->setVerticalHeaderLabels(serveMetricNames());
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setAccessibleName(tr("Batching metrics"));

  auto* grid = new QGridLayout();
  grid->addWidget(occupancy_, 0, 0);
  grid->addWidget(kv_, 0, 1);
  grid->addWidget(queue_, 0, 2);
  grid->addWidget(throughput_, 0, 3);
  grid->addWidget(ttft_, 1, 0);
  grid->addWidget(tpot_, 1, 1);
  grid->addWidget(frontier_, 1, 2, 1, 2);
  auto* charts = new QWidget();
  charts->setLayout(grid);
  // The metrics table sits beside the request timeline, where it has the width for the metric
  // names and every policy's numbers (in the chart grid it had a chart's width, and the numbers
  // were behind a scroll bar at the window's usual size).
  auto* bottom = new QSplitter(Qt::Horizontal);
  bottom->addWidget(table_);
  bottom->addWidget(buildTimeline());
  bottom->setStretchFactor(0, 1);
  bottom->setStretchFactor(1, 1);
  bottom->setSizes({450, 550});  // the names and three policies' numbers fit at the usual window size
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(charts);
  split->addWidget(bottom);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  auto* layout = new QHBoxLayout(this);
  layout->addWidget(scroll);
  layout->addWidget(split, 1);
}

QCheckBox* ServePanel::policyBox(const QString& policy) const {
  return policy == "static" ? static_ : policy == "dynamic" ? dynamic_ : policy == "continuous" ? continuous_ : nullptr;
}

ServeRequest ServePanel::currentRequest() const {
  ServeRequest r;
  r.policies.clear();
  for (const QString& p : kPolicies)
    if (policyBox(p)->isChecked()) r.policies << p;
  r.max_batch = max_batch_->value();
  r.batch_window_ms = window_->value();
  r.token_budget = budget_->value();
  r.chunked_prefill = chunked_->isChecked();
  r.kv_blocks = kv_blocks_->value();
  r.block_size = block_size_->value();
  r.max_queue = max_queue_->value();
  r.shed = shed_->isChecked();
  r.arrival = arrival_->currentData().toString();
  r.trace_file = trace_->text().trimmed();
  r.ttft_target_ms = ttft_target_->value();
  r.tpot_target_ms = tpot_target_->value();
  r.clock = clock_->currentData().toString();
  r.quality_file = quality_->text().trimmed();
  r.quality_max_kl = quality_max_kl_->value();
  r.quality_min_top1 = quality_min_top1_->value();
  r.rate = rate_->value();
  r.concurrency = concurrency_->value();
  r.requests = requests_->value();
  r.prompt_len = prompt_len_->text().trimmed();
  r.output_len = output_len_->text().trimmed();
  r.seed = static_cast<quint64>(seed_->value());
  r.weights = weights_->currentText();
  r.granularity = granularity_->text().trimmed();
  r.plan_file = plan_->text().trimmed();
  r.log = log_;
  r.log.enabled = log_box_->isChecked();
  return r;
}

void ServePanel::start() {
  const ServeRequest r = currentRequest();
  if (r.policies.isEmpty()) {
    onFailed(tr("Choose at least one policy."));
    return;
  }
  if (!r.plan_file.isEmpty())
    if (Result<QuantScheme> sc = serveScheme(r); !sc) {  // a bad plan file is named before anything runs
      onFailed(QString::fromStdString(sc.error().message));
      return;
    }
  running_policies_ = r.policies;
  results_.clear();
  for (ChartWidget* c : {occupancy_, kv_, queue_, throughput_, ttft_, tpot_}) {
    c->removeAllSeries();
    for (const QString& p : r.policies) c->addSeries(ChartWidget::Kind::Line, p);
  }
  table_->setColumnCount(0);
  timeline_policy_->clear();
  timeline_->clear();
  progress_->setValue(0);
  status_->setText(tr("Running %1 on %2 requests…").arg(r.policies.join(", ")).arg(r.requests));
  setBusy(true);
  emit runRequested(r);
}

void ServePanel::setBusy(bool busy) {
  busy_ = busy;
  run_->setEnabled(!busy);
  stop_->setEnabled(busy);
}

void ServePanel::onLivePoints(const QVector<LivePoint>& points) {
  // Group by (chart, series) so each chart gets one bulk append per series.
  QMap<QPair<int, int>, QVector<QPointF>> by;
  for (const LivePoint& p : points) by[{p.series % kServeSeriesPerPolicy, p.series / kServeSeriesPerPolicy}] << p.point;
  ChartWidget* charts[kServeSeriesPerPolicy] = {occupancy_, queue_, kv_, throughput_};
  for (auto it = by.cbegin(); it != by.cend(); ++it) {
    ChartWidget* c = charts[it.key().first];
    if (it.key().second < c->seriesCount()) c->appendPoints(it.key().second, it.value());
  }
}

void ServePanel::onProgress(double fraction, const QString& text) {
  progress_->setValue(static_cast<int>(1000 * fraction));
  status_->setText(text);
}

void ServePanel::onPolicyFinished(const ServeResult& r) {
  results_ << r;
  const int i = static_cast<int>(running_policies_.indexOf(r.policy));
  if (i >= 0 && i < ttft_->seriesCount()) {
    ttft_->setPoints(i, percentileCurve(r.ttft));
    tpot_->setPoints(i, percentileCurve(r.tpot));
  }
  const int s = static_cast<int>(kPolicies.indexOf(r.policy));
  if (s >= 0) frontier_->appendPoints(s, {QPointF(1000 * r.metrics.ttft.p99, r.metrics.output_tokens_per_s)});
  timeline_policy_->addItem(r.policy, static_cast<int>(results_.size()) - 1);
  timeline_policy_->setCurrentIndex(timeline_policy_->count() - 1);  // shows it (currentIndexChanged)
  const int col = table_->columnCount();
  table_->insertColumn(col);
  table_->setHorizontalHeaderItem(col, new QTableWidgetItem(r.policy));
  const QStringList cells = serveMetricCells(r);
  for (int row = 0; row < cells.size(); ++row) {
    auto* item = new QTableWidgetItem(cells[row]);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    item->setToolTip(cells[row]);  // long cells (kernel names, plans) are elided in the column
    table_->setItem(row, col, item);
  }
  table_->resizeColumnsToContents();
  // Numbers first: a column is as wide as its numbers need; long text cells (kernel names, plans)
  // are elided, whole in their tooltips.
  constexpr int kMaxColumn = 100;
  for (int c = 0; c < table_->columnCount(); ++c)
    table_->setColumnWidth(c, std::min(table_->columnWidth(c), kMaxColumn));
  status_->setText(tr("%1 finished: %2 requests, %3 output tokens/s, p99 TTFT %4 ms (%5)")
                       .arg(r.policy).arg(r.metrics.finished).arg(r.metrics.output_tokens_per_s, 0, 'f', 1)
                       .arg(1000 * r.metrics.ttft.p99, 0, 'f', 1).arg(r.workload));
}

void ServePanel::onFinished(bool cancelled, int completed, int total) {
  setBusy(false);
  if (cancelled) {
    status_->setText(tr("Stopped: %1 of %2 policies finished; the interrupted run is recorded as INTERRUPTED.")
                         .arg(completed).arg(total));
  } else if (completed == total && total > 0) {
    progress_->setValue(1000);
  }
}

void ServePanel::onFailed(const QString& message) {
  setBusy(false);
  status_->setText(tr("Failed: %1").arg(message));
}

QString ServePanel::statusText() const { return status_->text(); }

QString ServePanel::planInfoText() const { return plan_info_->text(); }

void ServePanel::showPlan() {
  const QString path = plan_->text().trimmed();
  if (path.isEmpty()) {
    plan_info_->setStyleSheet(QString());
    plan_info_->setText(tr("No plan: every matrix gets the weights above."));
    return;
  }
  Result<QString> d = describePlan(path);
  plan_info_->setStyleSheet(d ? QString() : QString("color: #c62828;"));
  plan_info_->setText(d ? tr("The plan assigns (first match wins):\n%1").arg(*d)
                        : tr("Plan refused: %1").arg(QString::fromStdString(d.error().message)));
}

QWidget* ServePanel::buildTimeline() {
  timeline_ = new RequestTimelineWidget();
  timeline_->setTitle(tr("Request timeline: wait, prefill and decode per request"));
  timeline_->setEmptyText(tr("Run to see each request's wait, prefill and decode"));
  timeline_policy_ = new QComboBox();
  timeline_policy_->setAccessibleName(tr("Timeline policy"));
  connect(timeline_policy_, &QComboBox::currentIndexChanged, this, &ServePanel::showTimeline);
  timeline_area_ = new QScrollArea();
  timeline_area_->setWidget(timeline_);
  timeline_area_->setWidgetResizable(false);  // the timeline sizes itself to its zoom
  timeline_area_->viewport()->installEventFilter(this);
  connect(timeline_, &RequestTimelineWidget::userZoomed, this, [this] { timeline_fit_ = false; });
  auto* fit = new QPushButton(tr("&Fit"));
  auto* in = new QPushButton(tr("Zoom &in"));
  auto* out = new QPushButton(tr("Zoom o&ut"));
  connect(fit, &QPushButton::clicked, this, [this] {
    timeline_fit_ = true;
    fitTimeline();
  });
  connect(in, &QPushButton::clicked, this, [this] {
    timeline_fit_ = false;
    timeline_->zoomTime(1.5);
  });
  connect(out, &QPushButton::clicked, this, [this] {
    timeline_fit_ = false;
    timeline_->zoomTime(1 / 1.5);
  });
  auto* bar = new QHBoxLayout();
  bar->addWidget(new QLabel(tr("Timeline of:")));
  bar->addWidget(timeline_policy_);
  bar->addStretch(1);
  bar->addWidget(fit);
  bar->addWidget(in);
  bar->addWidget(out);
  auto* box = new QWidget();
  auto* v = new QVBoxLayout(box);
  v->setContentsMargins(0, 0, 0, 0);
  v->addLayout(bar);
  v->addWidget(timeline_area_, 1);
  return box;
}

void ServePanel::showTimeline(int index) {
  const int i = index < 0 ? -1 : timeline_policy_->itemData(index).toInt();
  if (i < 0 || i >= results_.size()) {
    timeline_->clear();
    return;
  }
  const ServeResult& r = results_[i];
  timeline_->setSpans(requestSpans(r.requests));
  timeline_->setTitle(tr("Request timeline, %1 (%2 clock): wait, prefill and decode per request").arg(r.policy, r.clock));
  timeline_fit_ = true;
  fitTimeline();  // and again whenever the view is resized (a hidden tab gets its size when shown)
}

void ServePanel::fitTimeline() {
  if (timeline_fit_) timeline_->fitWidth(timeline_area_->viewport()->width());
}

bool ServePanel::eventFilter(QObject* watched, QEvent* event) {
  if (watched == timeline_area_->viewport() && event->type() == QEvent::Resize) fitTimeline();
  return QWidget::eventFilter(watched, event);
}

bool ServePanel::saveTrace(const QString& path, QString* error) const {
  // Trace files hold arrivals and lengths, not prompt ids, so the model's vocabulary does not matter.
  Result<Workload> w = buildServeWorkload(currentRequest(), 512, 1);
  Status s = w ? precis::saveTrace(*w, path.toStdString()) : Status(w.error());
  if (!s && error) *error = QString::fromStdString(s.error().message);
  return s.ok();
}

void ServePanel::setDark(bool dark) {
  for (ChartWidget* c : {occupancy_, kv_, queue_, throughput_, ttft_, tpot_, frontier_}) c->setDark(dark);
  timeline_->setDark(dark);
}

void ServePanel::saveSettings(QSettings& s) const {
  s.beginGroup("serve");
  s.setValue("policies", currentRequest().policies);
  s.setValue("max_batch", max_batch_->value());
  s.setValue("window_ms", window_->value());
  s.setValue("budget", budget_->value());
  s.setValue("chunked", chunked_->isChecked());
  s.setValue("kv_blocks", kv_blocks_->value());
  s.setValue("block_size", block_size_->value());
  s.setValue("max_queue", max_queue_->value());
  s.setValue("shed", shed_->isChecked());
  s.setValue("arrival", arrival_->currentIndex());
  s.setValue("trace", trace_->text());
  s.setValue("ttft_target_ms", ttft_target_->value());
  s.setValue("tpot_target_ms", tpot_target_->value());
  s.setValue("clock", clock_->currentIndex());
  s.setValue("quality", quality_->text());
  s.setValue("quality_max_kl", quality_max_kl_->value());
  s.setValue("quality_min_top1", quality_min_top1_->value());
  s.setValue("rate", rate_->value());
  s.setValue("concurrency", concurrency_->value());
  s.setValue("requests", requests_->value());
  s.setValue("prompt_len", prompt_len_->text());
  s.setValue("output_len", output_len_->text());
  s.setValue("seed", seed_->value());
  s.setValue("weights", weights_->currentText());
  s.setValue("granularity", granularity_->text());
  s.setValue("plan", plan_->text());
  s.setValue("log", log_box_->isChecked());
  s.endGroup();
}

void ServePanel::restoreSettings(const QSettings& s) {
  const QString g = "serve/";
  if (!s.contains(g + "policies")) return;
  const QStringList pols = s.value(g + "policies").toStringList();
  for (const QString& p : kPolicies) policyBox(p)->setChecked(pols.contains(p));
  max_batch_->setValue(s.value(g + "max_batch", 8).toInt());
  window_->setValue(s.value(g + "window_ms", 50).toDouble());
  budget_->setValue(s.value(g + "budget", 256).toInt());
  chunked_->setChecked(s.value(g + "chunked", false).toBool());
  kv_blocks_->setValue(s.value(g + "kv_blocks", 0).toInt());
  block_size_->setValue(s.value(g + "block_size", 16).toInt());
  max_queue_->setValue(s.value(g + "max_queue", 1024).toInt());
  shed_->setChecked(s.value(g + "shed", false).toBool());
  arrival_->setCurrentIndex(s.value(g + "arrival", 0).toInt());
  trace_->setText(s.value(g + "trace").toString());
  ttft_target_->setValue(s.value(g + "ttft_target_ms", 0).toDouble());
  tpot_target_->setValue(s.value(g + "tpot_target_ms", 0).toDouble());
  clock_->setCurrentIndex(s.value(g + "clock", 0).toInt());
  quality_->setText(s.value(g + "quality").toString());
  quality_max_kl_->setValue(s.value(g + "quality_max_kl", 0.05).toDouble());
  quality_min_top1_->setValue(s.value(g + "quality_min_top1", 0.9).toDouble());
  rate_->setValue(s.value(g + "rate", 8).toDouble());
  concurrency_->setValue(s.value(g + "concurrency", 4).toInt());
  requests_->setValue(s.value(g + "requests", 32).toInt());
  prompt_len_->setText(s.value(g + "prompt_len", "16").toString());
  output_len_->setText(s.value(g + "output_len", "8:32").toString());
  seed_->setValue(s.value(g + "seed", 0).toInt());
  weights_->setCurrentText(s.value(g + "weights", "f32").toString());
  granularity_->setText(s.value(g + "granularity", "channel").toString());
  plan_->setText(s.value(g + "plan").toString());
  log_box_->setChecked(s.value(g + "log", true).toBool());
}

}  // namespace precis::ui
