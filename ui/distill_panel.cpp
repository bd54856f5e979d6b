// DistillPanel (see distill_panel.h).
#include "ui/distill_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QVBoxLayout>

#include "engine/quant/scheme.h"
#include "ui/chart_widget.h"

namespace precis::ui {

DistillPanel::DistillPanel(QWidget* parent) : QWidget(parent) {
  teacher_ = new QLabel(tr("the loaded model"));
  teacher_->setWordWrap(true);
  student_ = new QLineEdit("every-other");
  student_->setToolTip(tr("every-other, layers=0,2,5, hidden=N, dim=N, heads=N, or several joined by commas"));
  student_source_ = new QComboBox();
  student_source_->addItem(tr("Built from the teacher"), "teacher");
  student_source_->addItem(tr("From a model file"), "file");
  student_source_->addItem(tr("A fresh shape (JSON config)"), "config");
  student_file_ = new QLineEdit();
  student_browse_ = new QPushButton(tr("Open…"));
  connect(student_browse_, &QPushButton::clicked, this, [this] {
    const bool config = student_source_->currentData().toString() == "config";
    const QString f = QFileDialog::getOpenFileName(
        this, config ? tr("Student shape (JSON)") : tr("Student model"), student_file_->text(),
        config ? tr("JSON (*.json);;All files (*)") : tr("Models (*.gguf *.bin *.safetensors);;All files (*)"));
    if (!f.isEmpty()) student_file_->setText(f);
  });
  auto* student_file_row = new QHBoxLayout();
  student_file_row->addWidget(student_file_, 1);
  student_file_row->addWidget(student_browse_);
  temperature_ = new QDoubleSpinBox();
  temperature_->setRange(0.05, 100);
  temperature_->setValue(2);
  alpha_ = new QDoubleSpinBox();
  alpha_->setRange(0, 1);
  alpha_->setSingleStep(0.05);
  alpha_->setValue(0.9);
  steps_ = new QSpinBox();
  steps_->setRange(1, 1 << 24);
  steps_->setValue(60);
  lr_ = new QDoubleSpinBox();
  lr_->setDecimals(5);
  lr_->setRange(1e-6, 1);
  lr_->setSingleStep(1e-4);
  lr_->setValue(2e-3);
  warmup_ = new QSpinBox();
  warmup_->setRange(-1, 1 << 24);
  warmup_->setValue(-1);
  warmup_->setSpecialValueText(tr("auto (steps / 20)"));
  warmup_->setToolTip(tr("Linear warm-up steps, then cosine decay"));
  min_lr_ = new QDoubleSpinBox();
  min_lr_->setRange(0, 1);
  min_lr_->setSingleStep(0.05);
  min_lr_->setValue(0.1);
  min_lr_->setSuffix(tr(" × lr"));
  min_lr_->setToolTip(tr("The cosine decay's floor, as a fraction of the learning rate"));
  clip_ = new QDoubleSpinBox();
  clip_->setRange(0, 1e6);
  clip_->setValue(1);
  clip_->setSpecialValueText(tr("off"));
  clip_->setToolTip(tr("Global gradient-norm clip"));
  quantize_ = new QComboBox();
  quantize_->addItem(tr("none (fp32 student)"), QString());
  for (int i = 0; i < static_cast<int>(WeightFormat::Count); ++i)
    if (static_cast<WeightFormat>(i) != WeightFormat::F32) {
      const QString name = QString::fromUtf8(weightFormatName(static_cast<WeightFormat>(i)));
      quantize_->addItem(name, name);
    }
  quantize_->setToolTip(tr("Train through fake-quantized weights (straight-through estimator) and write the "
                           "quantized student, as precis-cli distill --quantize"));
  granularity_ = new QLineEdit();
  granularity_->setPlaceholderText(tr("channel (or tensor, group:N)"));
  calibration_ = new QLineEdit();
  calibration_->setPlaceholderText(tr("max (or mse, percentile:P)"));
  quantize_embeddings_ = new QCheckBox(tr("Quantize the embeddings too"));
  batch_ = new QSpinBox();
  batch_->setRange(1, 1024);
  batch_->setValue(8);
  ctx_ = new QSpinBox();
  ctx_->setRange(2, 1 << 16);
  ctx_->setValue(64);
  eval_every_ = new QSpinBox();
  eval_every_->setRange(0, 1 << 24);
  eval_every_->setValue(20);
  eval_every_->setSpecialValueText(tr("only at the end"));
  source_ = new QComboBox();
  source_->addItems({tr("Text sampled from the teacher"), tr("Token-id file"), tr("Text file")});
  sequences_ = new QSpinBox();
  sequences_->setRange(2, 1 << 16);
  sequences_->setValue(8);
  file_ = new QLineEdit();
  file_->setPlaceholderText(tr("token-id file (one sequence per line) or text file"));
  seed_ = new QSpinBox();
  seed_->setRange(0, 1 << 30);
  out_ = new QLineEdit(QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).filePath("student.gguf"));
  auto* browse = new QPushButton(tr("&Browse…"));
  connect(browse, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, tr("Student GGUF"), out_->text(), tr("GGUF (*.gguf)"));
    if (!f.isEmpty()) out_->setText(f);
  });
  auto* out_row = new QHBoxLayout();
  out_row->addWidget(out_, 1);
  out_row->addWidget(browse);
  checkpoints_ = new QCheckBox(tr("C&heckpoints when stopped, and every"));
  checkpoints_->setToolTip(tr("Write the student and its optimizer state (the output file and .optim), as "
                              "precis-cli distill --checkpoint-every; Stop then keeps a checkpoint to resume"));
  checkpoint_every_ = new QSpinBox();
  checkpoint_every_->setRange(0, 1 << 24);
  checkpoint_every_->setSuffix(tr(" steps"));
  checkpoint_every_->setSpecialValueText(tr("only when stopped"));
  auto* ckpt_row = new QHBoxLayout();
  ckpt_row->addWidget(checkpoints_);
  ckpt_row->addWidget(checkpoint_every_, 1);
  resume_ = new QCheckBox(tr("Res&ume from the output file's checkpoint"));
  resume_->setToolTip(tr("Continue the run that wrote the output file's checkpoint (.optim) from its step; the "
                         "same settings give the same trajectory (precis-cli distill --resume)"));
  log_box_ = new QCheckBox(tr("Record the run in the experiment &log"));
  log_box_->setChecked(true);
  auto enable = [this] {
    const bool sample = source_->currentIndex() == 0;
    sequences_->setEnabled(sample);
    file_->setEnabled(!sample);
    const QString student_source = student_source_->currentData().toString();
    const bool from_file = student_source != "teacher";
    student_->setEnabled(!from_file);
    student_file_->setEnabled(from_file);
    student_browse_->setEnabled(from_file);
    student_file_->setPlaceholderText(student_source == "config"
                                          ? tr("JSON: dim, hidden_dim, n_layers, n_heads, ... (vocabulary: the teacher's)")
                                          : tr("a model sharing the teacher's tokenizer"));
    checkpoint_every_->setEnabled(checkpoints_->isChecked());
    const QString f = quantize_->currentData().toString();
    const Result<WeightFormat> wf = parseWeightFormat(f.toStdString());
    granularity_->setEnabled(wf.ok() && formatHasGranularity(*wf));
    calibration_->setEnabled(!f.isEmpty());
    quantize_embeddings_->setEnabled(!f.isEmpty());
  };
  connect(source_, &QComboBox::currentIndexChanged, this, enable);
  connect(student_source_, &QComboBox::currentIndexChanged, this, enable);
  connect(quantize_, &QComboBox::currentIndexChanged, this, enable);
  connect(checkpoints_, &QCheckBox::toggled, this, enable);
  enable();

  auto* model_box = new QGroupBox(tr("Teacher and student"));
  auto* mf = new QFormLayout(model_box);
  mf->addRow(tr("Teacher:"), teacher_);
  mf->addRow(tr("Student:"), student_source_);
  mf->addRow(tr("&Spec:"), student_);
  mf->addRow(tr("Student file:"), student_file_row);
  mf->addRow(tr("&Temperature:"), temperature_);
  mf->addRow(tr("&Alpha (KL weight):"), alpha_);
  auto* qad_box = new QGroupBox(tr("Quantization-aware"));
  auto* qf = new QFormLayout(qad_box);
  qf->addRow(tr("&Format:"), quantize_);
  qf->addRow(tr("&Granularity:"), granularity_);
  qf->addRow(tr("Calib&ration:"), calibration_);
  qf->addRow(quantize_embeddings_);
  auto* train_box = new QGroupBox(tr("Training"));
  auto* tf = new QFormLayout(train_box);
  tf->addRow(tr("St&eps:"), steps_);
  tf->addRow(tr("&Learning rate:"), lr_);
  tf->addRow(tr("&Warm-up steps:"), warmup_);
  tf->addRow(tr("Cosine &floor:"), min_lr_);
  tf->addRow(tr("Gradient c&lip:"), clip_);
  tf->addRow(tr("&Batch:"), batch_);
  tf->addRow(tr("&Context:"), ctx_);
  tf->addRow(tr("E&valuate every:"), eval_every_);
  tf->addRow(tr("&Data:"), source_);
  tf->addRow(tr("Se&quences:"), sequences_);
  tf->addRow(tr("&File:"), file_);
  tf->addRow(tr("See&d:"), seed_);
  tf->addRow(tr("Write to:"), out_row);
  tf->addRow(ckpt_row);
  tf->addRow(resume_);

  start_ = new QPushButton(tr("&Start"));
  stop_ = new QPushButton(tr("St&op"));
  stop_->setEnabled(false);
  open_student_ = new QPushButton(tr("Open the student in the &workbench"));
  open_student_->setEnabled(false);
  connect(start_, &QPushButton::clicked, this, &DistillPanel::start);
  connect(stop_, &QPushButton::clicked, this, [this] {
    status_->setText(tr("Stopping…"));
    emit stopRequested();
  });
  connect(open_student_, &QPushButton::clicked, this, [this] {
    if (!student_path_.isEmpty()) emit openModelRequested(student_path_);
  });
  auto* buttons = new QHBoxLayout();
  buttons->addWidget(start_);
  buttons->addWidget(stop_);
  progress_ = new QProgressBar();
  progress_->setRange(0, 1000);
  status_ = new QLabel(tr("Trains on the CPU: alpha × T² × KL(teacher ‖ student at T) + (1 − alpha) × cross-entropy."));
  status_->setWordWrap(true);
  result_ = new QLabel();
  result_->setWordWrap(true);
  result_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  auto* controls = new QWidget();
  auto* cl = new QVBoxLayout(controls);
  cl->addWidget(model_box);
  cl->addWidget(train_box);
  cl->addWidget(qad_box);
  cl->addWidget(log_box_);
  cl->addLayout(buttons);
  cl->addWidget(progress_);
  cl->addWidget(status_);
  cl->addWidget(result_);
  cl->addWidget(open_student_);
  cl->addStretch(1);
  auto* scroll = new QScrollArea();
  scroll->setWidget(controls);
  scroll->setWidgetResizable(true);
  scroll->setMinimumWidth(320);
  scroll->setMaximumWidth(400);

  loss_chart_ = new ChartWidget();
  loss_chart_->setTitle(tr("Loss and KL to the teacher"));
  loss_chart_->setAxisTitles(tr("step"), tr("nats per token"));
  loss_chart_->setEmptyText(tr("Start a distillation to see its curves"));
  loss_chart_->addSeries(ChartWidget::Kind::Line, tr("training loss"));
  loss_chart_->addSeries(ChartWidget::Kind::Line, tr("KL (train batch, T = 1)"));
  loss_chart_->addSeries(ChartWidget::Kind::Scatter, tr("KL (held out)"));
  agree_chart_ = new ChartWidget();
  agree_chart_->setTitle(tr("Top-1 agreement with the teacher"));
  agree_chart_->setAxisTitles(tr("step"), tr("fraction of tokens"));
  agree_chart_->addSeries(ChartWidget::Kind::Line, tr("train batch"));
  agree_chart_->addSeries(ChartWidget::Kind::Scatter, tr("held out"));
  auto* charts = new QVBoxLayout();
  charts->addWidget(loss_chart_, 1);
  charts->addWidget(agree_chart_, 1);
  auto* layout = new QHBoxLayout(this);
  layout->addWidget(scroll);
  layout->addLayout(charts, 1);
}

void DistillPanel::setTeacher(const QString& description, int context_length) {
  teacher_->setText(description);
  ctx_->setMaximum(std::max(2, context_length));
}

DistillRequest DistillPanel::currentRequest() const {
  DistillRequest r;
  r.student = student_->text().trimmed();
  if (student_source_->currentData().toString() == "file") r.student_file = student_file_->text().trimmed();
  if (student_source_->currentData().toString() == "config") r.student_config = student_file_->text().trimmed();
  r.warmup = warmup_->value();
  r.min_lr_ratio = min_lr_->value();
  r.clip = clip_->value();
  r.quantize = quantize_->currentData().toString();
  if (!r.quantize.isEmpty()) {
    if (granularity_->isEnabled()) r.granularity = granularity_->text().trimmed();
    r.calibration = calibration_->text().trimmed();
    r.quantize_embeddings = quantize_embeddings_->isChecked();
  }
  r.temperature = temperature_->value();
  r.alpha = alpha_->value();
  r.steps = steps_->value();
  r.lr = lr_->value();
  r.batch = batch_->value();
  r.ctx = ctx_->value();
  r.eval_every = eval_every_->value();
  r.source = static_cast<DistillRequest::Source>(source_->currentIndex());
  r.sample_sequences = sequences_->value();
  r.file = file_->text().trimmed();
  r.seed = static_cast<quint64>(seed_->value());
  r.out = out_->text().trimmed();
  r.checkpoints = checkpoints_->isChecked();
  r.checkpoint_every = checkpoints_->isChecked() ? checkpoint_every_->value() : 0;
  r.resume = resume_->isChecked();
  r.log = log_;
  r.log.enabled = log_box_->isChecked();
  return r;
}

void DistillPanel::start() {
  const DistillRequest r = currentRequest();
  if (student_source_->currentData().toString() == "file" && r.student_file.isEmpty()) {
    onFailed(tr("Choose the student's model file (or build the student from the teacher)."));
    return;
  }
  if (student_source_->currentData().toString() == "config" && r.student_config.isEmpty()) {
    onFailed(tr("Choose the student's shape file (JSON), or build the student from the teacher."));
    return;
  }
  if ((r.checkpoints || r.resume) && r.out.isEmpty()) {
    onFailed(tr("Checkpoints and resume use the output file: choose where to write the student."));
    return;
  }
  if (r.source != DistillRequest::Source::Sample && r.file.isEmpty()) {
    onFailed(tr("Choose a data file (or sample the data from the teacher)."));
    return;
  }
  loss_chart_->clearData();
  agree_chart_->clearData();
  result_->clear();
  student_path_.clear();
  open_student_->setEnabled(false);
  progress_->setValue(0);
  status_->setText(tr("Starting…"));
  setBusy(true);
  emit startRequested(r);
}

void DistillPanel::setBusy(bool busy) {
  busy_ = busy;
  start_->setEnabled(!busy);
  stop_->setEnabled(busy);
}

void DistillPanel::onLivePoints(const QVector<LivePoint>& points) {
  QVector<QPointF> by[5];
  for (const LivePoint& p : points)
    if (p.series >= 0 && p.series < 5) by[p.series] << p.point;
  // One bulk append per series.
  const std::pair<ChartWidget*, int> target[5] = {{loss_chart_, 0}, {loss_chart_, 1}, {agree_chart_, 0},
                                                  {loss_chart_, 2}, {agree_chart_, 1}};
  for (int s = 0; s < 5; ++s)
    if (!by[s].isEmpty()) target[s].first->appendPoints(target[s].second, by[s]);
}

void DistillPanel::onProgress(double fraction, const QString& text) {
  progress_->setValue(static_cast<int>(1000 * fraction));
  status_->setText(text);
}

void DistillPanel::onFinished(const DistillResult& r) {
  setBusy(false);
  QString text = tr("%1 of %2 steps on %3 (%4 s). Student %5 parameters (teacher %6).\n"
                    "Held-out KL to the teacher: %7 before, %8 after; top-1 agreement %9 %; perplexity %10.")
                     .arg(r.steps_done).arg(r.steps).arg(r.data).arg(r.seconds, 0, 'f', 1)
                     .arg(r.student_params).arg(r.teacher_params).arg(r.initial_kl, 0, 'g', 4)
                     .arg(r.heldout_kl, 0, 'g', 4).arg(100 * r.heldout_agreement, 0, 'f', 1)
                     .arg(r.heldout_ppl, 0, 'f', 3);
  if (r.resumed_from > 0) text += tr("\nResumed from the checkpoint at step %1.").arg(r.resumed_from);
  if (!r.student_path.isEmpty()) text += tr("\nWrote %1.").arg(r.student_path);
  if (!r.quantized.isEmpty()) text += tr(" Quantization-aware: %1.").arg(r.quantized);
  text += r.log_run ? tr(" Logged as run %1.").arg(r.log_run) : tr(" Not logged.");
  result_->setText(text);
  if (r.cancelled && !r.checkpoint.isEmpty()) {
    status_->setText(tr("Stopped after %1 of %2 steps: checkpoint written to %3 (+ .optim); tick Resume and Start "
                        "to continue; the run is INTERRUPTED.")
                         .arg(r.steps_done).arg(r.steps).arg(r.checkpoint));
  } else if (r.cancelled) {
    status_->setText(tr("Stopped after %1 of %2 steps: the student was not written; the run is INTERRUPTED.")
                         .arg(r.steps_done).arg(r.steps));
  } else {
    progress_->setValue(1000);
    status_->setText(tr("Finished."));
  }
  student_path_ = r.student_path;
  open_student_->setEnabled(!student_path_.isEmpty());
}

void DistillPanel::onFailed(const QString& message) {
  setBusy(false);
  status_->setText(tr("Failed: %1").arg(message));
}

QString DistillPanel::statusText() const { return status_->text(); }
QString DistillPanel::resultText() const { return result_->text(); }

void DistillPanel::setDark(bool dark) {
  loss_chart_->setDark(dark);
  agree_chart_->setDark(dark);
}

void DistillPanel::saveSettings(QSettings& s) const {
  s.beginGroup("distill");
  s.setValue("student", student_->text());
  s.setValue("student_source", student_source_->currentIndex());
  s.setValue("student_file", student_file_->text());
  s.setValue("warmup", warmup_->value());
  s.setValue("min_lr", min_lr_->value());
  s.setValue("clip", clip_->value());
  s.setValue("quantize", quantize_->currentData().toString());
  s.setValue("granularity", granularity_->text());
  s.setValue("calibration", calibration_->text());
  s.setValue("quantize_embeddings", quantize_embeddings_->isChecked());
  s.setValue("temperature", temperature_->value());
  s.setValue("alpha", alpha_->value());
  s.setValue("steps", steps_->value());
  s.setValue("lr", lr_->value());
  s.setValue("batch", batch_->value());
  s.setValue("ctx", ctx_->value());
  s.setValue("eval_every", eval_every_->value());
  s.setValue("source", source_->currentIndex());
  s.setValue("sequences", sequences_->value());
  s.setValue("file", file_->text());
  s.setValue("seed", seed_->value());
  s.setValue("out", out_->text());
  s.setValue("checkpoints", checkpoints_->isChecked());
  s.setValue("checkpoint_every", checkpoint_every_->value());
  s.setValue("log", log_box_->isChecked());
  s.endGroup();
}

void DistillPanel::restoreSettings(const QSettings& s) {
  const QString g = "distill/";
  if (!s.contains(g + "student")) return;
  student_->setText(s.value(g + "student").toString());
  student_source_->setCurrentIndex(s.value(g + "student_source", 0).toInt());
  student_file_->setText(s.value(g + "student_file").toString());
  warmup_->setValue(s.value(g + "warmup", -1).toInt());
  min_lr_->setValue(s.value(g + "min_lr", 0.1).toDouble());
  clip_->setValue(s.value(g + "clip", 1.0).toDouble());
  quantize_->setCurrentIndex(std::max(0, quantize_->findData(s.value(g + "quantize").toString())));
  granularity_->setText(s.value(g + "granularity").toString());
  calibration_->setText(s.value(g + "calibration").toString());
  quantize_embeddings_->setChecked(s.value(g + "quantize_embeddings", false).toBool());
  temperature_->setValue(s.value(g + "temperature", 2).toDouble());
  alpha_->setValue(s.value(g + "alpha", 0.9).toDouble());
  steps_->setValue(s.value(g + "steps", 60).toInt());
  lr_->setValue(s.value(g + "lr", 2e-3).toDouble());
  batch_->setValue(s.value(g + "batch", 8).toInt());
  ctx_->setValue(s.value(g + "ctx", 64).toInt());
  eval_every_->setValue(s.value(g + "eval_every", 20).toInt());
  source_->setCurrentIndex(s.value(g + "source", 0).toInt());
  sequences_->setValue(s.value(g + "sequences", 8).toInt());
  file_->setText(s.value(g + "file").toString());
  seed_->setValue(s.value(g + "seed", 0).toInt());
  out_->setText(s.value(g + "out", out_->text()).toString());
  checkpoints_->setChecked(s.value(g + "checkpoints", false).toBool());
  checkpoint_every_->setValue(s.value(g + "checkpoint_every", 0).toInt());
  log_box_->setChecked(s.value(g + "log", true).toBool());
}

}  // namespace precis::ui
