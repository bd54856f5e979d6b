// The Serve panel's request timeline, deadlines, trace files, KV block size, queue bound and
// cost-model clock, driving the real engine on stories260K (offscreen). Runs use the cost-model
// clock (serve-sim --clock model): the worker fits a cost model to measured steps and replays the
// schedule on it, so the test can simulate the same workload and configuration again directly with
// the result's cost model and get the engine's exact per-request timestamps. The timeline's bars
// (wait: arrival -> first scheduled; prefill: -> first token; decode: -> finish) must equal them,
// missed rows must be the engine's deadline misses, and the table's goodput the engine's. A trace
// saved from the panel loads back as the same requests, and a run on it serves exactly them; a
// closed loop cannot be saved. The timeline exports PNG, SVG and CSV; hand-built records give the
// spans, deadlines and misses of the goodput rule. Workload seeds 3 and 9.
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QtTest>

#include "engine/log/run_store.h"
#include "engine/model/loader.h"
#include "engine/serve/executors.h"
#include "engine/serve/metrics.h"
#include "engine/serve/simulator.h"
#include "engine/serve/workload.h"
#include "gui_spy.h"
#include "ui/main_window.h"
#include "ui/request_timeline.h"
#include "ui/serve_panel.h"
#include "ui/serve_worker.h"
#include "window_fixture.h"

using namespace precis;
using namespace precis::ui;

namespace {
int metricRow(const QString& name) {
  return static_cast<int>(serveMetricNames().indexOf(name));
}

// The scheduler configuration the worker builds from the panel's request.
SchedulerConfig configOf(const ServeRequest& r, const QString& policy, const Workload& w) {
  SchedulerConfig c;
  c.policy = *parseBatchPolicy(policy.toStdString());
  c.max_batch = r.max_batch;
  c.batch_window = r.batch_window_ms / 1000.0;
  c.token_budget = r.token_budget;
  c.chunked_prefill = r.chunked_prefill;
  c.kv_blocks = r.kv_blocks;
  c.block_size = r.block_size;
  c.max_queue = r.max_queue;
  c.shed = r.shed;
  c.max_ctx = 0;
  for (const Request& q : w.requests)
    c.max_ctx = std::max(c.max_ctx, int(q.prompt.size()) + q.output_len);
  return c;
}
}  // namespace

class TestServeTimeline : public QObject {
  Q_OBJECT
 private slots:
  void init();
  void spansOfHandBuiltRecords();
  void barsAndGoodputEqualTheEngine();
  void savedTraceServesTheSameRequests();
  void qualityGoodputFromEvalFile();

 private:
  std::unique_ptr<test::WindowSandbox> box_;
  void run(MainWindow& w);
};

void TestServeTimeline::init() {
  box_ = std::make_unique<test::WindowSandbox>();
}

void TestServeTimeline::run(MainWindow& w) {
  ServePanel* p = w.servePanel();
  test::GuiSpy finished(w.serveWorker(), &ServeWorker::finished);
  QTest::mouseClick(p->runButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() > 0, 120000);
  QVERIFY2(!std::get<0>(finished.at(0)), "cancelled");
  QTRY_VERIFY_WITH_TIMEOUT(!p->busy(), 5000);
  QVERIFY2(p->results().size() == std::get<2>(finished.at(0)), qPrintable(p->statusText()));
}

void TestServeTimeline::spansOfHandBuiltRecords() {
  // r0: meets both targets; r1: TTFT 0.5 > 0.4; r2: TPOT (2.0 - 1.0) / 2 = 0.5 > 0.3; r3: rejected.
  std::vector<RequestRecord> recs(4);
  for (int i = 0; i < 4; ++i) {
    recs[size_t(i)].id = i;
    recs[size_t(i)].ttft_target = 0.4;
    recs[size_t(i)].tpot_target = 0.3;
  }
  recs[0].arrival = 0.0, recs[0].scheduled = 0.1, recs[0].token_times = {0.3, 0.5},
  recs[0].finish = 0.5;
  recs[1].arrival = 0.2, recs[1].scheduled = 0.6, recs[1].token_times = {0.7}, recs[1].finish = 0.7;
  recs[2].arrival = 0.5, recs[2].scheduled = 0.6, recs[2].token_times = {1.0, 1.5, 2.0},
  recs[2].finish = 2.0;
  recs[3].arrival = 0.6, recs[3].rejected = true;
  const QVector<RequestSpan> s = requestSpans(recs);
  QCOMPARE(s.size(), 4);
  QCOMPARE(s[0].first_token, 0.3);
  QCOMPARE(s[0].ttft_deadline, 0.4);
  QCOMPARE(s[0].decode_deadline, 0.3 + 0.3);
  QVERIFY(!s[0].missed);
  QVERIFY(s[1].missed);
  QCOMPARE(s[1].decode_deadline, -1.0);  // one token: no TPOT
  QVERIFY(s[2].missed);
  QCOMPARE(s[2].decode_deadline, 1.0 + 0.3 * 2);
  QVERIFY(s[3].rejected && !s[3].missed);
  QCOMPARE(s[3].first_token, -1.0);
  RequestTimelineWidget w;
  w.setSpans(s);
  QCOMPARE(w.duration(), 2.0);
  w.fitWidth(1000);
  QVERIFY(std::abs(w.xOf(2.0) - (w.width() - 16)) <=
          1.0);  // the run fills the width (right margin 16)
  QVERIFY(std::abs(w.timeAt(w.xOf(1.25)) - 1.25) < 1e-12);
  const QStringList csv = w.toCsv().trimmed().split('\n');
  QCOMPARE(csv.size(), 5);
  QCOMPARE(csv[4], QString("3,0.59999999999999998,,,,1,,0,1,0"));  // 17 significant digits
}

void TestServeTimeline::barsAndGoodputEqualTheEngine() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  Result<Model> model = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(model.ok());
  MainWindow w(&box_->settings);
  test::openStories(w, {1300, 900}, w.servePanel());
  ServePanel* p = w.servePanel();
  p->arrivalBox()->setCurrentIndex(p->arrivalBox()->findData("poisson"));
  p->rateBox()->setValue(20);
  p->requestsBox()->setValue(16);
  p->maxBatchBox()->setValue(4);
  p->promptLenEdit()->setText("4:12");
  p->outputLenEdit()->setText("2:10");
  p->seedBox()->setValue(3);
  p->ttftTargetBox()->setValue(30);
  p->tpotTargetBox()->setValue(0.5);
  p->blockSizeBox()->setValue(8);
  p->maxQueueBox()->setValue(64);
  p->clockBox()->setCurrentIndex(p->clockBox()->findData("model"));
  p->policyBox("dynamic")->setChecked(true);
  p->policyBox("continuous")->setChecked(true);
  const ServeRequest req = p->currentRequest();
  QCOMPARE(req.clock, QString("model"));
  QCOMPARE(req.block_size, 8);
  QCOMPARE(req.ttft_target_ms, 30.0);
  run(w);
  QCOMPARE(p->results().size(), 2);

  // The same workload, built by the engine directly.
  WorkloadSpec ws;
  ws.requests = 16;
  ws.rate = 20;
  ws.prompt_len = *LengthDist::parse("4:12", "p");
  ws.output_len = *LengthDist::parse("2:10", "o");
  ws.ttft_target = 0.030;
  ws.tpot_target = 0.0005;
  ws.vocab_size = model->config.vocab_size;
  ws.bos = 1;
  ws.seed = 3;
  Result<Workload> workload = makeWorkload(ws);
  QVERIFY(workload.ok());
  // The seeded trace's 4th request arrives more than the 50 ms window after the first, so under
  // dynamic batching the first request waits the whole window: more than its 30 ms TTFT target.
  QVERIFY(workload->requests[3].arrival - workload->requests[0].arrival > 0.050);

  for (int i = 0; i < 2; ++i) {
    const ServeResult& r = p->results()[i];
    QCOMPARE(r.clock, QString("model"));
    QVERIFY(r.cost_model.has_value());
    ModelExecutor exec(*r.cost_model);
    Result<SimResult> sim =
        simulate(*workload, configOf(req, r.policy, *workload), exec, SimOptions{});
    QVERIFY2(sim.ok(), sim.ok() ? "" : sim.error().message.c_str());
    const std::vector<RequestRecord>& engine = sim->timeline.requests;

    // The timeline shows this policy's run; its bars are the engine's timestamps.
    p->timelinePolicyBox()->setCurrentIndex(i);
    const QVector<RequestSpan> spans = p->timeline()->spans();
    QCOMPARE(spans.size(), int(engine.size()));
    int missed = 0;
    for (int j = 0; j < spans.size(); ++j) {
      const RequestSpan& s = spans[j];
      const RequestRecord& e = engine[size_t(j)];
      QCOMPARE(s.id, e.id);
      QCOMPARE(s.rejected, e.rejected);
      QCOMPARE(s.arrival, e.arrival);      // wait bar: arrival -> first scheduled
      QCOMPARE(s.scheduled, e.scheduled);  // prefill bar: first scheduled -> first token
      QCOMPARE(s.first_token, e.token_times.front());
      QCOMPARE(s.finish, e.finish);  // decode bar: first token -> finish
      QVERIFY(s.arrival <= s.scheduled && s.scheduled < s.first_token && s.first_token <= s.finish);
      QCOMPARE(s.ttft_deadline, e.arrival + 0.030);
      QCOMPARE(s.missed, !meetsTargets(e));
      missed += s.missed;
    }
    if (r.policy == "dynamic") {
      QVERIFY(spans[0].scheduled - spans[0].arrival >=
              0.050 - 1e-12);  // the window, paid by the first user
      QVERIFY(spans[0].missed);
    }
    // Goodput: the engine's, in the result and in the table.
    const ServeMetrics m =
        computeMetrics(sim->timeline, QualityInput{true, 1.0, 0.0, 1.0, "reference"});
    QCOMPARE(r.metrics.goodput, m.goodput);
    QCOMPARE(r.metrics.good, m.good);
    QCOMPARE(r.metrics.deadline_misses, m.deadline_misses);
    QCOMPARE(missed, m.deadline_misses);
    QVERIFY(m.good + m.deadline_misses == m.finished);
    QTableWidget* t = p->metricsTable();
    QCOMPARE(t->item(metricRow("goodput req/s"), i)->text(), QString::number(m.goodput, 'f', 3));
    QCOMPARE(t->item(metricRow("requests meeting deadlines"), i)->text(), QString::number(m.good));
    QCOMPARE(t->item(metricRow("deadline misses"), i)->text(), QString::number(m.deadline_misses));
    QCOMPARE(t->item(metricRow("clock"), i)->text(), QString("model"));
    QCOMPARE(t->item(metricRow("cost model"), i)->text(),
             QString::fromStdString(r.cost_model->describe()));
  }

  // Zoom, and the exports (CSV rows are the spans).
  RequestTimelineWidget* tl = p->timeline();
  const double x1 = tl->xOf(1.0) - tl->xOf(0.0);
  tl->zoomTime(2);
  QVERIFY(std::abs((tl->xOf(1.0) - tl->xOf(0.0)) - 2 * x1) < 1e-9);
  QVERIFY(tl->width() >= int(tl->duration() * tl->pixelsPerSecond()));
  const QStringList lines = tl->toCsv().trimmed().split('\n');
  QCOMPARE(lines.size(), 1 + tl->spans().size());
  QVERIFY(lines[0].startsWith("request,arrival_s,scheduled_s,first_token_s,finish_s"));
  QCOMPARE(lines[1].split(',')[1].toDouble(), tl->spans()[0].arrival);
  QString error;
  for (const QString& ext : {"png", "svg", "csv"}) {
    const QString f = box_->dir.filePath("timeline." + ext);
    const bool ok = ext == "png"   ? tl->exportPng(f, &error)
                    : ext == "svg" ? tl->exportSvg(f, &error)
                                   : tl->exportCsv(f, &error);
    QVERIFY2(ok, qPrintable(error));
    QVERIFY(QFileInfo(f).size() > 100);
  }
  QVERIFY(!tl->exportCsv(box_->dir.filePath("missing/dir/t.csv"), &error));
  QVERIFY2(error.contains("missing/dir"), qPrintable(error));

  // The log records the clock as serve-sim's option.
  Result<std::unique_ptr<RunStore>> store = RunStore::open(box_->db.toStdString());
  QVERIFY(store.ok());
  Result<RunDetail> d = (*store)->getRun(p->results()[0].log_run);
  QVERIFY(d.ok());
  QCOMPARE(d->params.at("clock"), std::string("model"));
  QCOMPARE(d->params.at("block-size"), std::string("8"));
  QCOMPARE(d->params.at("ttft-target"), std::string("30"));
}

void TestServeTimeline::savedTraceServesTheSameRequests() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  Result<Model> model = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(model.ok());
  MainWindow w(&box_->settings);
  test::openStories(w, {1300, 900}, w.servePanel());
  ServePanel* p = w.servePanel();
  p->arrivalBox()->setCurrentIndex(p->arrivalBox()->findData("closed"));
  QString error;
  QVERIFY(!p->saveTrace(box_->dir.filePath("closed.txt"), &error));
  QVERIFY2(error.contains("closed-loop"), qPrintable(error));

  p->arrivalBox()->setCurrentIndex(p->arrivalBox()->findData("poisson"));
  p->rateBox()->setValue(100000);
  p->requestsBox()->setValue(20);
  p->promptLenEdit()->setText("6");
  p->outputLenEdit()->setText("data:2,5,9");
  p->seedBox()->setValue(9);
  p->tpotTargetBox()->setValue(0.25);
  const QString trace = box_->dir.filePath("trace.txt");
  QVERIFY2(p->saveTrace(trace, &error), qPrintable(error));
  WorkloadSpec ws;
  ws.requests = 20;
  ws.rate = 100000;
  ws.prompt_len = *LengthDist::parse("6", "p");
  ws.output_len = *LengthDist::parse("data:2,5,9", "o");
  ws.tpot_target = 0.00025;
  ws.vocab_size = model->config.vocab_size;
  ws.seed = 9;
  Result<Workload> generated = makeWorkload(ws);
  Result<Workload> loaded = loadTrace(trace.toStdString(), ws);
  QVERIFY(generated.ok() && loaded.ok());
  QCOMPARE(loaded->requests.size(), generated->requests.size());
  for (size_t i = 0; i < generated->requests.size(); ++i) {
    QCOMPARE(loaded->requests[i].arrival, generated->requests[i].arrival);
    QCOMPARE(loaded->requests[i].prompt, generated->requests[i].prompt);
    QCOMPARE(loaded->requests[i].output_len, generated->requests[i].output_len);
    QCOMPARE(loaded->requests[i].tpot_target, generated->requests[i].tpot_target);
  }

  // Serve the trace under static batching with a queue bound of 3: 20 requests in ~0.2 ms overflow
  // it, and the rejections are the engine's.
  p->arrivalBox()->setCurrentIndex(p->arrivalBox()->findData("trace"));
  p->traceEdit()->setText(trace);
  p->requestsBox()->setValue(1);  // ignored for a trace
  p->maxBatchBox()->setValue(2);
  p->maxQueueBox()->setValue(3);
  p->clockBox()->setCurrentIndex(p->clockBox()->findData("model"));
  p->policyBox("static")->setChecked(true);
  p->policyBox("continuous")->setChecked(false);
  const ServeRequest req = p->currentRequest();
  QCOMPARE(req.arrival, QString("trace"));
  run(w);
  QCOMPARE(p->results().size(), 1);
  const ServeResult& r = p->results()[0];
  QCOMPARE(int(r.requests.size()), 20);
  for (size_t i = 0; i < r.requests.size(); ++i) {
    QCOMPARE(r.requests[i].arrival, generated->requests[i].arrival);
    QCOMPARE(r.requests[i].output_len, generated->requests[i].output_len);
  }
  ModelExecutor exec(*r.cost_model);
  Result<SimResult> sim = simulate(*loaded, configOf(req, "static", *loaded), exec, SimOptions{});
  QVERIFY(sim.ok());
  const ServeMetrics m = computeMetrics(sim->timeline, QualityInput{});
  QVERIFY(m.rejected > 0);
  QCOMPARE(r.metrics.rejected, m.rejected);
  QCOMPARE(r.metrics.goodput, m.goodput);
  int rejected_rows = 0;
  for (const RequestSpan& s : p->timeline()->spans()) rejected_rows += s.rejected;
  QCOMPARE(rejected_rows, m.rejected);
  Result<std::unique_ptr<RunStore>> store = RunStore::open(box_->db.toStdString());
  QVERIFY(store.ok());
  Result<RunDetail> d = (*store)->getRun(r.log_run);
  QVERIFY(d.ok());
  QCOMPARE(d->params.at("trace"), trace.toStdString());
  QCOMPARE(d->params.at("max-queue"), std::string("3"));
  QVERIFY(!d->params.count("requests"));
}

void TestServeTimeline::qualityGoodputFromEvalFile() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  Result<Model> model = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(model.ok());
  MainWindow w(&box_->settings);
  test::openStories(w, {1300, 900}, w.servePanel());
  ServePanel* p = w.servePanel();
  p->arrivalBox()->setCurrentIndex(p->arrivalBox()->findData("closed"));
  p->requestsBox()->setValue(8);
  p->promptLenEdit()->setText("5");
  p->outputLenEdit()->setText("3:6");
  p->weightsBox()->setCurrentText("q8_0");
  p->clockBox()->setCurrentIndex(p->clockBox()->findData("model"));
  const auto writeEval = [&](const QString& name, const QByteArray& json) {
    const QString f = box_->dir.filePath(name);
    QFile out(f);
    if (out.open(QIODevice::WriteOnly)) out.write(json);
    return f;
  };
  // Without a measurement, q8_0's quality is unknown: no quality goodput (never a guess).
  run(w);
  QVERIFY(!p->results()[0].metrics.quality_goodput.has_value());
  QVERIFY(p->metricsTable()->item(metricRow("quality goodput tok/s"), 0)->text().startsWith("n/a"));

  // An eval that meets the policy (KL 0.02 <= 0.05, top-1 0.95 >= 0.9): the engine's quality goodput.
  const QString good = writeEval("good.json", R"({"kl": {"mean": 0.02}, "top1_agreement": 0.95})");
  p->qualityEdit()->setText(good);
  run(w);
  const ServeResult r = p->results()[0];
  QVERIFY(r.metrics.quality_goodput.has_value());
  Result<QualityInput> qi = qualityFromEvalJson(good.toStdString(), 0.05, 0.9);
  QVERIFY(qi.ok());
  QCOMPARE(qi->acceptance, 1.0);
  WorkloadSpec ws;
  ws.requests = 8;
  ws.arrival = ArrivalKind::ClosedLoop;
  ws.concurrency = p->currentRequest().concurrency;
  ws.prompt_len = *LengthDist::parse("5", "p");
  ws.output_len = *LengthDist::parse("3:6", "o");
  ws.vocab_size = model->config.vocab_size;
  Result<Workload> workload = makeWorkload(ws);
  QVERIFY(workload.ok());
  ModelExecutor exec(*r.cost_model);
  Result<SimResult> sim =
      simulate(*workload, configOf(p->currentRequest(), "continuous", *workload), exec, SimOptions{});
  QVERIFY(sim.ok());
  const ServeMetrics m = computeMetrics(sim->timeline, *qi);
  QCOMPARE(*r.metrics.quality_goodput, *m.quality_goodput);
  QVERIFY(*m.quality_goodput > 0);
  QCOMPARE(p->metricsTable()->item(metricRow("quality goodput tok/s"), 0)->text(),
           QString::number(*m.quality_goodput, 'f', 1));
  QCOMPARE(p->metricsTable()->item(metricRow("quality"), 0)->text(), QString::fromStdString(qi->source));

  // A stricter policy rejects these weights: quality goodput 0.
  p->qualityMaxKlBox()->setValue(0.01);
  run(w);
  QCOMPARE(*p->results()[0].metrics.quality_goodput, 0.0);
  QVERIFY(p->results()[0].quality.contains("rejected"));

  // A file that is not an eval result: the message names it.
  p->qualityEdit()->setText(writeEval("bad.json", R"({"ppl": 3})"));
  test::GuiSpy failed(w.serveWorker(), &ServeWorker::failed);
  QTest::mouseClick(p->runButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 30000);
  QTRY_VERIFY(!p->busy());
  QVERIFY2(p->statusText().contains("bad.json") && p->statusText().contains("kl.mean"), qPrintable(p->statusText()));
}

QTEST_MAIN(TestServeTimeline)
#include "test_serve_timeline.moc"
