// Runs panel over a real experiment log (engine/log RunStore in a temporary file): runs listed,
// filtered, sorted; a run's details and metric curve; a run logged while the panel is open appears
// on refresh; delete removes it; a missing log says so.
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include "engine/log/run_store.h"
#include "ui/chart_widget.h"
#include "ui/runs_panel.h"

using namespace precis;
using namespace precis::ui;

class TestRunsPanel : public QObject {
  Q_OBJECT
 private slots:
  void listFilterDetailDelete();
  void missingLog();
};

void TestRunsPanel::listFilterDetailDelete() {
  QTemporaryDir dir;
  const std::string db = dir.filePath("log.sqlite").toStdString();
  int64_t eval_id = 0, train_id = 0;
  {
    Result<std::unique_ptr<RunStore>> s = RunStore::open(db);
    QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
    NewRun e;
    e.kind = "eval";
    e.name = "stories260K q8_0";
    e.params = {{"weights", "q8_0"}};
    eval_id = *(*s)->createRun(e);
    QVERIFY((*s)->logMetrics(eval_id, {{"kl_mean", 0.0329721, 0, 0}}).ok());
    QVERIFY((*s)->finishRun(eval_id, RunStatus::Finished).ok());
    NewRun t;
    t.kind = "distill";
    t.name = "student";
    train_id = *(*s)->createRun(t);
    QVERIFY((*s)->logMetrics(train_id, {{"loss", 3.0, 0, 0}, {"loss", 2.5, 1, 0}, {"loss", 2.0, 2, 0}}).ok());
  }
  RunsPanel p;
  p.resize(1000, 700);
  p.show();
  QSignalSpy shown(&p, &RunsPanel::runsShown);
  p.openLog(QString::fromStdString(db));
  QVERIFY(shown.wait(10000));
  QCOMPARE(shown.last().at(0).toInt(), 2);
  QCOMPARE(p.proxy()->rowCount(), 2);
  // Sorted by id, newest first.
  QCOMPARE(p.proxy()->data(p.proxy()->index(0, 0)).toString(), QString::number(train_id));

  p.filter()->setText("EVAL");
  QCOMPARE(p.proxy()->rowCount(), 1);
  QVERIFY(p.proxy()->data(p.proxy()->index(0, 7)).toString().contains("kl_mean=0.032972"));
  p.filter()->clear();

  // The training run: its loss curve is drawn.
  p.table()->selectRow(0);
  QTRY_VERIFY_WITH_TIMEOUT(p.detailsText().startsWith(QString("Run %1").arg(train_id)), 5000);
  QCOMPARE(p.chart()->seriesName(0), QString("loss"));
  QCOMPARE(p.chart()->points(0), (QVector<QPointF>{{0, 3.0}, {1, 2.5}, {2, 2.0}}));

  // A run logged by another connection (as precis-cli would) appears on refresh.
  {
    Result<std::unique_ptr<RunStore>> s = RunStore::open(db);
    QVERIFY(s.ok());
    NewRun c;
    c.kind = "eval";
    c.name = "from the cli";
    QVERIFY((*s)->createRun(c).ok());
  }
  p.refresh();
  QTRY_COMPARE_WITH_TIMEOUT(p.proxy()->rowCount(), 3, 5000);

  // Delete the eval run.
  p.filter()->setText("stories260K");
  QCOMPARE(p.proxy()->rowCount(), 1);
  p.table()->selectRow(0);
  p.deleteSelected();
  QTRY_COMPARE_WITH_TIMEOUT(p.proxy()->rowCount(), 0, 5000);
  p.filter()->clear();
  QCOMPARE(p.proxy()->rowCount(), 2);
}

void TestRunsPanel::missingLog() {
  QTemporaryDir dir;
  RunsPanel p;
  p.openLog(dir.filePath("absent.sqlite"));
  QTRY_VERIFY_WITH_TIMEOUT(p.statusText().contains("no experiment log here yet"), 5000);
  QVERIFY(p.statusText().contains("absent.sqlite"));
}

QTEST_MAIN(TestRunsPanel)
#include "test_runs_panel.moc"
