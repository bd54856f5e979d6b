// Runs panel (see runs_panel.h).
#include "ui/runs_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "ui/chart_widget.h"

namespace precis::ui {

RunsPanel::RunsPanel(QWidget* parent) : QWidget(parent) {
  qRegisterMetaType<precis::ui::RunRow>();
  qRegisterMetaType<QVector<precis::ui::RunRow>>();
  qRegisterMetaType<precis::ui::RunView>();
  qRegisterMetaType<precis::ui::RunCompare>();
  qRegisterMetaType<QVector<qint64>>();
  worker_ = new RunsWorker();
  worker_->moveToThread(&thread_);
  connect(this, &RunsPanel::openRequested, worker_, &RunsWorker::open);
  connect(this, &RunsPanel::refreshRequested, worker_, &RunsWorker::refresh);
  connect(this, &RunsPanel::detailRequested, worker_, &RunsWorker::detail);
  connect(this, &RunsPanel::removeRequested, worker_, &RunsWorker::remove);
  connect(this, &RunsPanel::compareRequested, worker_, &RunsWorker::compare);
  connect(this, &RunsPanel::approveRequested, worker_, &RunsWorker::approve);
  connect(this, &RunsPanel::exportRequested, worker_, &RunsWorker::exportConfig);
  connect(this, &RunsPanel::exportWeightsRequested, worker_, &RunsWorker::exportWeights);
  connect(worker_, &RunsWorker::weightsExported, this, [this](qint64 id, const QString& path, const QString& sha) {
    cancel_export_->setEnabled(false);
    approval_->setText(tr("Exported the weights of run %1 to %2 (sha256 %3), recorded as its weights artifact")
                           .arg(id).arg(path, sha));
  });
  connect(worker_, &RunsWorker::exportProgress, this, [this](int done, int total) {
    if (cancel_export_->isEnabled())
      approval_->setText(tr("Converting the weights: tensor %1 of %2…").arg(done).arg(total));
  });
  connect(worker_, &RunsWorker::comparisonReady, this, &RunsPanel::showComparison);
  connect(worker_, &RunsWorker::approvalDone, this, [this](qint64 id, bool ok, const QString& text) {
    approval_->setText(tr("Run %1 %2 (recorded in the log):\n%3").arg(id).arg(ok ? tr("APPROVED") : tr("REFUSED"), text));
  });
  connect(worker_, &RunsWorker::exported, this, [this](qint64 id, const QString& path, const QString& sha) {
    approval_->setText(tr("Exported run %1 to %2 (sha256 %3)").arg(id).arg(path, sha));
  });
  connect(worker_, &RunsWorker::runsListed, this, &RunsPanel::showRuns);
  connect(worker_, &RunsWorker::detailReady, this, &RunsPanel::showDetail);
  connect(worker_, &RunsWorker::opened, this, [this](const QString& p) { path_->setText(p); });
  connect(worker_, &RunsWorker::failed, this, [this](const QString& m) {
    cancel_export_->setEnabled(false);
    status_->setText(m);
    approval_->setText(m);
  });
  thread_.start();

  path_ = new QLineEdit();
  path_->setAccessibleName(tr("Experiment log file"));
  auto* open = new QPushButton(tr("Op&en log"));
  connect(open, &QPushButton::clicked, this, [this] { openLog(path_->text()); });
  filter_ = new QLineEdit();
  filter_->setPlaceholderText(tr("Filter runs (any column)"));
  filter_->setAccessibleName(tr("Filter runs"));
  auto* del = new QPushButton(tr("&Delete run"));
  connect(del, &QPushButton::clicked, this, [this] {
    if (selectedId() && QMessageBox::question(this, tr("Delete run"), tr("Delete run %1 and everything logged for it?")
                                                                          .arg(selectedId())) == QMessageBox::Yes)
      deleteSelected();
  });
  auto* top = new QHBoxLayout();
  top->addWidget(new QLabel(tr("Log:")));
  top->addWidget(path_, 2);
  top->addWidget(open);
  top->addWidget(filter_, 1);
  top->addWidget(del);

  model_ = new QStandardItemModel(0, 8, this);
  model_->setHorizontalHeaderLabels({tr("id"), tr("experiment"), tr("kind"), tr("name"), tr("status"),
                                     tr("started"), tr("seconds"), tr("metrics")});
  proxy_ = new QSortFilterProxyModel(this);
  proxy_->setSourceModel(model_);
  proxy_->setFilterKeyColumn(-1);
  proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
  proxy_->setSortRole(Qt::UserRole);
  connect(filter_, &QLineEdit::textChanged, proxy_, &QSortFilterProxyModel::setFilterFixedString);
  view_ = new QTableView();
  view_->setModel(proxy_);
  view_->setSortingEnabled(true);
  view_->sortByColumn(0, Qt::DescendingOrder);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  view_->verticalHeader()->hide();
  view_->horizontalHeader()->setStretchLastSection(true);
  view_->setAccessibleName(tr("Runs"));
  connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
    const QVector<qint64> ids = selectedIds();
    if (!ids.isEmpty()) emit detailRequested(ids.first());
    if (ids.size() >= 2) emit compareRequested(ids);
  });

  details_ = new QLabel(tr("Select a run to see its parameters and metrics."));
  details_->setWordWrap(true);
  details_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  details_->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
  chart_ = new ChartWidget();
  chart_->setTitle(tr("Metric history of the selected run"));
  chart_->setAxisTitles(tr("step"), tr("value"));
  chart_->setEmptyText(tr("Metrics logged over several steps (training curves, sweeps) are drawn here."));
  status_ = new QLabel();
  status_->setWordWrap(true);

  auto* lower = new QSplitter();
  lower->addWidget(details_);
  lower->addWidget(chart_);
  lower->setSizes({500, 700});
  compare_ = new QTableWidget();
  compare_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  compare_->setAccessibleName(tr("Parameter and metric differences"));
  overlay_metric_ = new QComboBox();
  overlay_metric_->setAccessibleName(tr("Metric to overlay"));
  connect(overlay_metric_, &QComboBox::currentIndexChanged, this, &RunsPanel::drawOverlay);
  overlay_ = new ChartWidget();
  overlay_->setTitle(tr("Metric history, one curve per run"));
  overlay_->setAxisTitles(tr("step"), tr("value"));
  overlay_->setEmptyText(tr("Select several runs (Ctrl+click) to compare them."));
  auto* overlay_box = new QWidget();
  auto* ol = new QVBoxLayout(overlay_box);
  ol->setContentsMargins(0, 0, 0, 0);
  auto* om = new QHBoxLayout();
  om->addWidget(new QLabel(tr("Overlay:")));
  om->addWidget(overlay_metric_, 1);
  ol->addLayout(om);
  ol->addWidget(overlay_, 1);
  auto* compare_split = new QSplitter();
  compare_split->addWidget(compare_);
  compare_split->addWidget(overlay_box);
  compare_split->setSizes({500, 700});
  lower_tabs_ = new QTabWidget();
  lower_tabs_->addTab(lower, tr("Details"));
  lower_tabs_->addTab(compare_split, tr("Compare"));
  lower_tabs_->addTab(buildPolicyTab(), tr("Approve and export"));
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(view_);
  split->addWidget(lower_tabs_);
  auto* l = new QVBoxLayout(this);
  l->addLayout(top);
  l->addWidget(split, 1);
  l->addWidget(status_);

  timer_.setInterval(2000);
  connect(&timer_, &QTimer::timeout, this, &RunsPanel::refresh);
  timer_.start();
}

RunsPanel::~RunsPanel() {
  timer_.stop();
  thread_.quit();
  thread_.wait();
  delete worker_;
}

void RunsPanel::openLog(const QString& path) { emit openRequested(path); }

QWidget* RunsPanel::buildPolicyTab() {
  auto* w = new QWidget();
  auto* form = new QFormLayout();
  const struct {
    const char* key;
    QString label;
    double value, max;
    int decimals;
  } rows[] = {{"kl_mean_max", tr("KL mean at most (nats)"), 0.05, 1e6, 5},
              {"kl_p99_max", tr("KL p99 at most (nats)"), 0.5, 1e6, 5},
              {"top1_min", tr("Top-1 agreement at least"), 0.9, 1, 4},
              {"ppl_ratio_max", tr("PPL(test) / PPL(ref) at most"), 1.05, 1e6, 4},
              {"ttft_p99_max", tr("p99 TTFT at most (s)"), 1.0, 1e6, 4}};
  for (const auto& r : rows) {
    Threshold t;
    t.key = r.key;
    t.on = new QCheckBox(r.label);
    t.value = new QDoubleSpinBox();
    t.value->setDecimals(r.decimals);
    t.value->setRange(0, r.max);
    t.value->setValue(r.value);
    t.on->setChecked(t.key == "kl_mean_max" || t.key == "top1_min");
    form->addRow(t.on, t.value);
    thresholds_ << t;
  }
  auto* load = new QPushButton(tr("&Load policy…"));
  auto* save = new QPushButton(tr("Sa&ve policy…"));
  auto* approve = new QPushButton(tr("&Approve selected run"));
  auto* exp = new QPushButton(tr("E&xport artifact config…"));
  auto* exp_weights = new QPushButton(tr("Export &weights…"));
  cancel_export_ = new QPushButton(tr("Cancel export"));
  cancel_export_->setEnabled(false);
  cancel_export_->setToolTip(tr("Stop the weights export after the tensor being converted; nothing is written"));
  connect(cancel_export_, &QPushButton::clicked, this, &RunsPanel::cancelExportWeights);
  exp_weights->setToolTip(tr("Write the run's converted weights, as precis-cli export --weights does: GGUF for "
                             "f32, f16, bf16, q8_0, q4_0 runs; a safetensors file with the quantization config for "
                             "the lab formats (int8/int4, nf4, fp8)"));
  connect(exp_weights, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, tr("Export weights"), "weights.gguf",
                                                   tr("GGUF (*.gguf);;Quantized safetensors, lab formats (*.safetensors)"));
    if (!f.isEmpty()) exportWeightsSelected(f);
  });
  connect(load, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Policy file"), QString(), tr("JSON (*.json)"));
    QString err;
    if (!f.isEmpty() && !loadPolicyFile(f, &err)) approval_->setText(err);
  });
  connect(save, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, tr("Policy file"), "policy.json", tr("JSON (*.json)"));
    QString err;
    if (!f.isEmpty() && !savePolicyFile(f, &err)) approval_->setText(err);
  });
  connect(approve, &QPushButton::clicked, this, &RunsPanel::approveSelected);
  connect(exp, &QPushButton::clicked, this, [this] {
    const QString d = QFileDialog::getExistingDirectory(this, tr("Export to folder"));
    if (!d.isEmpty()) exportSelected(d);
  });
  auto* buttons = new QHBoxLayout();
  for (QPushButton* b : {load, save, approve, exp, exp_weights, cancel_export_}) buttons->addWidget(b);
  approval_ = new QLabel(tr("Select a run, set the thresholds and press Approve. The decision and every check "
                            "are recorded in the log, as precis-cli approve records them."));
  approval_->setWordWrap(true);
  approval_->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
  auto* l = new QVBoxLayout(w);
  l->addLayout(form);
  l->addLayout(buttons);
  l->addWidget(approval_, 1);
  return w;
}

QString RunsPanel::policyJson() const {
  nlohmann::json j = policy_extra_.isEmpty() ? nlohmann::json::object()
                                             : nlohmann::json::parse(policy_extra_.toStdString(), nullptr, false);
  if (!j.is_object()) j = nlohmann::json::object();
  for (const Threshold& t : thresholds_)
    if (t.on->isChecked()) j[t.key.toStdString()] = t.value->value();
  return QString::fromStdString(j.dump());
}

void RunsPanel::setThreshold(const QString& key, double value) {
  for (Threshold& t : thresholds_)
    if (t.key == key) {
      t.on->setChecked(true);
      t.value->setValue(value);
    }
}

bool RunsPanel::loadPolicyFile(const QString& path, QString* error) {
  Result<Policy> p = loadPolicy(path.toStdString());  // validates every key, names the file
  if (!p) {
    if (error) *error = QString::fromStdString(p.error().message);
    return false;
  }
  nlohmann::json extra = p->source;
  for (Threshold& t : thresholds_) {
    const std::string k = t.key.toStdString();
    t.on->setChecked(extra.contains(k));
    if (extra.contains(k)) t.value->setValue(extra[k].get<double>());
    extra.erase(k);
  }
  policy_extra_ = QString::fromStdString(extra.dump());
  return true;
}

bool RunsPanel::savePolicyFile(const QString& path, QString* error) const {
  QFile f(path);
  const QByteArray text = QString::fromStdString(nlohmann::json::parse(policyJson().toStdString()).dump(2) + "\n").toUtf8();
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(text) != text.size()) {
    if (error) *error = path + ": " + f.errorString();
    return false;
  }
  return true;
}

void RunsPanel::approveSelected() {
  const QVector<qint64> ids = selectedIds();
  if (ids.isEmpty()) {
    approval_->setText(tr("Select a run to approve."));
    return;
  }
  emit approveRequested(ids.first(), policyJson());
}

void RunsPanel::exportSelected(const QString& dir) {
  const QVector<qint64> ids = selectedIds();
  if (ids.isEmpty()) {
    approval_->setText(tr("Select an approved run to export."));
    return;
  }
  emit exportRequested(ids.first(), dir);
}

void RunsPanel::exportWeightsSelected(const QString& path) {
  const QVector<qint64> ids = selectedIds();
  if (ids.isEmpty()) {
    approval_->setText(tr("Select an approved run to export its weights."));
    return;
  }
  approval_->setText(tr("Converting and writing the weights of run %1…").arg(ids.first()));
  cancel_export_->setEnabled(true);
  emit exportWeightsRequested(ids.first(), path);
}

void RunsPanel::cancelExportWeights() {
  worker_->cancelExport();
  approval_->setText(tr("Cancelling the export after the tensor being converted…"));
}

QString RunsPanel::approvalText() const { return approval_->text(); }

QVector<qint64> RunsPanel::selectedIds() const {
  QVector<qint64> ids;
  for (const QModelIndex& i : view_->selectionModel()->selectedRows(0)) ids << proxy_->data(i, Qt::UserRole).toLongLong();
  std::sort(ids.begin(), ids.end());
  return ids;
}

void RunsPanel::selectRuns(const QVector<qint64>& ids) {
  QItemSelection sel;
  for (int i = 0; i < proxy_->rowCount(); ++i)
    if (ids.contains(proxy_->data(proxy_->index(i, 0), Qt::UserRole).toLongLong()))
      sel.select(proxy_->index(i, 0), proxy_->index(i, proxy_->columnCount() - 1));
  view_->selectionModel()->select(sel, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
}

void RunsPanel::showComparison(const RunCompare& c) {
  comparison_ = c;
  const int n = static_cast<int>(c.ids.size());
  compare_->clear();
  compare_->setColumnCount(n + 1);
  QStringList headers{tr("parameter / metric")};
  for (const std::string& l : c.labels) headers << QString::fromStdString(l);
  compare_->setHorizontalHeaderLabels(headers);
  compare_->setRowCount(0);
  auto addRow = [&](const QString& name, const QStringList& cells, bool bold) {
    const int row = compare_->rowCount();
    compare_->insertRow(row);
    auto* head = new QTableWidgetItem(name);
    if (bold) {
      QFont f = head->font();
      f.setBold(true);
      head->setFont(f);
    }
    compare_->setItem(row, 0, head);
    for (int i = 0; i < cells.size(); ++i) compare_->setItem(row, i + 1, new QTableWidgetItem(cells[i]));
  };
  addRow(tr("Parameters that differ (%1 the same)").arg(c.same_params), {}, true);
  for (const auto& [k, values] : c.param_diff) {
    QStringList cells;
    for (const std::string& v : values) cells << QString::fromStdString(v);
    addRow(QString::fromStdString(k), cells, false);
  }
  addRow(tr("Latest metrics"), {}, true);
  for (const auto& [k, values] : c.latest) {
    QStringList cells;
    for (double v : values) cells << (std::isnan(v) ? QString("–") : QString::number(v, 'g', 6));
    addRow(QString::fromStdString(k), cells, false);
  }
  compare_->resizeColumnsToContents();
  const QString keep = overlay_metric_->currentText();
  {
    const QSignalBlocker block(overlay_metric_);
    overlay_metric_->clear();
    for (const auto& [k, h] : c.histories) overlay_metric_->addItem(QString::fromStdString(k));
    const int i = overlay_metric_->findText(keep);
    overlay_metric_->setCurrentIndex(i >= 0 ? i : 0);
  }
  drawOverlay();
  lower_tabs_->setCurrentIndex(1);
}

void RunsPanel::drawOverlay() {
  overlay_->removeAllSeries();
  const std::string key = overlay_metric_->currentText().toStdString();
  auto it = comparison_.histories.find(key);
  if (it == comparison_.histories.end()) return;
  for (size_t i = 0; i < comparison_.ids.size(); ++i) {
    const int s = overlay_->addSeries(ChartWidget::Kind::Line, QString::fromStdString(comparison_.labels[i]));
    QVector<QPointF> pts;
    if (i < it->second.size())
      for (const auto& [x, y] : it->second[i]) pts << QPointF(x, y);
    overlay_->setPoints(s, pts);
  }
  overlay_->setAxisTitles(tr("step"), overlay_metric_->currentText());
}

void RunsPanel::setDark(bool dark) {
  chart_->setDark(dark);
  overlay_->setDark(dark);
}

QString RunsPanel::detailsText() const { return details_->text(); }
QString RunsPanel::statusText() const { return status_->text(); }

qint64 RunsPanel::selectedId() const {
  const QVector<qint64> ids = selectedIds();
  return ids.isEmpty() ? 0 : ids.first();
}

void RunsPanel::deleteSelected() {
  if (const qint64 id = selectedId()) emit removeRequested(id);
}

void RunsPanel::showRuns(const QVector<RunRow>& rows) {
  const QVector<qint64> keep = selectedIds();
  const QSignalBlocker block(view_->selectionModel());  // a refresh keeps the selection, silently
  model_->setRowCount(0);
  for (const RunRow& r : rows) {
    QList<QStandardItem*> items;
    auto add = [&items](const QString& text, const QVariant& sort) {
      auto* it = new QStandardItem(text);
      it->setData(sort, Qt::UserRole);
      items << it;
    };
    add(QString::number(r.id), r.id);
    add(r.experiment, r.experiment);
    add(r.kind, r.kind);
    add(r.name, r.name);
    add(r.status, r.status);
    add(r.started, r.started);
    add(r.seconds < 0 ? tr("running") : QString::number(r.seconds, 'f', 1), r.seconds);
    add(r.metrics, r.metrics);
    model_->appendRow(items);
  }
  if (!keep.isEmpty()) selectRuns(keep);
  view_->viewport()->update();
  status_->setText(tr("%n run(s)", nullptr, static_cast<int>(rows.size())));
  emit runsShown(static_cast<int>(rows.size()));
}

void RunsPanel::showDetail(const RunView& v) {
  details_->setText(v.text);
  shown_id_ = v.id;
  // One line series per metric with a history (series are reused and renamed between runs).
  while (chart_->seriesCount() < v.metric_keys.size()) chart_->addSeries(ChartWidget::Kind::Line, QString());
  chart_->clearData();
  for (int i = 0; i < chart_->seriesCount(); ++i) chart_->setSeriesName(i, i < v.metric_keys.size() ? v.metric_keys[i] : QString());
  for (int i = 0; i < v.metric_keys.size(); ++i) chart_->setPoints(i, v.metric_history[i]);
}

}  // namespace precis::ui
