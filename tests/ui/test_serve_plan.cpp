// The Serve panel's plan file (serve-sim --plan) on stories260K (offscreen): a plan written with
// the engine's writeQuantPlan (base int4 group:32, blk.0.* at int8 channel) is described under the
// picker, replaces the panel's weights, and is served: the run's "weights served" row equals the
// engine's quantizeModel report for the same scheme (blk.0's matrices int8 channel, the rest int4),
// the packed int8 and int4 kernels both ran, the table names the plan and the log records it; the
// uniform int4 group:32 run on the same workload serves different weights (no int8 tensors, fewer
// bytes). A plan with an unknown format and a missing plan file are refused in the panel, naming
// the file, and nothing runs. Workload seed 5.
#include <QComboBox>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>

#include "engine/log/run_store.h"
#include "engine/model/loader.h"
#include "engine/quant/quant_plan.h"
#include "engine/quant/quantize_model.h"
#include "gui_spy.h"
#include "window_fixture.h"
#include "test_paths.h"
#include "ui/main_window.h"
#include "ui/serve_panel.h"
#include "ui/serve_plan.h"
#include "ui/serve_worker.h"

using namespace precis;
using namespace precis::ui;

namespace {
constexpr int kRequests = 6, kSeed = 5;

int metricRow(const QString& name) {
  return static_cast<int>(serveMetricNames().indexOf(name));
}
}  // namespace

class TestServePlan : public QObject {
  Q_OBJECT
 private slots:
  void init();
  void planIsServedAndTabled();
  void badPlanRefused();

 private:
  std::unique_ptr<test::WindowSandbox> box_;
  void openStories(MainWindow& w);  // stories260K in the Serve panel, with the test's workload
};

void TestServePlan::init() { box_ = std::make_unique<test::WindowSandbox>(); }

void TestServePlan::openStories(MainWindow& w) {
  test::openStories(w, {1300, 800}, w.servePanel());
  ServePanel* p = w.servePanel();
  p->arrivalBox()->setCurrentIndex(p->arrivalBox()->findData("closed"));
  p->requestsBox()->setValue(kRequests);
  p->maxBatchBox()->setValue(4);
  p->promptLenEdit()->setText("8");
  p->outputLenEdit()->setText("4:8");
  p->seedBox()->setValue(kSeed);
}

void TestServePlan::planIsServedAndTabled() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  Result<Model> model = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(model.ok());
  QuantScheme uniform;
  uniform.weights = *parseGranularity("group:32", WeightFormat::Int4);
  QuantScheme planned = uniform;
  planned.overrides.push_back(*parseOverride("blk.0.*=int8@channel"));
  const QString plan_path = box_->dir.filePath("plan.json");
  QVERIFY(writeQuantPlan(plan_path.toStdString(), planned, nlohmann::ordered_json::object()).ok());
  Result<QuantizedModel> expected = quantizeModel(*model, planned);
  Result<QuantizedModel> expected_uniform = quantizeModel(*model, uniform);
  QVERIFY(expected.ok() && expected_uniform.ok());
  int blk0 = 0;
  for (const TensorQuantReport& t : expected->report.tensors)
    if (t.quantized && t.name.rfind("blk.0.", 0) == 0) {
      QCOMPARE(QString::fromStdString(t.to), QString("int8 channel"));
      ++blk0;
    }
  QVERIFY(blk0 >= 7);  // attention q/k/v/o and the three feed-forward matrices

  MainWindow w(&box_->settings);
  openStories(w);
  ServePanel* p = w.servePanel();
  p->weightsBox()->setCurrentText("int8");  // the plan's base scheme replaces it
  p->planEdit()->setText(plan_path);
  QVERIFY2(p->planInfoText().contains("base: int4 group:32"), qPrintable(p->planInfoText()));
  QVERIFY2(p->planInfoText().contains("blk.0.* → int8 channel"), qPrintable(p->planInfoText()));

  test::GuiSpy finished(w.serveWorker(), &ServeWorker::finished);
  QTest::mouseClick(p->runButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() > 0, 120000);
  QCOMPARE(std::get<0>(finished.at(0)), false);
  QTRY_VERIFY_WITH_TIMEOUT(!p->busy(), 5000);
  QCOMPARE(p->results().size(), 1);
  const ServeResult planned_run = p->results()[0];
  QCOMPARE(planned_run.metrics.finished, kRequests);
  QCOMPARE(planned_run.weights, servedWeightsSummary(expected->report));
  QVERIFY2(planned_run.weights.contains(QString("int8 channel: %1 tensors").arg(blk0)),
           qPrintable(planned_run.weights));
  bool int8_kernel = false, int4_kernel = false;
  for (const QString& k : planned_run.kernels) {
    int8_kernel |= k.startsWith("int8 channel") && k.contains("packed");
    int4_kernel |= k.startsWith("int4 group:32") && k.contains("packed");
  }
  QVERIFY2(int8_kernel && int4_kernel, qPrintable(planned_run.kernels.join(" | ")));
  QTableWidget* t = p->metricsTable();
  QCOMPARE(t->item(metricRow("weights served"), 0)->text(), planned_run.weights);
  QCOMPARE(t->item(metricRow("plan"), 0)->text(), plan_path);
  {
    Result<std::unique_ptr<RunStore>> s = RunStore::open(box_->db.toStdString());
    QVERIFY(s.ok());
    Result<RunDetail> r = (*s)->getRun(planned_run.log_run);
    QVERIFY(r.ok());
    QCOMPARE(QString::fromStdString(r->params.at("plan")), plan_path);
  }

  // The uniform scheme on the same workload serves other weights.
  p->planEdit()->clear();
  p->weightsBox()->setCurrentText("int4");
  p->granularityEdit()->setText("group:32");
  finished.clear();
  QTest::mouseClick(p->runButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(finished.count() > 0, 120000);
  QTRY_VERIFY_WITH_TIMEOUT(!p->busy(), 5000);
  QCOMPARE(p->results().size(), 1);
  const ServeResult& uniform_run = p->results()[0];
  QCOMPARE(uniform_run.metrics.finished, kRequests);
  QCOMPARE(uniform_run.weights, servedWeightsSummary(expected_uniform->report));
  QVERIFY(!uniform_run.weights.contains("int8"));
  QVERIFY(expected_uniform->report.bytes < expected->report.bytes);
  QCOMPARE(t->item(metricRow("plan"), 0)->text(), QString("none"));
}

void TestServePlan::badPlanRefused() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  const QString bad = box_->dir.filePath("bad-plan.json");
  {
    std::ofstream f(bad.toStdString());
    f << R"({"overrides": [{"pattern": "blk.*", "format": "int9"}]})";
  }
  MainWindow w(&box_->settings);
  openStories(w);
  ServePanel* p = w.servePanel();
  test::GuiSpy progress(w.serveWorker(), &ServeWorker::progressChanged);
  for (const QString& path : {bad, box_->dir.filePath("missing.json")}) {
    p->planEdit()->setText(path);
    QVERIFY2(p->planInfoText().startsWith("Plan refused") && p->planInfoText().contains(path),
             qPrintable(p->planInfoText()));
    QTest::mouseClick(p->runButton(), Qt::LeftButton);
    QVERIFY2(p->statusText().contains("plan: ") && p->statusText().contains(path),
             qPrintable(p->statusText()));
    QVERIFY(!p->busy());
  }
  QTest::qWait(200);
  QCOMPARE(progress.count(), 0);  // nothing ran
  QVERIFY(p->results().isEmpty());
}

QTEST_MAIN(TestServePlan)
#include "test_serve_plan.moc"
