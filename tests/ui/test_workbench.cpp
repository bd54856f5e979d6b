// The workbench window driving the real engine on stories260K (offscreen): open the model, see its
// tensors and a histogram with the q4_0 grid; evaluate and find evaluate()'s own numbers in the
// table and the point in the frontier chart; sweep and cancel mid-way (finished points stay, the
// sweep is marked cancelled, the GUI thread never blocked); a corrupt file shows an error; closing
// during a sweep returns. Seeds: sampled evaluation text uses seed 3.
#include <QComboBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QtTest>

#include "engine/backend/registry.h"
#include "engine/eval/evaluator.h"
#include "engine/model/loader.h"
#include "engine/quant/convert.h"
#include "ui/chart_widget.h"
#include "ui/engine_thread.h"
#include "ui/main_window.h"
#include "ui/model_panel.h"
#include "ui/distill_panel.h"
#include "ui/serve_panel.h"
#include "ui/quantize_panel.h"
#include "window_fixture.h"

using namespace precis;
using namespace precis::ui;

namespace {
constexpr int kSample = 128, kCtx = 64;
constexpr uint64_t kSeed = 3;

int columnOf(const QString& name) { return static_cast<int>(evalColumnNames().indexOf(name)); }

// The evaluation the worker runs for (`format`, 128 sampled tokens, seed 3, windows of 64), done
// here directly through the engine API.
Result<EvalResult> directEval(const Model& m, DType format, ConvertReport* report) {
  return test::directFormatEval(m, format, "auto", kSample, kCtx, kSeed, false, report);
}
}  // namespace

class TestWorkbench : public QObject {
  Q_OBJECT
 private slots:
  void init();
  void openEvaluateSweepCancel();
  void corruptFileShowsError();
  void closeDuringSweep();

 private:
  std::unique_ptr<test::WindowSandbox> box_;
};

void TestWorkbench::init() {
  box_ = std::make_unique<test::WindowSandbox>("none.sqlite");
}

void TestWorkbench::openEvaluateSweepCancel() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  Result<Model> model = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(model.ok());
  MainWindow w(&box_->settings);
  test::openStories(w, {1200, 800}, nullptr);
  QTRY_VERIFY_WITH_TIMEOUT(w.deviceText().contains("memory"), 10000);

  // Model panel: every tensor, then a histogram with the q4_0 grid of one block (16 levels).
  ModelPanel* mp = w.modelPanel();
  QCOMPARE(mp->tensorTable()->rowCount(), static_cast<int>(model->tensors.size()));
  mp->formatBox()->setCurrentText("q4_0");
  QVERIFY(mp->selectTensor("blk.0.ffn_gate.weight"));
  QTRY_VERIFY_WITH_TIMEOUT(!mp->histogramChart()->points(0).isEmpty(), 10000);
  QCOMPARE(mp->histogramChart()->points(1).size(), 16);
  int64_t total = 0;
  for (const QPointF& p : mp->histogramChart()->points(0)) total += static_cast<int64_t>(p.y());
  QCOMPARE(total, model->find("blk.0.ffn_gate.weight")->elements());
  QVERIFY(mp->statsText().contains("16 levels"));

  // Evaluate q8_0: the table shows the engine's numbers, the frontier gets (bits/weight, KL mean).
  QuantizePanel* q = w.quantizePanel();
  w.tabs()->setCurrentWidget(q);
  q->formatBox()->setCurrentText("q8_0");
  q->sampleBox()->setValue(kSample);
  q->ctxBox()->setValue(kCtx);
  QWidget* seed = q->findChildren<QSpinBox*>().at(1);  // tokens, seed, ctx in form order
  static_cast<QSpinBox*>(seed)->setValue(static_cast<int>(kSeed));
  QTest::mouseClick(q->evaluateButton(), Qt::LeftButton);
  QVERIFY(q->busy());  // the click returned while the engine thread works
  QTRY_COMPARE_WITH_TIMEOUT(q->resultsTable()->rowCount(), 1, 30000);
  QVERIFY(!q->busy());
  ConvertReport report;
  Result<EvalResult> expected = directEval(*model, DType::Q8_0, &report);
  QVERIFY2(expected.ok(), expected.ok() ? "" : expected.error().message.c_str());
  const KlStatistics& s = expected->stats;
  QTableWidget* t = q->resultsTable();
  QCOMPARE(t->item(0, columnOf("weights"))->text(), QString("q8_0"));
  QCOMPARE(t->item(0, columnOf("KL mean"))->text(), QString::number(s.kl.mean, 'g', 6));
  QCOMPARE(t->item(0, columnOf("KL p99"))->text(), QString::number(s.kl_p99, 'g', 6));
  QCOMPARE(t->item(0, columnOf("KL max"))->text(), QString::number(s.kl_max, 'g', 6));
  QVERIFY(t->item(0, columnOf("PPL test"))->text().startsWith(QString::number(s.perplexity, 'f', 4)));
  QCOMPARE(t->item(0, columnOf("top-1 agree"))->text(), QString("%1 %").arg(100 * s.same_top, 0, 'f', 2));
  QCOMPARE(t->item(0, columnOf("tokens"))->text(), QString::number(expected->tokens_scored));
  QVERIFY(s.kl.mean > 0 && s.same_top > 0.5);
  QTRY_COMPARE_WITH_TIMEOUT(q->frontierChart()->points(0).size(), 1, 5000);
  QCOMPARE(q->frontierChart()->points(0)[0], QPointF(report.bits_per_weight, s.kl.mean));
  emit q->frontierChart()->pointClicked(0, 0);
  QVERIFY(q->detailsText().startsWith("Run 1: weights q8_0"));

  // Sweep over all five formats, cancelled once the first point is done (a direct hook on the
  // engine thread makes "mid-way" deterministic); the GUI path is the same as the Cancel button.
  QSignalSpy finished(w.engine()->worker(), &EngineWorker::sweepFinished);
  EngineWorker* worker = w.engine()->worker();
  auto hook = connect(worker, &EngineWorker::sweepPointFinished, worker,
                      [worker](const EvalRecord&, int index, int) {
                        if (index == 0) worker->cancel();
                      }, Qt::DirectConnection);
  QTest::mouseClick(q->sweepButton(), Qt::LeftButton);
  QVERIFY(q->busy());
  QVERIFY(q->cancelButton()->isEnabled());
  QTest::mouseClick(w.tabs()->tabBar(), Qt::LeftButton, {}, w.tabs()->tabBar()->tabRect(0).center());
  QCOMPARE(w.tabs()->currentIndex(), 0);  // the GUI answers while the sweep runs
  w.tabs()->setCurrentWidget(q);
  QVERIFY(finished.wait(30000));
  disconnect(hook);
  QCOMPARE(finished.at(0).at(0).toBool(), true);  // cancelled
  QCOMPARE(finished.at(0).at(1).toInt(), 1);      // one format finished
  QTRY_COMPARE_WITH_TIMEOUT(t->rowCount(), 2, 5000);
  QVERIFY(!q->busy());
  QVERIFY2(q->statusText().contains("cancelled after 1 of 5"), qPrintable(q->statusText()));
  QVERIFY(t->item(1, columnOf("sweep"))->text().contains("cancelled"));
  QCOMPARE(t->item(1, columnOf("weights"))->text(), QString("f32"));
  QCOMPARE(t->item(1, columnOf("KL mean"))->text(), QString("0"));  // f32 against itself
  QTRY_COMPARE_WITH_TIMEOUT(q->frontierChart()->points(0).size(), 2, 5000);

  // Every tab is a working panel (the Serve and Distill labs replaced their placeholders).
  QCOMPARE(w.tabs()->widget(2), static_cast<QWidget*>(w.servePanel()));
  QCOMPARE(w.tabs()->widget(3), static_cast<QWidget*>(w.distillPanel()));

  // Settings survive a close.
  w.close();
  QCOMPARE(box_->settings.value("quantize/sample").toInt(), kSample);
  QVERIFY(box_->settings.value("model/recent").toStringList().first().endsWith("stories260K.bin"));
}

void TestWorkbench::corruptFileShowsError() {
  MainWindow w(&box_->settings);
  w.show();
  w.startSession(QString());  // no last model: the demo model
  QTRY_VERIFY_WITH_TIMEOUT(w.hasModel(), 30000);
  const QString bad = box_->dir.filePath("corrupt.gguf");
  QFile f(bad);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write("GGUF\x03\x00\x00\x00garbage");
  f.close();
  w.openModel(bad);
  QTRY_VERIFY_WITH_TIMEOUT(!w.errorText().isEmpty(), 10000);
  QVERIFY2(w.errorText().contains("corrupt.gguf"), qPrintable(w.errorText()));
  QVERIFY(w.modelPanel()->tensorTable()->rowCount() > 0);  // the demo model is still there
}

void TestWorkbench::closeDuringSweep() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  auto w = std::make_unique<MainWindow>(&box_->settings);
  test::openStories(*w, {1200, 800}, nullptr);
  QuantizePanel* q = w->quantizePanel();
  q->sampleBox()->setValue(500);
  q->ctxBox()->setValue(16);
  QSignalSpy progress(w->engine()->worker(), &EngineWorker::progressChanged);
  QTest::mouseClick(q->sweepButton(), Qt::LeftButton);
  QVERIFY(progress.wait(10000));
  QVERIFY(q->busy());
  w.reset();  // sets the cancel flag, quits and waits for the engine thread: must return
  QVERIFY(progress.count() > 0);
}

QTEST_MAIN(TestWorkbench)
#include "test_workbench.moc"
