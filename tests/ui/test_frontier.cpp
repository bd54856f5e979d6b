// The quality frontier: paretoFront on hand-built points (size axis: fewer bits is better; speed
// axis: more tokens/s is better; dominated, tied and duplicate points), and the Quantize panel on
// stories260K (offscreen, real engine): after a sweep over three formats the frontier's points are
// the runs' own (bits/weight, KL mean), then, with the x axis switched to speed, their measured
// (tokens/s, KL mean); the marked Pareto-optimal runs are those no other run dominates (checked
// here by brute force), and clicking a point shows its run.
#include <QCheckBox>
#include <QComboBox>
#include <QListWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QtTest>

#include "ui/chart_widget.h"
#include "ui/engine_thread.h"
#include "ui/frontier.h"
#include "ui/main_window.h"
#include "ui/quantize_panel.h"
#include "window_fixture.h"

using namespace precis;
using namespace precis::ui;

class TestFrontier : public QObject {
  Q_OBJECT
 private slots:
  void paretoBySize();
  void paretoBySpeed();
  void panelFrontier();
};

void TestFrontier::paretoBySize() {
  // (bits, KL): 32/0 best quality; 8.5/0.001; 4.5/0.02; 6/0.03 is dominated by 4.5/0.02; 16/0.0001.
  const std::vector<FrontierPoint> p = {
      {32, 0}, {8.5, 0.001}, {6, 0.03}, {4.5, 0.02}, {16, 0.0001}};
  QCOMPARE(paretoFront(p, FrontierAxis::BitsPerWeight), (std::vector<int>{3, 1, 4, 0}));
  // A tie in KL: the smaller size dominates; identical points are both kept.
  QCOMPARE(paretoFront({{8, 0.1}, {4, 0.1}}, FrontierAxis::BitsPerWeight), (std::vector<int>{1}));
  QCOMPARE(paretoFront({{4, 0.1}, {4, 0.1}}, FrontierAxis::BitsPerWeight),
           (std::vector<int>{0, 1}));
  QVERIFY(paretoFront({}, FrontierAxis::BitsPerWeight).empty());
}

void TestFrontier::paretoBySpeed() {
  // (tokens/s, KL): 100/0 (slow, exact), 300/0.01, 250/0.02 dominated by 300/0.01, 500/0.05.
  const std::vector<FrontierPoint> p = {{100, 0}, {300, 0.01}, {250, 0.02}, {500, 0.05}};
  QCOMPARE(paretoFront(p, FrontierAxis::TokensPerSecond), (std::vector<int>{0, 1, 3}));
  // Read as bits per weight instead, 100/0 is both smallest and exact: it dominates every other.
  QCOMPARE(paretoFront(p, FrontierAxis::BitsPerWeight), (std::vector<int>{0}));
}

namespace {
// Brute force: run ids that no other run dominates.
QSet<int> paretoIds(const QMap<int, QPointF>& pts, bool higher_better) {
  QSet<int> out;
  for (auto a = pts.begin(); a != pts.end(); ++a) {
    bool dominated = false;
    for (auto b = pts.begin(); b != pts.end(); ++b) {
      if (a.key() == b.key()) continue;
      const bool x_ok = higher_better ? b->x() >= a->x() : b->x() <= a->x();
      if (x_ok && b->y() <= a->y() && (b->y() < a->y() || b->x() != a->x())) dominated = true;
    }
    if (!dominated) out.insert(a.key());
  }
  return out;
}
}  // namespace

void TestFrontier::panelFrontier() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  test::WindowSandbox box("log.sqlite");
  box.settings.setValue("backend", "cpu");
  MainWindow w(&box.settings);
  test::showStories(w, {1200, 800});
  QuantizePanel* q = w.quantizePanel();
  q->logBox()->setChecked(false);
  q->sampleBox()->setValue(96);
  q->ctxBox()->setValue(48);
  QSignalSpy records(w.engine()->worker(), &EngineWorker::evaluationFinished);
  QSignalSpy finished(w.engine()->worker(), &EngineWorker::sweepFinished);
  QListWidget* formats = q->findChild<QListWidget*>();
  for (int i = 0; i < formats->count(); ++i) {
    const QString f = formats->item(i)->text();
    formats->item(i)->setCheckState(f == "f16" || f == "q8_0" || f == "q4_0" ? Qt::Checked
                                                                             : Qt::Unchecked);
  }
  QTest::mouseClick(q->sweepButton(), Qt::LeftButton);
  QVERIFY(finished.wait(60000));
  QCOMPARE(records.size(), 3);
  QTRY_COMPARE_WITH_TIMEOUT(q->frontierRuns().size(), 3, 5000);

  QMap<int, EvalRecord> runs;
  for (const QList<QVariant>& args : records) {
    const EvalRecord r = args.at(0).value<EvalRecord>();
    QVERIFY(r.tokens_per_s > 0);
    runs.insert(r.id, r);
  }
  for (FrontierAxis axis : {FrontierAxis::BitsPerWeight, FrontierAxis::TokensPerSecond}) {
    const bool speed = axis == FrontierAxis::TokensPerSecond;
    q->frontierAxisBox()->setCurrentIndex(speed ? 1 : 0);
    QCOMPARE(q->frontierAxis(), axis);
    const QVector<QPointF> pts = q->frontierChart()->points(0);
    const QVector<int> ids = q->frontierRuns();
    QCOMPARE(pts.size(), 3);
    QMap<int, QPointF> by_id;
    for (int i = 0; i < ids.size(); ++i) {
      const EvalRecord& r = runs[ids[i]];
      QCOMPARE(pts[i], QPointF(speed ? r.tokens_per_s : r.bits_per_weight, r.stats.kl.mean));
      by_id.insert(ids[i], pts[i]);
    }
    const QVector<int> pareto = q->paretoRuns();
    QCOMPARE(QSet<int>(pareto.begin(), pareto.end()), paretoIds(by_id, speed));
    const QVector<QPointF> line = q->frontierChart()->points(1);
    QCOMPARE(line.size(), pareto.size());
    for (int i = 0; i < pareto.size(); ++i) {
      QCOMPARE(line[i], by_id[pareto[i]]);
      if (i) QVERIFY(line[i].x() >= line[i - 1].x());
    }
  }
  // On the size axis f16 (16 bits, the smallest KL) and q4_0 (fewest bits) are always optimal.
  q->frontierAxisBox()->setCurrentIndex(0);
  QVERIFY(q->paretoRuns().contains(1) && q->paretoRuns().contains(3));
  // Clicking a point still shows its run.
  const int idx = int(q->frontierRuns().indexOf(2));
  emit q->frontierChart()->pointClicked(0, idx);
  QVERIFY2(q->detailsText().startsWith("Run 2: weights q8_0"), qPrintable(q->detailsText()));
  QVERIFY(q->detailsText().contains("tokens/s"));
}

QTEST_MAIN(TestFrontier)
#include "test_frontier.moc"
