// Runs panel (see runs_panel.h).
#include "ui/runs_panel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTableView>
#include <QVBoxLayout>

#include "ui/chart_widget.h"

namespace precis::ui {

RunsPanel::RunsPanel(QWidget* parent) : QWidget(parent) {
  qRegisterMetaType<precis::ui::RunRow>();
  qRegisterMetaType<QVector<precis::ui::RunRow>>();
  qRegisterMetaType<precis::ui::RunView>();
  worker_ = new RunsWorker();
  worker_->moveToThread(&thread_);
  connect(this, &RunsPanel::openRequested, worker_, &RunsWorker::open);
  connect(this, &RunsPanel::refreshRequested, worker_, &RunsWorker::refresh);
  connect(this, &RunsPanel::detailRequested, worker_, &RunsWorker::detail);
  connect(this, &RunsPanel::removeRequested, worker_, &RunsWorker::remove);
  connect(worker_, &RunsWorker::runsListed, this, &RunsPanel::showRuns);
  connect(worker_, &RunsWorker::detailReady, this, &RunsPanel::showDetail);
  connect(worker_, &RunsWorker::opened, this, [this](const QString& p) { path_->setText(p); });
  connect(worker_, &RunsWorker::failed, this, [this](const QString& m) { status_->setText(m); });
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
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  view_->verticalHeader()->hide();
  view_->horizontalHeader()->setStretchLastSection(true);
  view_->setAccessibleName(tr("Runs"));
  connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
    if (const qint64 id = selectedId()) emit detailRequested(id);
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
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(view_);
  split->addWidget(lower);
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

void RunsPanel::setDark(bool dark) { chart_->setDark(dark); }

QString RunsPanel::detailsText() const { return details_->text(); }
QString RunsPanel::statusText() const { return status_->text(); }

qint64 RunsPanel::selectedId() const {
  const QModelIndexList rows = view_->selectionModel()->selectedRows(0);
  return rows.isEmpty() ? 0 : proxy_->data(rows.first(), Qt::UserRole).toLongLong();
}

void RunsPanel::deleteSelected() {
  if (const qint64 id = selectedId()) emit removeRequested(id);
}

void RunsPanel::showRuns(const QVector<RunRow>& rows) {
  const qint64 keep = selectedId();
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
  if (keep)
    for (int i = 0; i < proxy_->rowCount(); ++i)
      if (proxy_->data(proxy_->index(i, 0), Qt::UserRole).toLongLong() == keep) {
        const QSignalBlocker block(view_->selectionModel());
        view_->selectRow(i);
      }
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
