// The Distill panel's checkpoints, resume and fresh student shape on stories260K (offscreen; data
// sampled with seed 7). Checkpoints every 4 steps and Stop right after step 6 (a hook on the worker
// thread): the checkpoint (the student GGUF and its .optim, whose header holds step 6) is written
// and the panel says so. Resume continues from step 6: the curves start at step 7, the log records
// the resume and steps 7..12, and the student is tensor for tensor the one an uninterrupted
// 12-step run writes. Resume without a checkpoint is refused naming the .optim file. A fresh
// student from a JSON shape (dim 32, 2 layers; the vocabulary is the teacher's) trains and is
// written with that shape; a shape with another vocabulary is refused naming the file.
#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>
#include <fstream>

#include "engine/log/run_store.h"
#include "engine/model/loader.h"
#include "gui_spy.h"
#include "window_fixture.h"
#include "test_paths.h"
#include "ui/chart_widget.h"
#include "ui/distill_panel.h"
#include "ui/distill_worker.h"
#include "ui/main_window.h"

using namespace precis;
using namespace precis::ui;

namespace {
constexpr int kSteps = 12;

// The step count saved in an optimizer state file (trainer.cpp: magic, version, step, count).
int64_t optimStep(const QString& path) {
  std::ifstream in(path.toStdString(), std::ios::binary);
  char header[16] = {};
  in.read(header, 16);
  int64_t step = -1;
  if (in) std::memcpy(&step, header + 8, 8);
  return step;
}
}  // namespace

class TestDistillResume : public QObject {
  Q_OBJECT
 private slots:
  void init();
  void stopWritesCheckpointAndResumeContinues();
  void freshStudentFromConfig();

 private:
  std::unique_ptr<test::WindowSandbox> box_;
  DistillResult runToEnd(MainWindow& w);
};

void TestDistillResume::init() { box_ = std::make_unique<test::WindowSandbox>(); }

DistillResult TestDistillResume::runToEnd(MainWindow& w) {
  test::GuiSpy finished(w.distillWorker(), &DistillWorker::finished);
  test::GuiSpy failed(w.distillWorker(), &DistillWorker::failed);
  QTest::mouseClick(w.distillPanel()->startButton(), Qt::LeftButton);
  [&] { QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() > 0, 180000); }();
  [&] { QTRY_VERIFY(!w.distillPanel()->busy()); }();
  if (failed.count() > 0) qWarning("failed: %s", qPrintable(std::get<0>(failed.at(0))));
  return finished.count() > 0 ? std::get<0>(finished.at(0)) : DistillResult{};
}

void TestDistillResume::stopWritesCheckpointAndResumeContinues() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  MainWindow w(&box_->settings);
  test::openStories(w, {1300, 800}, w.distillPanel());
  DistillPanel* p = w.distillPanel();
  const QString out = box_->dir.filePath("ckpt/student.gguf");
  test::setShortDistillRun(p, kSteps, 0, out);

  // Resume with no checkpoint yet: refused, naming the optimizer state file.
  p->resumeBox()->setChecked(true);
  DistillResult none = runToEnd(w);
  QCOMPARE(none.steps, qint64(0));
  QVERIFY2(p->statusText().contains(out + ".optim"), qPrintable(p->statusText()));
  p->resumeBox()->setChecked(false);

  // Checkpoints every 4 steps; Stop right after step 6.
  p->checkpointsBox()->setChecked(true);
  p->checkpointEveryBox()->setValue(4);
  DistillWorker* worker = w.distillWorker();
  constexpr qint64 kStopAt = 6;
  worker->setStepHook([worker](qint64 step) {
    if (step == kStopAt) worker->cancel();
  });
  const DistillResult stopped = runToEnd(w);
  QVERIFY(stopped.cancelled);
  QCOMPARE(stopped.steps_done, kStopAt);
  QCOMPARE(stopped.checkpoint, out);
  QVERIFY(stopped.student_path.isEmpty());
  QCOMPARE(optimStep(out + ".optim"), int64_t(kStopAt));
  QVERIFY2(p->statusText().contains("checkpoint written to " + out), qPrintable(p->statusText()));
  Result<Model> ckpt = loadModel(out.toStdString());
  QVERIFY2(ckpt.ok(), ckpt.ok() ? "" : ckpt.error().message.c_str());
  QCOMPARE(ckpt->config.n_layers, 3);  // every other layer of stories260K's 5

  // Resume: continues from step 6 to 12.
  worker->setStepHook({});
  p->resumeBox()->setChecked(true);
  const DistillResult resumed = runToEnd(w);
  QVERIFY(!resumed.cancelled);
  QCOMPARE(resumed.resumed_from, kStopAt);
  QCOMPARE(resumed.steps_done, qint64(kSteps));
  QCOMPARE(resumed.student_path, out);
  const QVector<QPointF> loss = p->lossChart()->points(0);
  QCOMPARE(loss.size(), int(kSteps - kStopAt));
  QCOMPARE(loss.first().x(), double(kStopAt + 1));
  QVERIFY2(p->resultText().contains("Resumed from the checkpoint at step 6"),
           qPrintable(p->resultText()));
  {
    Result<std::unique_ptr<RunStore>> s = RunStore::open(box_->db.toStdString());
    QVERIFY(s.ok());
    Result<RunDetail> r = (*s)->getRun(resumed.log_run);
    QVERIFY(r.ok());
    QCOMPARE(r->params.at("resume"), std::string("6"));
    int64_t first_loss_step = -1, loss_points = 0;
    for (const MetricPoint& m : r->metrics)
      if (m.key == "loss") {
        if (first_loss_step < 0) first_loss_step = m.step;
        ++loss_points;
      }
    QCOMPARE(first_loss_step, int64_t(kStopAt + 1));
    QCOMPARE(loss_points, int64_t(kSteps - kStopAt));
  }

  // The same 12 steps uninterrupted write the same student.
  const QString straight = box_->dir.filePath("straight/student.gguf");
  p->resumeBox()->setChecked(false);
  p->checkpointsBox()->setChecked(false);
  p->outEdit()->setText(straight);
  const DistillResult full = runToEnd(w);
  QCOMPARE(full.steps_done, qint64(kSteps));
  Result<Model> a = loadModel(out.toStdString());
  Result<Model> b = loadModel(straight.toStdString());
  QVERIFY(a.ok() && b.ok());
  QCOMPARE(a->tensors.size(), b->tensors.size());
  for (const WeightTensor& t : b->tensors) {
    const WeightTensor* u = a->find(t.name);
    QVERIFY2(u && u->bytes == t.bytes, t.name.c_str());
    QVERIFY2(std::memcmp(u->data, t.data, t.bytes) == 0, t.name.c_str());
  }
}

void TestDistillResume::freshStudentFromConfig() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  MainWindow w(&box_->settings);
  test::openStories(w, {1300, 800}, w.distillPanel());
  DistillPanel* p = w.distillPanel();
  const QString out = box_->dir.filePath("fresh/student.gguf");
  test::setShortDistillRun(p, kSteps, 0, out);
  p->stepsBox()->setValue(4);
  const QString shape = box_->dir.filePath("shape.json");
  {
    std::ofstream f(shape.toStdString());
    f << R"({"dim": 32, "hidden_dim": 64, "n_layers": 2, "n_heads": 4, "context_length": 64})";
  }
  p->studentSourceBox()->setCurrentIndex(p->studentSourceBox()->findData("config"));
  p->studentFileEdit()->setText(shape);
  QCOMPARE(p->currentRequest().student_config, shape);
  const DistillResult r = runToEnd(w);
  QCOMPARE(r.steps_done, qint64(4));
  Result<Model> m = loadModel(out.toStdString());
  QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
  QCOMPARE(m->config.dim, 32);
  QCOMPARE(m->config.n_layers, 2);
  QCOMPARE(m->config.vocab_size, 512);  // the teacher's
  QCOMPARE(qint64(m->config.parameterCount()), r.student_params);
  {
    Result<std::unique_ptr<RunStore>> s = RunStore::open(box_->db.toStdString());
    QVERIFY(s.ok());
    Result<RunDetail> run = (*s)->getRun(r.log_run);
    QVERIFY(run.ok());
    QCOMPARE(QString::fromStdString(run->params.at("student")), "config " + shape);
  }

  // Another vocabulary: refused, naming the file.
  {
    std::ofstream f(shape.toStdString());
    f << R"({"dim": 32, "hidden_dim": 64, "n_layers": 2, "n_heads": 4, "vocab_size": 100, "context_length": 64})";
  }
  const DistillResult refused = runToEnd(w);
  QCOMPARE(refused.steps, qint64(0));
  QVERIFY2(p->statusText().contains(shape) && p->statusText().contains("vocab_size 100"),
           qPrintable(p->statusText()));
}

QTEST_MAIN(TestDistillResume)
#include "test_distill_resume.moc"
