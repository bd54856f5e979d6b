// Quantize panel (see quantize_panel.h).
#include "ui/quantize_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QRegularExpression>
#include <QTabWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <limits>

#include "engine/quant/scheme.h"
#include "ui/chart_widget.h"
#include "ui/heatmap_widget.h"
#include "ui/token_view.h"

namespace precis::ui {

namespace {
// GGUF/float formats (real kernels) first, then the lab formats (packed storage and packed CPU kernels).
const QStringList kPlainFormats = {"f32", "f16", "bf16", "q8_0", "q4_0"};
QStringList allFormats() {
  QStringList out = kPlainFormats;
  for (WeightFormat f : {WeightFormat::Fp8E4M3, WeightFormat::Fp8E5M2, WeightFormat::Int8, WeightFormat::Int8Asym,
                         WeightFormat::Int4, WeightFormat::Int4Asym, WeightFormat::Nf4})
    out << weightFormatName(f);
  return out;
}
bool granular(const QString& format) {
  Result<WeightFormat> f = parseWeightFormat(format.toStdString());
  return f && formatHasGranularity(*f);
}
}  // namespace

QuantizePanel::QuantizePanel(QWidget* parent) : QWidget(parent) {
  format_ = new QComboBox();
  format_->addItems(allFormats());
  format_->setCurrentText("q8_0");
  format_->setToolTip(tr("f32 … q4_0 run on their real kernels; int8, int4, nf4 and fp8 are stored packed and "
                         "run packed kernels on the CPU (int8 activations: integer kernels for int8/int4, "
                         "simulated for nf4/fp8; fp8 activations simulated); the run's details say which ran"));
  granularity_ = new QComboBox();
  granularity_->setEditable(true);
  granularity_->addItems({"channel", "tensor", "group:32", "group:64", "group:128"});
  activations_ = new QComboBox();
  activations_->addItems({"none", "int8", "fp8-e4m3"});
  act_granularity_ = new QComboBox();
  act_granularity_->addItem(tr("per token (dynamic)"), "token");
  act_granularity_->addItem(tr("per tensor (static, calibrated)"), "tensor");
  calibration_ = new QComboBox();
  calibration_->setEditable(true);
  calibration_->addItems({"max", "mse", "percentile:99.99", "percentile:99.9"});
  overrides_ = new QPlainTextEdit();
  overrides_->setPlaceholderText(tr("one per line: PATTERN=FORMAT[@GRANULARITY] or PATTERN=keep\n"
                                    "e.g. blk.*.ffn_down.weight=int8@channel"));
  overrides_->setMaximumHeight(64);
  overrides_->setTabChangesFocus(true);
  auto enable_scheme = [this] {
    granularity_->setEnabled(granular(format_->currentText()));
    calibration_->setEnabled(granular(format_->currentText()));
    act_granularity_->setEnabled(activations_->currentText() != "none");
  };
  connect(format_, &QComboBox::currentTextChanged, this, enable_scheme);
  connect(activations_, &QComboBox::currentTextChanged, this, enable_scheme);
  enable_scheme();
  log_box_ = new QCheckBox(tr("Record runs in the experiment &log"));
  log_box_->setChecked(true);
  embeddings_ = new QCheckBox(tr("Convert the &embeddings too"));
  source_ = new QComboBox();
  source_->addItems({tr("Tokens sampled from the model"), tr("Token-id file"), tr("Text file")});
  sample_ = new QSpinBox();
  sample_->setRange(2, 1 << 20);
  sample_->setValue(256);
  seed_ = new QSpinBox();
  seed_->setRange(0, 1 << 30);
  file_ = new QLineEdit();
  file_->setPlaceholderText(tr("token-id file (one sequence per line) or text file"));
  auto* browse = new QPushButton(tr("&Browse…"));
  connect(browse, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Evaluation data"));
    if (!f.isEmpty()) file_->setText(f);
  });
  auto* file_row = new QHBoxLayout();
  file_row->addWidget(file_, 1);
  file_row->addWidget(browse);
  ctx_ = new QSpinBox();
  ctx_->setRange(0, 1 << 20);
  ctx_->setValue(64);
  ctx_->setSpecialValueText(tr("model's context"));
  auto enable_source = [this] {
    const bool sample = source_->currentIndex() == 0;
    sample_->setEnabled(sample);
    seed_->setEnabled(sample);
    file_->setEnabled(!sample);
  };
  connect(source_, &QComboBox::currentIndexChanged, this, enable_source);
  enable_source();

  auto* form = new QFormLayout();
  form->addRow(tr("&Weights:"), format_);
  form->addRow(tr("&Granularity:"), granularity_);
  form->addRow(tr("&Activations:"), activations_);
  form->addRow(tr("Act. sca&les:"), act_granularity_);
  form->addRow(tr("Ca&libration:"), calibration_);
  form->addRow(tr("&Overrides:"), overrides_);
  form->addRow(QString(), embeddings_);
  form->addRow(tr("&Data:"), source_);
  form->addRow(tr("&Tokens:"), sample_);
  form->addRow(tr("S&eed:"), seed_);
  auto* file_label = new QLabel(tr("&File:"));
  file_label->setBuddy(file_);
  form->addRow(file_label, file_row);
  form->addRow(tr("&Window (ctx):"), ctx_);

  sweep_formats_ = new QListWidget();
  sweep_formats_->setAccessibleName(tr("Sweep formats"));
  for (const QString& f : allFormats()) {
    auto* it = new QListWidgetItem(f, sweep_formats_);
    it->setFlags(it->flags() | Qt::ItemIsUserCheckable);
    it->setCheckState(kPlainFormats.contains(f) ? Qt::Checked : Qt::Unchecked);
  }
  sweep_formats_->setMaximumHeight(110);
  form->addRow(tr("S&weep over:"), sweep_formats_);

  evaluate_ = new QPushButton(tr("E&valuate"));
  sweep_ = new QPushButton(tr("&Sweep"));
  cancel_ = new QPushButton(tr("&Cancel"));
  cancel_->setEnabled(false);
  sensitivity_ = new QPushButton(tr("Se&nsitivity"));
  sensitivity_->setToolTip(tr("Quantize one tensor at a time to the chosen weights (everything else as stored) "
                              "and measure the KL of each"));
  connect(sensitivity_, &QPushButton::clicked, this, &QuantizePanel::startSensitivity);
  connect(evaluate_, &QPushButton::clicked, this, &QuantizePanel::startEvaluate);
  connect(sweep_, &QPushButton::clicked, this, &QuantizePanel::startSweep);
  connect(cancel_, &QPushButton::clicked, this, [this] {
    status_->setText(tr("Cancelling…"));
    emit cancelRequested();
  });
  auto* buttons = new QHBoxLayout();
  buttons->addWidget(evaluate_);
  buttons->addWidget(sweep_);
  buttons->addWidget(sensitivity_);
  buttons->addWidget(cancel_);
  progress_ = new QProgressBar();
  progress_->setRange(0, 1000);
  progress_->setTextVisible(false);
  status_ = new QLabel(tr("Open a model, choose a format and press Evaluate."));
  status_->setWordWrap(true);

  auto* controls = new QGroupBox(tr("Evaluation"));
  auto* cl = new QVBoxLayout(controls);
  cl->addLayout(form);
  cl->addWidget(log_box_);
  cl->addLayout(buttons);
  cl->addWidget(progress_);
  cl->addWidget(status_);
  cl->addStretch(1);

  table_ = new QTableWidget(0, evalColumnNames().size());
  table_->setHorizontalHeaderLabels(evalColumnNames());
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->verticalHeader()->hide();
  table_->setAccessibleName(tr("Evaluation results"));
  connect(table_, &QTableWidget::itemSelectionChanged, this, [this] {
    const QList<QTableWidgetItem*> sel = table_->selectedItems();
    if (!sel.isEmpty()) details_->setText(evalDetails(runs_.value(table_->item(sel.first()->row(), 0)->text().toInt())));
  });

  chart_ = new ChartWidget();
  chart_->setLogY(true);  // quality spans orders of magnitude; KL 0 (f32) is kept in the CSV, not drawn
  chart_->setEmptyText(tr("Each evaluation becomes a point here. Click a point to see its run."));
  s_runs_ = chart_->addSeries(ChartWidget::Kind::Scatter, tr("runs"));
  s_pareto_ = chart_->addSeries(ChartWidget::Kind::Line, tr("Pareto-optimal"));
  connect(chart_, &ChartWidget::pointClicked, this, [this](int series, int index) {
    const QVector<int>& runs = series == s_pareto_ ? pareto_runs_ : point_runs_;
    if (index >= 0 && index < runs.size()) showRun(runs[index]);
  });
  axis_ = new QComboBox();
  axis_->addItem(tr("bits per weight (size)"));
  axis_->addItem(tr("measured tokens/s (speed)"));
  axis_->setToolTip(tr("Quality against size, or against the quantized model's measured speed during its evaluation"));
  connect(axis_, &QComboBox::currentIndexChanged, this, &QuantizePanel::redrawFrontier);
  auto* axis_label = new QLabel(tr("Frontier &x axis:"));
  axis_label->setBuddy(axis_);
  auto* axis_row = new QHBoxLayout();
  axis_row->addWidget(axis_label);
  axis_row->addWidget(axis_);
  axis_row->addStretch(1);
  auto* frontier = new QWidget();
  auto* fl = new QVBoxLayout(frontier);
  fl->setContentsMargins(0, 0, 0, 0);
  fl->addLayout(axis_row);
  fl->addWidget(chart_, 1);
  redrawFrontier();
  details_ = new QLabel();
  details_->setWordWrap(true);
  details_->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
  details_->setAlignment(Qt::AlignTop | Qt::AlignLeft);

  auto* right = new QSplitter(Qt::Vertical);
  right->addWidget(table_);
  auto* lower = new QSplitter(Qt::Horizontal);
  lower->addWidget(frontier);
  lower->addWidget(details_);
  lower->setSizes({560, 400});
  heatmap_ = new HeatmapWidget();
  heatmap_->setTitle(tr("Sensitivity: mean KL when only this tensor is quantized"));
  heatmap_->setEmptyText(tr("Press Sensitivity to quantize one tensor at a time to the chosen weights."));
  sens_chart_ = new ChartWidget();
  sens_chart_->setTitle(tr("KL per tensor, most sensitive first"));
  sens_chart_->setAxisTitles(tr("rank"), tr("mean KL (nats)"));
  sens_chart_->addSeries(ChartWidget::Kind::Markers, tr("tensors"));
  sens_text_ = new QLabel();
  sens_text_->setWordWrap(true);
  sens_text_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  sens_text_->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
  auto* sens = new QSplitter(Qt::Horizontal);
  sens->addWidget(heatmap_);
  auto* sens_right = new QSplitter(Qt::Vertical);
  sens_right->addWidget(sens_chart_);
  sens_right->addWidget(sens_text_);
  sens->addWidget(sens_right);
  sens->setSizes({560, 400});
  result_tabs_ = new QTabWidget();
  result_tabs_->addTab(lower, tr("Frontier"));
  result_tabs_->addTab(sens, tr("Sensitivity"));
  token_view_ = new TokenView();
  result_tabs_->addTab(token_view_, tr("Tokens"));
  right->addWidget(result_tabs_);
  right->setStretchFactor(1, 2);
  auto* split = new QSplitter();
  split->addWidget(controls);
  split->addWidget(right);
  split->setSizes({360, 1000});
  auto* l = new QVBoxLayout(this);
  l->addWidget(split);
}

EvalRequest QuantizePanel::currentRequest() const {
  EvalRequest r;
  r.format = format_->currentText();
  r.granularity = granularity_->currentText().trimmed();
  r.activations = activations_->currentText();
  r.act_granularity = act_granularity_->currentData().toString();
  r.calibration = calibration_->currentText().trimmed();
  for (const QString& line : overrides_->toPlainText().split('\n'))
    if (!line.trimmed().isEmpty()) r.overrides << line.trimmed();
  r.log = log_box_->isChecked();
  r.db = db_;
  r.quantize_embeddings = embeddings_->isChecked();
  r.source = static_cast<EvalRequest::Source>(source_->currentIndex());
  r.sample_tokens = sample_->value();
  r.seed = static_cast<quint64>(seed_->value());
  r.file = file_->text();
  r.ctx = ctx_->value();
  return r;
}

QStringList QuantizePanel::sweepFormats() const {
  QStringList out;
  for (int i = 0; i < sweep_formats_->count(); ++i)
    if (sweep_formats_->item(i)->checkState() == Qt::Checked) out << sweep_formats_->item(i)->text();
  return out;
}

void QuantizePanel::setModelContext(int context_length, bool has_tokenizer) {
  sample_->setMaximum(std::max(2, context_length - 1));
  ctx_->setMaximum(context_length);
  if (sample_->value() > sample_->maximum()) sample_->setValue(sample_->maximum());
  status_->setText(has_tokenizer ? tr("Ready.") : tr("Ready. This model has no tokenizer: use sampled tokens or a token-id file."));
}

void QuantizePanel::saveSettings(QSettings& s) const {
  s.setValue("quantize/format", format_->currentText());
  s.setValue("quantize/embeddings", embeddings_->isChecked());
  s.setValue("quantize/source", source_->currentIndex());
  s.setValue("quantize/sample", sample_->value());
  s.setValue("quantize/seed", seed_->value());
  s.setValue("quantize/file", file_->text());
  s.setValue("quantize/ctx", ctx_->value());
  s.setValue("quantize/sweep", sweepFormats());
  s.setValue("quantize/granularity", granularity_->currentText());
  s.setValue("quantize/activations", activations_->currentText());
  s.setValue("quantize/act_granularity", act_granularity_->currentIndex());
  s.setValue("quantize/calibration", calibration_->currentText());
  s.setValue("quantize/overrides", overrides_->toPlainText());
  s.setValue("quantize/log", log_box_->isChecked());
}

void QuantizePanel::restoreSettings(const QSettings& s) {
  format_->setCurrentText(s.value("quantize/format", "q8_0").toString());
  embeddings_->setChecked(s.value("quantize/embeddings", false).toBool());
  source_->setCurrentIndex(s.value("quantize/source", 0).toInt());
  sample_->setValue(s.value("quantize/sample", 256).toInt());
  seed_->setValue(s.value("quantize/seed", 0).toInt());
  file_->setText(s.value("quantize/file").toString());
  ctx_->setValue(s.value("quantize/ctx", 64).toInt());
  granularity_->setCurrentText(s.value("quantize/granularity", "channel").toString());
  activations_->setCurrentText(s.value("quantize/activations", "none").toString());
  act_granularity_->setCurrentIndex(s.value("quantize/act_granularity", 0).toInt());
  calibration_->setCurrentText(s.value("quantize/calibration", "max").toString());
  overrides_->setPlainText(s.value("quantize/overrides").toString());
  log_box_->setChecked(s.value("quantize/log", true).toBool());
  if (s.contains("quantize/sweep")) {
    const QStringList on = s.value("quantize/sweep").toStringList();
    for (int i = 0; i < sweep_formats_->count(); ++i)
      sweep_formats_->item(i)->setCheckState(on.contains(sweep_formats_->item(i)->text()) ? Qt::Checked : Qt::Unchecked);
  }
}

void QuantizePanel::setDark(bool dark) {
  chart_->setDark(dark);
  sens_chart_->setDark(dark);
}

void QuantizePanel::setBusy(bool busy) {
  busy_ = busy;
  evaluate_->setEnabled(!busy);
  sweep_->setEnabled(!busy);
  sensitivity_->setEnabled(!busy);
  cancel_->setEnabled(busy);
  if (!busy) progress_->setValue(0);
}

void QuantizePanel::startEvaluate() {
  setBusy(true);
  sweeping_ = false;
  status_->setText(tr("Evaluating %1…").arg(format_->currentText()));
  emit evaluateRequested(currentRequest());
}

void QuantizePanel::startSweep() {
  const QStringList formats = sweepFormats();
  if (formats.isEmpty()) {
    status_->setText(tr("Tick at least one format to sweep over."));
    return;
  }
  setBusy(true);
  sweeping_ = true;
  sweep_rows_.clear();
  status_->setText(tr("Sweeping over %1…").arg(formats.join(", ")));
  emit sweepRequested(currentRequest(), formats);
}

void QuantizePanel::startSensitivity() {
  setBusy(true);
  sweeping_ = false;
  status_->setText(tr("Sensitivity: quantizing one tensor at a time…"));
  result_tabs_->setCurrentIndex(1);
  emit sensitivityRequested(currentRequest());
}

void QuantizePanel::onSensitivity(const SensitivityResult& r) {
  setBusy(false);
  // Heatmap: rows = layers, columns = the tensor kinds of a block ("attn_q", ...), in model order.
  static const QRegularExpression block(R"(^blk\.(\d+)\.(.+)\.weight$)");
  QStringList kinds;
  int layers = 0;
  QVector<QPointF> bars;
  QString text = tr("%1 tensors quantized one at a time to %2 (%3; %4 s). Most sensitive:\n")
                     .arg(r.rows.size()).arg(r.spec, r.input).arg(r.seconds, 0, 'f', 1);
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const QString name = QString::fromStdString(r.rows[i].name);
    bars << QPointF(double(i + 1), r.rows[i].kl_mean);
    if (i < 8) text += QString("  %1. %2: KL %3, top-1 %4 %\n").arg(i + 1).arg(name).arg(r.rows[i].kl_mean, 0, 'g', 4)
                           .arg(100 * r.rows[i].top1, 0, 'f', 2);
    const QRegularExpressionMatch m = block.match(name);
    if (!m.hasMatch()) continue;
    layers = std::max(layers, m.captured(1).toInt() + 1);
    if (!kinds.contains(m.captured(2))) kinds << m.captured(2);
  }
  static const QStringList order = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
  std::sort(kinds.begin(), kinds.end(), [](const QString& a, const QString& b) {
    const auto ia = order.indexOf(a), ib = order.indexOf(b);
    return (ia < 0 ? 99 : ia) != (ib < 0 ? 99 : ib) ? (ia < 0 ? 99 : ia) < (ib < 0 ? 99 : ib) : a < b;
  });
  QStringList rows;
  for (int l = 0; l < layers; ++l) rows << tr("layer %1").arg(l);
  QVector<double> values(layers * kinds.size(), std::numeric_limits<double>::quiet_NaN());
  for (const SensitivityRow& row : r.rows) {
    const QRegularExpressionMatch m = block.match(QString::fromStdString(row.name));
    if (m.hasMatch()) values[m.captured(1).toInt() * kinds.size() + kinds.indexOf(m.captured(2))] = row.kl_mean;
  }
  heatmap_->setData(rows, kinds, values);
  sens_chart_->setPoints(0, bars);
  sens_text_->setText(text);
  status_->setText(tr("Sensitivity done: %1 tensors.").arg(r.rows.size()));
}

void QuantizePanel::onEvaluation(const EvalRecord& r) {
  runs_.insert(r.id, r);
  const int row = table_->rowCount();
  table_->insertRow(row);
  const QStringList cells = evalCells(r);
  for (int c = 0; c < cells.size(); ++c) {
    auto* item = new QTableWidgetItem(cells[c]);
    if (c >= 2 && c < cells.size() - 1) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    table_->setItem(row, c, item);
  }
  run_rows_.insert(r.id, row);
  if (sweeping_) sweep_rows_.push_back(row);
  table_->resizeColumnsToContents();
  details_->setText(evalDetails(r));
  token_view_->setRecord(r);
  if (live_.contains(r.id)) redrawFrontier();  // its point arrived first: now its speed is known
  if (!sweeping_) {
    setBusy(false);
    status_->setText(tr("Run %1 (%2) done in %3 s.").arg(r.id).arg(r.format).arg(r.seconds, 0, 'f', 2));
  }
}

void QuantizePanel::onFrontierPoints(const QVector<LivePoint>& points) {
  for (const LivePoint& p : points) {
    arrived_.push_back(p.tag);
    live_.insert(p.tag, p.point);
  }
  redrawFrontier();
}

FrontierAxis QuantizePanel::frontierAxis() const {
  return axis_->currentIndex() == 1 ? FrontierAxis::TokensPerSecond : FrontierAxis::BitsPerWeight;
}

// One point per run in arrival order, at (bits/weight or tokens/s, KL mean), and the Pareto-optimal
// ones joined in ascending x. A run whose record has not arrived yet is drawn from its fed point
// (bits per weight) and left out of the speed frontier until it does.
void QuantizePanel::redrawFrontier() {
  const bool speed = frontierAxis() == FrontierAxis::TokensPerSecond;
  chart_->setTitle(speed ? tr("Quality vs speed: one point per run") : tr("Quality vs size: one point per run"));
  chart_->setAxisTitles(speed ? tr("tokens/s of the quantized model (measured during its evaluation)")
                              : tr("bits per weight"),
                        tr("KL divergence to the reference, mean (nats, log scale)"));
  QVector<QPointF> xy;
  std::vector<FrontierPoint> pts;
  point_runs_.clear();
  for (int id : arrived_) {
    QPointF p = live_.value(id);
    if (runs_.contains(id)) {
      const EvalRecord& r = runs_[id];
      p = QPointF(speed ? r.tokens_per_s : r.bits_per_weight, r.stats.kl.mean);
    } else if (speed) {
      continue;
    }
    xy.push_back(p);
    pts.push_back({p.x(), p.y()});
    point_runs_.push_back(id);
  }
  QVector<QPointF> front;
  pareto_runs_.clear();
  for (int i : paretoFront(pts, frontierAxis())) {
    front.push_back(xy[i]);
    pareto_runs_.push_back(point_runs_[i]);
  }
  chart_->setPoints(s_runs_, xy);
  chart_->setPoints(s_pareto_, front);
}

void QuantizePanel::onProgress(const QString& task, double fraction, const QString& text) {
  if (task != "evaluate" && task != "sweep" && task != "sensitivity") return;
  progress_->setValue(static_cast<int>(1000 * fraction));
  status_->setText(text);
}

void QuantizePanel::onFailed(const QString& task, const QString& message) {
  if (task != "evaluate" && task != "sweep" && task != "sensitivity") return;
  if (task != "sweep") setBusy(false);
  status_->setText(tr("Error: %1").arg(message));
}

void QuantizePanel::onCancelled(const QString& task) {
  if (task == "evaluate" || task == "sensitivity") {
    setBusy(false);
    status_->setText(task == "evaluate" ? tr("Evaluation cancelled.") : tr("Sensitivity analysis cancelled."));
  }
}

void QuantizePanel::onSweepFinished(bool cancelled, int completed, int total) {
  setBusy(false);
  sweeping_ = false;
  if (cancelled) {
    status_->setText(tr("Sweep cancelled after %1 of %2 formats; the finished runs are kept.").arg(completed).arg(total));
    for (int row : sweep_rows_)
      if (QTableWidgetItem* it = table_->item(row, table_->columnCount() - 1))
        it->setText(it->text() + tr(" (sweep cancelled)"));
  } else {
    status_->setText(tr("Sweep done: %1 of %2 formats evaluated.").arg(completed).arg(total));
  }
}

void QuantizePanel::showRun(int run_id) {
  if (!runs_.contains(run_id)) return;
  details_->setText(evalDetails(runs_.value(run_id)));
  token_view_->setRecord(runs_.value(run_id));
  const QSignalBlocker block(table_);
  table_->selectRow(run_rows_.value(run_id));
}

QString QuantizePanel::statusText() const { return status_->text(); }
QString QuantizePanel::detailsText() const { return details_->text(); }

}  // namespace precis::ui
