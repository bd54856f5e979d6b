// Cancelling a model load in the workbench (offscreen, real engine, stories260K): with
// stories260K open, a q8_0 GGUF of it is opened and Cancel load is clicked while the engine thread
// is held inside the load (a hook on the engine thread waits for the cancel flag after tensor 3 of
// the read, then after tensor 2 of the f32 reference's dequantization, convertWeights' progress):
// the GUI answers meanwhile (tab clicks), no tensor is read after the cancel, and the previous
// model stays (label, tensor table, no error). Then the same file loads to the end.
#include <QProgressBar>
#include <QTabBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QThread>
#include <QToolButton>
#include <QtTest>
#include <atomic>
#include <chrono>

#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "engine/quant/convert.h"
#include "ui/engine_thread.h"
#include "ui/main_window.h"
#include "ui/model_panel.h"
#include "window_fixture.h"

using namespace precis;
using namespace precis::ui;

class TestLoadCancel : public QObject {
  Q_OBJECT
 private slots:
  void cancelKeepsPreviousModel();
};

void TestLoadCancel::cancelKeepsPreviousModel() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  test::WindowSandbox box("log.sqlite");
  box.settings.setValue("backend", "cpu");
  Result<Model> stories = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(stories.ok());
  Result<Model> q8 = convertWeights(*stories, WeightPlan{DType::Q8_0, false}, nullptr);
  QVERIFY(q8.ok());
  const QString gguf = box.dir.filePath("stories-q8_0.gguf");
  QVERIFY(writeGguf(*q8, gguf.toStdString()).ok());
  const int n = int(stories->tensors.size());

  MainWindow w(&box.settings);
  w.resize(1200, 800);
  w.show();
  w.startSession(QString::fromStdString(test::modelPath("stories260K.bin")));
  QTRY_VERIFY_WITH_TIMEOUT(w.hasModel() && !w.loading(), 30000);
  const QString label = w.modelLabel();
  QCOMPARE(label, QString("stories260K.bin"));
  QTableWidget* tensors = w.modelPanel()->tensorTable();
  QCOMPARE(tensors->rowCount(), n);
  const QString first_type = tensors->item(1, 2)->text();

  EngineWorker* worker = w.engine()->worker();
  for (const char* stage : {"read", "dequantize"}) {
    const int stop_at = std::string(stage) == "read" ? 3 : 2;
    std::atomic<int> last_read{0}, last_deq{0};
    std::atomic<bool> held{false};
    worker->setLoadHook([&, stage, stop_at](const char* s, int done, int) {
      (std::string(s) == "read" ? last_read : last_deq).store(done);
      if (std::string(s) != stage || done != stop_at) return;
      held.store(true);
      const auto t0 = std::chrono::steady_clock::now();
      while (!worker->cancelRequested() &&
             std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20))
        QThread::msleep(1);
    });
    w.openModel(gguf);
    QVERIFY(w.loading());
    QVERIFY(w.loadCancelButton()->isVisible() && w.loadProgress()->isVisible());
    QTRY_VERIFY_WITH_TIMEOUT(held.load(), 20000);
    // The status bar's progress moved: tensors read before the hold (70 % for the read), or the
    // read done and the reference being dequantized.
    if (std::string(stage) == "read")
      QTRY_VERIFY_WITH_TIMEOUT(w.loadProgress()->value() > 0 && w.loadProgress()->value() < 700,
                               5000);
    else
      QTRY_VERIFY_WITH_TIMEOUT(w.loadProgress()->value() >= 700, 5000);
    // The engine thread is inside the load; the GUI thread still answers.
    QTabBar* bar = w.tabs()->tabBar();
    QTest::mouseClick(bar, Qt::LeftButton, {}, bar->tabRect(1).center());
    QCOMPARE(w.tabs()->currentIndex(), 1);
    QTest::mouseClick(bar, Qt::LeftButton, {}, bar->tabRect(0).center());
    QCOMPARE(w.tabs()->currentIndex(), 0);
    QTest::mouseClick(w.loadCancelButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!w.loading(), 5000);
    QVERIFY(!w.loadCancelButton()->isVisible());
    if (std::string(stage) == "read") {
      QCOMPARE(last_read.load(), stop_at);  // nothing read after the cancel
      QCOMPARE(last_deq.load(), 0);
    } else {
      QCOMPARE(last_read.load(), n);
      QCOMPARE(last_deq.load(), stop_at);
    }
    QVERIFY(w.hasModel());
    QCOMPARE(w.modelLabel(), label);
    QCOMPARE(tensors->rowCount(), n);
    QCOMPARE(tensors->item(1, 2)->text(), first_type);
    QVERIFY2(w.errorText().isEmpty(), qPrintable(w.errorText()));
  }

  // Uncancelled, the same file loads: its matrices are q8_0.
  worker->setLoadHook({});
  w.openModel(gguf);
  QTRY_VERIFY_WITH_TIMEOUT(!w.loading() && w.modelLabel() == "stories-q8_0.gguf", 30000);
  bool any_q8 = false;
  for (int r = 0; r < tensors->rowCount(); ++r)
    any_q8 = any_q8 || tensors->item(r, 2)->text() == "q8_0";
  QVERIFY(any_q8);
}

QTEST_MAIN(TestLoadCancel)
#include "test_load_cancel.moc"
