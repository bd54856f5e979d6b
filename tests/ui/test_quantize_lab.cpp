// The Quantize panel's lab knobs on stories260K (offscreen): an int4 group:32 scheme with int8
// per-token activations and a per-tensor override, evaluated from the window, shows the numbers the
// engine gives for the same scheme and data, and is recorded in the experiment log with precis-cli
// eval's params, metrics, invocation and conversion documents; Sensitivity fills the heatmap
// (layer x tensor) with each tensor's KL, which equals an evaluation that quantizes only that
// tensor; Cancel pressed while the weights are being quantized (a hook after tensor 3) stops the
// conversion there and marks the logged run INTERRUPTED. Seeds: sampled text uses seed 3.
#include <QCheckBox>
#include <QComboBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QtTest>
#include <filesystem>

#include "engine/backend/registry.h"
#include "engine/eval/evaluator.h"
#include "engine/log/run_store.h"
#include "engine/model/loader.h"
#include "ui/chart_widget.h"
#include "ui/engine_thread.h"
#include "ui/heatmap_widget.h"
#include "ui/main_window.h"
#include "ui/quantize_panel.h"
#include "ui/scheme_run.h"
#include "window_fixture.h"

using namespace precis;
using namespace precis::ui;

namespace {
constexpr int kSample = 128, kCtx = 64, kSeed = 3;

int columnOf(const QString& name) { return static_cast<int>(evalColumnNames().indexOf(name)); }

// The evaluation of `settings` on the worker's data (128 tokens sampled with seed 3, windows of 64),
// through the engine directly.
Result<EvalResult> directEval(const Model& m, const SchemeSettings& settings, double* bits) {
  Result<QuantScheme> scheme = schemeFromSettings(settings);
  if (!scheme) return scheme.error();
  Result<test::SampledReference> ref = test::sampledReference(m, "auto", kSample, kSeed);
  if (!ref) return ref.error();
  RuntimeOptions ro;
  ro.max_ctx = kCtx;
  Result<SchemeRun> run =
      buildSchemeRun(m, *scheme, *ref->backend, ro, ref->tokens, SchemeRunOptions{});
  if (!run) return run.error();
  *bits = run->quantized.report.bits_per_weight;
  EvalOptions eo;
  eo.ctx = kCtx;
  eo.bos = 1;
  return evaluate(*ref->runtime, *run->runtime, {ref->tokens}, eo);
}
}  // namespace

class TestQuantizeLab : public QObject {
  Q_OBJECT
 private slots:
  void init();
  void labSchemeLoggedLikeCli();
  void sensitivityHeatmap();
  void cancelWhileQuantizing();

 private:
  std::unique_ptr<test::WindowSandbox> box_;
  void openStories(MainWindow& w);
};

void TestQuantizeLab::init() {
  box_ = std::make_unique<test::WindowSandbox>();
}

void TestQuantizeLab::openStories(MainWindow& w) {
  test::openStories(w, {1300, 850}, w.quantizePanel());
  if (QTest::currentTestFailed()) return;
  QuantizePanel* q = w.quantizePanel();
  q->sampleBox()->setValue(kSample);
  q->ctxBox()->setValue(kCtx);
  static_cast<QSpinBox*>(q->findChildren<QSpinBox*>().at(1))->setValue(kSeed);  // tokens, seed, ctx
}

void TestQuantizeLab::labSchemeLoggedLikeCli() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  Result<Model> model = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(model.ok());
  MainWindow w(&box_->settings);
  openStories(w);
  QuantizePanel* q = w.quantizePanel();
  q->formatBox()->setCurrentText("int4");
  q->granularityBox()->setCurrentText("group:32");
  q->activationsBox()->setCurrentText("int8");
  q->overridesEdit()->setPlainText("blk.0.*=int8@channel\n");
  QVERIFY(q->granularityBox()->isEnabled());
  QTest::mouseClick(q->evaluateButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(q->resultsTable()->rowCount(), 1, 60000);
  QVERIFY2(w.errorText().isEmpty(), qPrintable(w.errorText()));

  SchemeSettings s;
  s.format = "int4";
  s.granularity = "group:32";
  s.activations = "int8";
  s.overrides = {"blk.0.*=int8@channel"};
  double bits = 0;
  Result<EvalResult> expected = directEval(*model, s, &bits);
  QVERIFY2(expected.ok(), expected.ok() ? "" : expected.error().message.c_str());
  const KlStatistics& st = expected->stats;
  QTableWidget* t = q->resultsTable();
  QCOMPARE(t->item(0, columnOf("weights"))->text(), QString("int4 group:32, act int8 per token, 1 override"));
  QCOMPARE(t->item(0, columnOf("KL mean"))->text(), QString::number(st.kl.mean, 'g', 6));
  QCOMPARE(t->item(0, columnOf("KL p99"))->text(), QString::number(st.kl_p99, 'g', 6));
  QCOMPARE(t->item(0, columnOf("bits/weight"))->text(), QString::number(bits, 'f', 3));
  QVERIFY(st.kl.mean > 0);
  QVERIFY(q->frontierChart()->logY());
  QTRY_COMPARE_WITH_TIMEOUT(q->frontierChart()->points(0).size(), 1, 5000);
  QCOMPARE(q->frontierChart()->points(0)[0], QPointF(bits, st.kl.mean));
  emit q->frontierChart()->pointClicked(0, 0);
  // int4 weights run the packed kernels (int8 per-token activations quantized for them); the
  // activation decorator's fake quantization of the other matmuls is labelled simulated.
  QVERIFY2(q->detailsText().contains("packed), int8 per-token"), qPrintable(q->detailsText()));
  QVERIFY2(q->detailsText().contains("simulated"), qPrintable(q->detailsText()));

  // The experiment log: precis-cli eval's record of the same scheme and data.
  Result<std::unique_ptr<RunStore>> store = RunStore::open(box_->db.toStdString());
  QVERIFY(store.ok());
  Result<std::vector<RunInfo>> runs = (*store)->listRuns("eval");
  QVERIFY(runs.ok());
  QCOMPARE(runs->size(), size_t(1));
  Result<RunDetail> d = (*store)->getRun(runs->at(0).id);
  QVERIFY(d.ok());
  QCOMPARE(d->info.status, RunStatus::Finished);
  const std::string abs = std::filesystem::absolute(model->path).lexically_normal().string();
  const std::map<std::string, std::string> want{{"model", abs}, {"weights", "int4"}, {"granularity", "group:32"},
                                                {"activations", "int8"}, {"act-granularity", "token"},
                                                {"override", "blk.0.*=int8@channel"}, {"sample", "128"},
                                                {"seed", "3"}, {"ctx", "64"}};
  QCOMPARE(d->params, want);
  QCOMPARE(d->tags.at("precis.source"), std::string("workbench"));
  const auto latest = d->latestMetrics();
  QCOMPARE(latest.at("kl_mean"), st.kl.mean);
  QCOMPARE(latest.at("top1_agreement"), st.same_top);
  QCOMPARE(latest.at("bits_per_weight"), bits);
  QCOMPARE(latest.at("tokens_scored"), double(expected->tokens_scored));
  QCOMPARE(d->documents.at("invocation")["options"]["--weights"].get<std::string>(), std::string("int4"));
  QCOMPARE(d->documents.at("conversion")["bits_per_weight"].get<double>(), bits);
  QVERIFY(!d->envelope["data"].is_null());
}

void TestQuantizeLab::sensitivityHeatmap() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  Result<Model> model = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(model.ok());
  MainWindow w(&box_->settings);
  openStories(w);
  QuantizePanel* q = w.quantizePanel();
  q->formatBox()->setCurrentText("q4_0");
  QSignalSpy done(w.engine()->worker(), &EngineWorker::sensitivityFinished);
  QTest::mouseClick(q->sensitivityButton(), Qt::LeftButton);
  QVERIFY(q->busy());
  QVERIFY(done.wait(180000));
  QTRY_VERIFY(!q->busy());
  const SensitivityResult r = done.at(0).at(0).value<SensitivityResult>();
  HeatmapWidget* h = q->heatmap();
  QCOMPARE(h->rowCount(), model->config.n_layers);
  // Columns: the tensor kinds the analysis measured, in block order.
  QStringList kinds;
  for (const SensitivityRow& row : r.rows)
    if (QString::fromStdString(row.name).startsWith("blk.")) kinds << QString::fromStdString(row.name).section('.', 2, 2);
  kinds.removeDuplicates();
  QCOMPARE(h->columnCount(), kinds.size());
  const QStringList order = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
  for (int c = 1; c < h->columnCount(); ++c)
    QVERIFY(order.indexOf(h->columnLabels()[c - 1]) < order.indexOf(h->columnLabels()[c]));
  QCOMPARE(h->columnLabels().first(), QString("attn_q"));
  int cells = 0;
  for (const SensitivityRow& row : r.rows) {
    const QString name = QString::fromStdString(row.name);
    if (!name.startsWith("blk.")) continue;
    const int layer = name.section('.', 1, 1).toInt();
    const int col = static_cast<int>(h->columnLabels().indexOf(name.section('.', 2, 2)));
    QCOMPARE(h->value(layer, col), row.kl_mean);
    ++cells;
  }
  QVERIFY(cells > 0);
  QCOMPARE(q->sensitivityChart()->points(0).size(), int(r.rows.size()));
  QVERIFY(h->toCsv().startsWith("row,attn_q,"));
  // Independent check of one cell: an evaluation that quantizes only blk.1.attn_q.weight to q4_0.
  SchemeSettings only;
  only.format = "f32";
  only.overrides = {"blk.1.attn_q.weight=q4_0"};
  double bits = 0;
  Result<EvalResult> one = directEval(*model, only, &bits);
  QVERIFY2(one.ok(), one.ok() ? "" : one.error().message.c_str());
  const double cell = h->value(1, 0);
  QVERIFY2(std::abs(cell - one->stats.kl.mean) <= 1e-9 * std::max(1.0, cell),
           qPrintable(QString("heatmap %1 vs direct %2").arg(cell, 0, 'g', 17).arg(one->stats.kl.mean, 0, 'g', 17)));
}

void TestQuantizeLab::cancelWhileQuantizing() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  MainWindow w(&box_->settings);
  openStories(w);
  QuantizePanel* q = w.quantizePanel();
  q->formatBox()->setCurrentText("nf4");
  EngineWorker* worker = w.engine()->worker();
  int converted = 0;
  worker->setConversionHook([&converted, worker](int done, int) {
    converted = done;  // written on the engine thread; read here only after the cancelled signal
    if (done == 3) worker->cancel();
  });
  QSignalSpy cancelled(worker, &EngineWorker::cancelled);
  QTest::mouseClick(q->evaluateButton(), Qt::LeftButton);
  QVERIFY(cancelled.wait(30000));
  QCOMPARE(cancelled.at(0).at(0).toString(), QString("evaluate"));
  QCOMPARE(converted, 3);  // the tensor being converted when Cancel came was the last one
  QTRY_VERIFY(!q->busy());
  QCOMPARE(q->statusText(), QString("Evaluation cancelled."));
  QCOMPARE(q->resultsTable()->rowCount(), 0);
  Result<std::unique_ptr<RunStore>> store = RunStore::open(box_->db.toStdString());
  QVERIFY(store.ok());
  Result<std::vector<RunInfo>> runs = (*store)->listRuns("eval");
  QVERIFY(runs.ok());
  QCOMPARE(runs->size(), size_t(1));
  QCOMPARE(runs->at(0).status, RunStatus::Interrupted);
}

QTEST_MAIN(TestQuantizeLab)
#include "test_quantize_lab.moc"
