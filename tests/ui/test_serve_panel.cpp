// The Serve panel (batching lab) driving the real engine on stories260K (offscreen): a closed-loop
// workload under static and continuous batching finishes every request with exactly the output
// lengths of the seeded workload; the occupancy chart gets one point per engine step and its mean
// equals the engine's occupancy_mean; the percentile curves, the throughput-vs-p99-TTFT points and
// the metrics table show the engine's numbers; both runs are in the experiment log with the
// per-step series, as serve-sim --db records them. Stop at an exact step (a hook on the worker
// thread) marks the run INTERRUPTED with exactly the steps done; closing during a run returns.
// A lab format (int4 group:32) is served on the packed int4 kernels, the table names them, and the
// run serves the same workload; an impossible granularity is refused with a message naming it.
// Workload seed 5.
#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QtTest>
#include <filesystem>

#include "engine/log/run_store.h"
#include "engine/model/loader.h"
#include "engine/serve/workload.h"
#include "gui_spy.h"
#include "ui/chart_widget.h"
#include "ui/main_window.h"
#include "ui/serve_panel.h"
#include "ui/serve_worker.h"
#include "window_fixture.h"

using namespace precis;
using namespace precis::ui;

namespace {
constexpr int kRequests = 12, kSeed = 5;

int metricRow(const QString& name) { return static_cast<int>(serveMetricNames().indexOf(name)); }
}  // namespace

class TestServePanel : public QObject {
  Q_OBJECT
 private slots:
  void init();
  void runTwoPoliciesAndLog();
  void stopAtExactStep();
  void closeDuringRun();
  void labWeightsRunPackedKernels();

 private:
  std::unique_ptr<test::WindowSandbox> box_;
  void setWorkload(ServePanel* p);
};

void TestServePanel::init() {
  box_ = std::make_unique<test::WindowSandbox>();
}

void TestServePanel::setWorkload(ServePanel* p) {
  p->arrivalBox()->setCurrentIndex(p->arrivalBox()->findData("closed"));
  p->requestsBox()->setValue(kRequests);
  p->maxBatchBox()->setValue(4);
  p->promptLenEdit()->setText("8");
  p->outputLenEdit()->setText("4:12");
  p->seedBox()->setValue(kSeed);
}

void TestServePanel::runTwoPoliciesAndLog() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  Result<Model> model = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(model.ok());
  MainWindow w(&box_->settings);
  test::openStories(w, {1300, 800}, w.servePanel());
  ServePanel* p = w.servePanel();
  setWorkload(p);
  p->policyBox("static")->setChecked(true);
  p->policyBox("continuous")->setChecked(true);
  const ServeRequest req = p->currentRequest();
  QCOMPARE(req.seed, quint64(kSeed));
  QCOMPARE(req.policies, QStringList({"static", "continuous"}));

  // The same workload built directly: its output lengths are what must be generated.
  WorkloadSpec ws;
  ws.requests = kRequests;
  ws.arrival = ArrivalKind::ClosedLoop;
  ws.concurrency = req.concurrency;
  ws.prompt_len = *LengthDist::parse("8", "p");
  ws.output_len = *LengthDist::parse("4:12", "o");
  ws.vocab_size = model->config.vocab_size;
  ws.bos = model->tokenizer.bos_id >= 0 ? model->tokenizer.bos_id : 1;
  ws.seed = kSeed;
  Result<Workload> workload = makeWorkload(ws);
  QVERIFY(workload.ok());
  long long expected_tokens = 0;
  for (const Request& r : workload->requests) expected_tokens += r.output_len;

  test::GuiSpy finished(w.serveWorker(), &ServeWorker::finished);
  emit w.serveRequested(req, nullptr);  // no model: a clear error, nothing runs
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
  QTRY_VERIFY2(w.errorText().contains("no model is loaded"), qPrintable(w.errorText()));
  finished.clear();

  QTest::mouseClick(p->runButton(), Qt::LeftButton);
  QVERIFY(p->busy());
  QVERIFY(p->stopButton()->isEnabled());
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() > 0, 120000);
  QCOMPARE(std::get<0>(finished.at(0)), false);
  QCOMPARE(std::get<1>(finished.at(0)), 2);
  QTRY_VERIFY_WITH_TIMEOUT(!p->busy(), 5000);
  QCOMPARE(p->results().size(), 2);

  for (int i = 0; i < 2; ++i) {
    const ServeResult& r = p->results()[i];
    QCOMPARE(r.policy, req.policies[i]);
    QCOMPARE(r.metrics.finished, kRequests);
    QCOMPARE(r.metrics.rejected, 0);
    QCOMPARE(r.metrics.output_tokens, expected_tokens);
    QCOMPARE(r.ttft.size(), kRequests);
    // Occupancy: one point per engine step, each in (0, 1], their mean = the engine's metric.
    const QVector<QPointF> occ = p->occupancyChart()->points(i);
    QCOMPARE(occ.size(), r.metrics.steps);
    double sum = 0;
    for (const QPointF& pt : occ) {
      QVERIFY(pt.y() > 0 && pt.y() <= 1);
      sum += pt.y();
    }
    QVERIFY(std::abs(sum / occ.size() - r.metrics.occupancy_mean) < 1e-12);
    QCOMPARE(p->kvChart()->points(i).size(), r.metrics.steps);
    // Percentile curves: 101 points; p50 and p99 are the engine's.
    const QVector<QPointF> ttft = p->ttftChart()->points(i);
    QCOMPARE(ttft.size(), 101);
    QVERIFY(std::abs(ttft[50].y() - 1000 * r.metrics.ttft.p50) < 1e-9);
    QVERIFY(std::abs(ttft[99].y() - 1000 * r.metrics.ttft.p99) < 1e-9);
    QCOMPARE(p->tpotChart()->points(i)[50].y(), 1000 * r.metrics.tpot.p50);
    // The table's column shows the same result.
    QCOMPARE(p->metricsTable()->horizontalHeaderItem(i)->text(), r.policy);
    QCOMPARE(p->metricsTable()->item(metricRow("output tokens"), i)->text(), QString::number(expected_tokens));
    QCOMPARE(p->metricsTable()->item(metricRow("TTFT p99 ms"), i)->text(),
             QString::number(1000 * r.metrics.ttft.p99, 'f', 1));
    QVERIFY(r.log_run > 0);
  }
  // Throughput vs p99 TTFT: one point per run, in its policy's series.
  QCOMPARE(p->frontierChart()->points(0).size(), 1);  // static
  QCOMPARE(p->frontierChart()->points(2).size(), 1);  // continuous
  QCOMPARE(p->frontierChart()->points(2)[0],
           QPointF(1000 * p->results()[1].metrics.ttft.p99, p->results()[1].metrics.output_tokens_per_s));

  // The experiment log: two FINISHED serve-sim runs with serve-sim's params and series.
  Result<std::unique_ptr<RunStore>> store = RunStore::open(box_->db.toStdString());
  QVERIFY2(store.ok(), store.ok() ? "" : store.error().message.c_str());
  for (int i = 0; i < 2; ++i) {
    const ServeResult& r = p->results()[i];
    Result<RunDetail> d = (*store)->getRun(r.log_run);
    QVERIFY(d.ok());
    QCOMPARE(d->info.kind, std::string("serve-sim"));
    QCOMPARE(d->info.status, RunStatus::Finished);
    QCOMPARE(d->params.at("policy"), r.policy.toStdString());
    QCOMPARE(d->params.at("requests"), std::to_string(kRequests));
    QCOMPARE(d->params.at("seed"), std::to_string(kSeed));
    QCOMPARE(std::filesystem::path(d->params.at("model")).lexically_normal(),
             std::filesystem::path(model->path).lexically_normal());
    QCOMPARE(d->tags.at("precis.source"), std::string("workbench"));
    const auto latest = d->latestMetrics();
    QCOMPARE(latest.at("output_tokens"), double(expected_tokens));
    QCOMPARE(latest.at("finished"), double(kRequests));
    QCOMPARE(latest.at("ttft_p99"), r.metrics.ttft.p99);
    int sequences = 0;
    for (const MetricPoint& m : d->metrics) sequences += m.key == "sequences";
    QCOMPARE(sequences, r.metrics.steps);
  }
}

void TestServePanel::stopAtExactStep() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  MainWindow w(&box_->settings);
  test::openStories(w, {1300, 800}, w.servePanel());
  ServePanel* p = w.servePanel();
  setWorkload(p);
  ServeWorker* worker = w.serveWorker();
  constexpr int kStopAfter = 3;  // step index after which Stop is pressed (deterministic)
  worker->setStepHook([worker](int step) {
    if (step == kStopAfter) worker->cancel();
  });
  test::GuiSpy finished(worker, &ServeWorker::finished);
  QTest::mouseClick(p->runButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() > 0, 60000);
  QCOMPARE(std::get<0>(finished.at(0)), true);  // cancelled
  QCOMPARE(std::get<1>(finished.at(0)), 0);
  QTRY_VERIFY(!p->busy());
  QVERIFY2(p->statusText().contains("Stopped"), qPrintable(p->statusText()));
  QCOMPARE(p->occupancyChart()->points(0).size(), kStopAfter + 1);
  Result<std::unique_ptr<RunStore>> store = RunStore::open(box_->db.toStdString());
  QVERIFY(store.ok());
  Result<std::vector<RunInfo>> runs = (*store)->listRuns("serve-sim");
  QVERIFY(runs.ok());
  QCOMPARE(runs->size(), size_t(1));
  QCOMPARE(runs->at(0).status, RunStatus::Interrupted);
  Result<RunDetail> d = (*store)->getRun(runs->at(0).id);
  QVERIFY(d.ok());
  int steps = 0;
  for (const MetricPoint& m : d->metrics) steps += m.key == "sequences";
  QCOMPARE(steps, kStopAfter + 1);
}

void TestServePanel::closeDuringRun() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  auto w = std::make_unique<MainWindow>(&box_->settings);
  test::openStories(*w, {1300, 800}, w->servePanel());
  ServePanel* p = w->servePanel();
  p->requestsBox()->setValue(5000);  // minutes of work
  test::GuiSpy progress(w->serveWorker(), &ServeWorker::progressChanged);
  QTest::mouseClick(p->runButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 0, 30000);
  QVERIFY(p->busy());
  w.reset();  // cancels, quits and waits for the serve thread: must return
  QVERIFY(progress.count() > 0);
}

void TestServePanel::labWeightsRunPackedKernels() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  MainWindow w(&box_->settings);
  test::openStories(w, {1300, 800}, w.servePanel());
  ServePanel* p = w.servePanel();
  setWorkload(p);
  p->weightsBox()->setCurrentText("int4");
  QVERIFY(p->granularityEdit()->isEnabled());
  p->granularityEdit()->setText("group:3");  // not a power of two from 16 to 256
  test::GuiSpy finished(w.serveWorker(), &ServeWorker::finished);
  QTest::mouseClick(p->runButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() > 0, 30000);
  QTRY_VERIFY2(w.errorText().contains("granularity"), qPrintable(w.errorText()));
  QTRY_VERIFY_WITH_TIMEOUT(!p->busy(), 5000);
  finished.clear();

  p->granularityEdit()->setText("group:32");
  const ServeRequest req = p->currentRequest();
  QCOMPARE(req.weights, QString("int4"));
  QCOMPARE(req.granularity, QString("group:32"));
  QTest::mouseClick(p->runButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() > 0, 120000);
  QCOMPARE(std::get<0>(finished.at(0)), false);
  QTRY_VERIFY_WITH_TIMEOUT(!p->busy(), 5000);
  QCOMPARE(p->results().size(), 1);
  const ServeResult& r = p->results()[0];
  QCOMPARE(r.metrics.finished, kRequests);
  QVERIFY(!r.kernels.isEmpty());
  bool packed = false;
  for (const QString& k : r.kernels) packed |= k.startsWith("int4 group:32") && k.contains("packed");
  QVERIFY2(packed, qPrintable(r.kernels.join(" | ")));
  const int row = metricRow("weight kernels");
  QVERIFY(row >= 0);
  QCOMPARE(serveMetricCells(r)[row], r.kernels.join("; "));
  // The f32 weights run no lab kernels.
  p->weightsBox()->setCurrentText("f32");
  QVERIFY(!p->granularityEdit()->isEnabled());
}

QTEST_MAIN(TestServePanel)
#include "test_serve_panel.moc"
