// Runs panel: the experiment log (engine/log) as a sortable, filterable table that refreshes every
// 2 s (runs started from precis-cli appear while they run); selecting a run shows its parameters,
// tags, latest metrics and metric curves; runs can be deleted. Reads on its own thread (RunsWorker).
// Tested by tests/ui/test_runs_panel.cpp.
#pragma once
#include <QThread>
#include <QTimer>
#include <QWidget>

#include "ui/runs_worker.h"

class QLabel;
class QLineEdit;
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

 signals:
  void openRequested(const QString& path);
  void refreshRequested();
  void detailRequested(qint64 id);
  void removeRequested(qint64 id);
  void runsShown(int count);

 private:
  void showRuns(const QVector<RunRow>& rows);
  void showDetail(const RunView& v);
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
};

}  // namespace precis::ui
