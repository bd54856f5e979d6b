// The Distill panel driving the real trainer on stories260K (offscreen): a short distillation of
// an every-other-layer student shows the loss / KL / agreement curves growing one point per step,
// held-out points at each evaluation, lowers the held-out KL to the teacher, writes the student
// GGUF (which loads and has the student's layer count) and records the run in the experiment log
// with its step histories and the GGUF artifact (sha256). Stop pressed at an exact step (a hook on
// the worker thread) ends training at that step: the student is not written and the run is
// INTERRUPTED. A bad student spec is an error naming it. Seeds: data sampled with seed 7.
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QtTest>

#include "engine/log/envelope.h"
#include "engine/log/run_store.h"
#include "engine/model/loader.h"
#include "gui_spy.h"
#include "ui/chart_widget.h"
#include "ui/distill_panel.h"
#include "ui/distill_worker.h"
#include "ui/main_window.h"
#include "window_fixture.h"

using namespace precis;
using namespace precis::ui;

class TestDistillPanel : public QObject {
  Q_OBJECT
 private slots:
  void init();
  void distillWritesStudentAndLogs();
  void stopAtExactStep();
  void badStudentSpec();

 private:
  std::unique_ptr<test::WindowSandbox> box_;
};

void TestDistillPanel::init() {
  box_ = std::make_unique<test::WindowSandbox>();
}

void TestDistillPanel::distillWritesStudentAndLogs() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  Result<Model> teacher = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(teacher.ok());
  MainWindow w(&box_->settings);
  test::openStories(w, {1300, 800}, w.distillPanel());
  DistillPanel* p = w.distillPanel();
  constexpr int kSteps = 30;
  test::setShortDistillRun(p, kSteps, 10, box_->dir.filePath("out/student.gguf"));
  test::GuiSpy finished(w.distillWorker(), &DistillWorker::finished);
  QTest::mouseClick(p->startButton(), Qt::LeftButton);
  QVERIFY(p->busy());
  QVERIFY(p->stopButton()->isEnabled());
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() > 0, 180000);
  QTRY_VERIFY(!p->busy());
  const DistillResult r = std::get<0>(finished.at(0));
  QVERIFY(!r.cancelled);
  QCOMPARE(r.steps_done, qint64(kSteps));

  // Curves: one point per step for loss, KL and agreement; held-out points at steps 0, 10, 20, 30.
  ChartWidget* loss = p->lossChart();
  QCOMPARE(loss->points(0).size(), kSteps);
  QCOMPARE(loss->points(1).size(), kSteps);
  QCOMPARE(p->agreementChart()->points(0).size(), kSteps);
  const QVector<QPointF> held = loss->points(2);
  QCOMPARE(held.size(), 4);
  QCOMPARE(held.front().x(), 0.0);
  QCOMPARE(held.back().x(), double(kSteps));
  QCOMPARE(held.front().y(), r.initial_kl);
  QCOMPARE(held.back().y(), r.heldout_kl);
  for (int i = 0; i < kSteps; ++i) QCOMPARE(loss->points(0)[i].x(), double(i + 1));
  // Distillation works: the held-out KL to the teacher went down.
  QVERIFY2(r.heldout_kl < r.initial_kl, qPrintable(QString("KL %1 -> %2").arg(r.initial_kl).arg(r.heldout_kl)));
  QVERIFY(r.student_params < r.teacher_params);

  // The student GGUF: loads, half the teacher's layers, the teacher's vocabulary.
  QCOMPARE(r.student_path, box_->dir.filePath("out/student.gguf"));
  Result<Model> student = loadModel(r.student_path.toStdString());
  QVERIFY2(student.ok(), student.ok() ? "" : student.error().message.c_str());
  QCOMPARE(student->config.n_layers, (teacher->config.n_layers + 1) / 2);
  QCOMPARE(student->config.vocab_size, teacher->config.vocab_size);
  QVERIFY(p->openStudentButton()->isEnabled());
  QVERIFY(p->resultText().contains("Wrote"));

  // The experiment log: a FINISHED distill run with the step histories and the artifact.
  QVERIFY(r.log_run > 0);
  Result<std::unique_ptr<RunStore>> store = RunStore::open(box_->db.toStdString());
  QVERIFY(store.ok());
  Result<RunDetail> d = (*store)->getRun(r.log_run);
  QVERIFY(d.ok());
  QCOMPARE(d->info.kind, std::string("distill"));
  QCOMPARE(d->info.status, RunStatus::Finished);
  QCOMPARE(d->params.at("student"), std::string("every-other"));
  QCOMPARE(d->params.at("steps"), std::to_string(kSteps));
  int losses = 0;
  for (const MetricPoint& m : d->metrics) losses += m.key == "loss";
  QCOMPARE(losses, kSteps);
  QCOMPARE(d->latestMetrics().at("heldout_kl"), r.heldout_kl);
  QCOMPARE(d->artifacts.size(), size_t(1));
  QCOMPARE(d->artifacts[0].sha256, *sha256Path(r.student_path.toStdString()));

  // Offered to the Quantize panel: opening it loads the student.
  QTest::mouseClick(p->openStudentButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(w.windowTitle().contains("student.gguf"), 30000);
}

void TestDistillPanel::stopAtExactStep() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  MainWindow w(&box_->settings);
  test::openStories(w, {1300, 800}, w.distillPanel());
  DistillPanel* p = w.distillPanel();
  test::setShortDistillRun(p, 500, 10, box_->dir.filePath("out/student.gguf"));
  DistillWorker* worker = w.distillWorker();
  constexpr qint64 kStopAt = 5;  // Stop pressed right after this step (deterministic)
  worker->setStepHook([worker](qint64 step) {
    if (step == kStopAt) worker->cancel();
  });
  test::GuiSpy finished(worker, &DistillWorker::finished);
  QTest::mouseClick(p->startButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() > 0, 120000);
  const DistillResult r = std::get<0>(finished.at(0));
  QVERIFY(r.cancelled);
  QCOMPARE(r.steps_done, kStopAt);  // the trainer polls the flag before every step
  QTRY_VERIFY(!p->busy());
  QCOMPARE(p->lossChart()->points(0).size(), int(kStopAt));
  QVERIFY(r.student_path.isEmpty());
  QVERIFY(!QFileInfo::exists(box_->dir.filePath("out/student.gguf")));
  QVERIFY2(p->statusText().contains("Stopped after 5 of 500"), qPrintable(p->statusText()));
  Result<std::unique_ptr<RunStore>> store = RunStore::open(box_->db.toStdString());
  QVERIFY(store.ok());
  Result<RunDetail> d = (*store)->getRun(r.log_run);
  QVERIFY(d.ok());
  QCOMPARE(d->info.status, RunStatus::Interrupted);
}

void TestDistillPanel::badStudentSpec() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  MainWindow w(&box_->settings);
  test::openStories(w, {1300, 800}, w.distillPanel());
  DistillPanel* p = w.distillPanel();
  test::setShortDistillRun(p, 5, 10, box_->dir.filePath("out/student.gguf"));
  p->studentEdit()->setText("layers=0,99");
  test::GuiSpy failed(w.distillWorker(), &DistillWorker::failed);
  QTest::mouseClick(p->startButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 30000);
  QTRY_VERIFY(!p->busy());
  QVERIFY2(p->statusText().contains("99"), qPrintable(p->statusText()));
  QVERIFY2(w.errorText().contains("Distill"), qPrintable(w.errorText()));
}

QTEST_MAIN(TestDistillPanel)
#include "test_distill_panel.moc"
