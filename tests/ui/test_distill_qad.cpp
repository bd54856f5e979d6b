// The Distill panel's quantization-aware format, learning-rate schedule and student-from-file,
// driving the real trainer on stories260K (offscreen). A short q4_0 quantization-aware run writes a
// student whose quantized tensors are Q4_0 (norms, embeddings and ffn_down, whose rows of 172 hold
// no whole 32-block, stay f32, as precis-cli distill --quantize writes them), logs the schedule it
// was given and follows it (the logged learning rate per step is engine scheduledLr of the warm-up,
// cosine floor and steps set in the panel), and is offered to the Quantize panel. A student file
// with another vocabulary is refused with a message naming both sizes; one with the teacher's
// vocabulary trains and its parameter count is reported. Seeds: data 7, students 1.
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QtTest>

#include "engine/log/run_store.h"
#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "engine/train/adamw.h"
#include "engine/train/train_params.h"
#include "gui_spy.h"
#include "ui/distill_panel.h"
#include "ui/distill_worker.h"
#include "ui/main_window.h"
#include "ui/quantize_panel.h"
#include "window_fixture.h"

using namespace precis;
using namespace precis::ui;

class TestDistillQad : public QObject {
  Q_OBJECT
 private slots:
  void init();
  void quantizationAwareStudentAndSchedule();
  void studentFromFile();

 private:
  std::unique_ptr<test::WindowSandbox> box_;
  // A fresh 2-layer model of the teacher's shape with `vocab` tokens, written as GGUF.
  QString writeStudentFile(const Model& teacher, int vocab, const QString& name);
};

void TestDistillQad::init() {
  box_ = std::make_unique<test::WindowSandbox>();
}

QString TestDistillQad::writeStudentFile(const Model& teacher, int vocab, const QString& name) {
  LlamaConfig c = teacher.config;
  c.n_layers = 2;
  c.vocab_size = vocab;
  const QString path = box_->dir.filePath(name);
  Status s = writeGguf(TrainParams::init(c, 1).toModel(TokenizerData{}, "student-file"),
                       path.toStdString());
  return s.ok() ? path : QString();
}

void TestDistillQad::quantizationAwareStudentAndSchedule() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  MainWindow w(&box_->settings);
  test::openStories(w, {1300, 800}, w.distillPanel());
  DistillPanel* p = w.distillPanel();
  constexpr int kSteps = 8, kWarmup = 3;
  const QString out = box_->dir.filePath("qad/student.gguf");
  test::setShortDistillRun(p, kSteps, 0, out);
  p->warmupBox()->setValue(kWarmup);
  p->minLrBox()->setValue(0.2);
  p->clipBox()->setValue(0.5);
  p->quantizeBox()->setCurrentIndex(p->quantizeBox()->findData("q4_0"));
  QVERIFY(!p->granularityEdit()->isEnabled());  // q4_0's 32-blocks have no granularity choice
  const DistillRequest req = p->currentRequest();
  QCOMPARE(req.quantize, QString("q4_0"));
  QCOMPARE(req.warmup, kWarmup);

  test::GuiSpy finished(w.distillWorker(), &DistillWorker::finished);
  QTest::mouseClick(p->startButton(), Qt::LeftButton);
  QTRY_VERIFY2_WITH_TIMEOUT(finished.count() > 0, qPrintable(p->statusText()), 180000);
  const DistillResult r = std::get<0>(finished.at(0));
  QVERIFY(!r.cancelled);
  QCOMPARE(r.student_path, out);
  QVERIFY2(r.quantized.startsWith("q4_0"), qPrintable(r.quantized));
  QVERIFY2(p->resultText().contains("Quantization-aware: q4_0"), qPrintable(p->resultText()));

  // The written student: the quantized matrices in the chosen GGUF type, the rest f32.
  Result<Model> student = loadModel(out.toStdString());
  QVERIFY2(student.ok(), student.ok() ? "" : student.error().message.c_str());
  QCOMPARE(student->config.n_layers, 3);
  int q4 = 0;
  for (const WeightTensor& t : student->tensors) {
    const bool matrix = t.shape.size() == 2 && t.name.rfind("blk.", 0) == 0;
    const bool whole_blocks = matrix && t.shape[1] % 32 == 0;
    const DType expected = whole_blocks ? DType::Q4_0 : DType::F32;
    QVERIFY2(t.type == expected, qPrintable(QString::fromStdString(t.name)));
    q4 += t.type == DType::Q4_0;
  }
  QCOMPARE(q4, 6 * 3);  // attn q, k, v, output, ffn gate, up in each of the 3 layers
  QCOMPARE(student->find("blk.0.ffn_down.weight")->type, DType::F32);

  // The log: the schedule and format as given, and the learning rate the trainer used per step.
  Result<std::unique_ptr<RunStore>> store = RunStore::open(box_->db.toStdString());
  QVERIFY(store.ok());
  Result<RunDetail> d = (*store)->getRun(r.log_run);
  QVERIFY(d.ok());
  QCOMPARE(d->params.at("quantize"), std::string("q4_0"));
  QCOMPARE(d->params.at("warmup"), std::to_string(kWarmup));
  QCOMPARE(d->params.at("min-lr"), std::string("0.2"));
  QCOMPARE(d->params.at("clip"), std::string("0.5"));
  int lrs = 0;
  for (const MetricPoint& m : d->metrics) {
    if (m.key != "lr") continue;
    ++lrs;
    const double expected = scheduledLr(float(req.lr), m.step - 1, kWarmup, kSteps, 0.2f);
    QVERIFY2(std::abs(m.value - expected) <= 1e-7 * expected,
             qPrintable(QString("step %1").arg(m.step)));
  }
  QCOMPARE(lrs, kSteps);

  // Offered to the Quantize panel: the student opens there.
  QTest::mouseClick(p->openStudentButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(w.windowTitle().contains("student.gguf"), 30000);
  QCOMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(w.quantizePanel()));
}

void TestDistillQad::studentFromFile() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  Result<Model> teacher = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(teacher.ok());
  MainWindow w(&box_->settings);
  test::openStories(w, {1300, 800}, w.distillPanel());
  DistillPanel* p = w.distillPanel();
  test::setShortDistillRun(p, 4, 0, box_->dir.filePath("from-file.gguf"));
  p->studentSourceBox()->setCurrentIndex(p->studentSourceBox()->findData("file"));
  QVERIFY(!p->studentEdit()->isEnabled());

  // No file chosen: said before anything starts.
  QTest::mouseClick(p->startButton(), Qt::LeftButton);
  QVERIFY(!p->busy());
  QVERIFY2(p->statusText().contains("student's model file"), qPrintable(p->statusText()));

  // Another vocabulary: refused, naming both files and sizes.
  const QString other = writeStudentFile(*teacher, 300, "vocab300.gguf");
  QVERIFY(!other.isEmpty());
  p->studentFileEdit()->setText(other);
  test::GuiSpy failed(w.distillWorker(), &DistillWorker::failed);
  QTest::mouseClick(p->startButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 30000);
  QTRY_VERIFY(!p->busy());
  const QString msg = p->statusText();
  QVERIFY2(msg.contains("vocabulary of 512") && msg.contains("300") &&
               msg.contains("vocab300.gguf") && msg.contains("must share the tokenizer"),
           qPrintable(msg));

  // The teacher's vocabulary: trains from the file's weights.
  const QString same = writeStudentFile(*teacher, teacher->config.vocab_size, "vocab512.gguf");
  p->studentFileEdit()->setText(same);
  test::GuiSpy finished(w.distillWorker(), &DistillWorker::finished);
  QTest::mouseClick(p->startButton(), Qt::LeftButton);
  QTRY_VERIFY2_WITH_TIMEOUT(finished.count() > 0, qPrintable(p->statusText()), 120000);
  const DistillResult r = std::get<0>(finished.at(0));
  QCOMPARE(r.steps_done, qint64(4));
  LlamaConfig c = teacher->config;
  c.n_layers = 2;
  QCOMPARE(r.student_params, qint64(c.parameterCount()));
  Result<Model> written = loadModel(r.student_path.toStdString());
  QVERIFY(written.ok());
  QCOMPARE(written->config.n_layers, 2);
  Result<std::unique_ptr<RunStore>> store = RunStore::open(box_->db.toStdString());
  QVERIFY(store.ok());
  Result<RunDetail> d = (*store)->getRun(r.log_run);
  QVERIFY(d.ok());
  QCOMPARE(d->params.at("student"), "file " + same.toStdString());
}

QTEST_MAIN(TestDistillQad)
#include "test_distill_qad.moc"
