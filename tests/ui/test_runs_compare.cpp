// Runs panel comparison, approval and export over a real experiment log (engine/log RunStore in a
// temporary file; no model needed): two eval runs and a training run; selecting two runs lists
// exactly the parameters that differ and overlays a metric's history (one curve per run); a policy
// edited in the panel approves the run within its thresholds and refuses the other with the
// failing check, both recorded in the log; export refuses the refused run and writes the approved
// run's artifact.json (its sha256 recorded as a "config" artifact); policy files load and save.
#include <QComboBox>
#include <QFile>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>

#include "engine/log/sha256.h"
#include "ui/chart_widget.h"
#include "ui/runs_panel.h"

using namespace precis;
using namespace precis::ui;

class TestRunsCompare : public QObject {
  Q_OBJECT
 private slots:
  void init();
  void compareApproveExport();
  void policyFiles();

 private:
  std::unique_ptr<QTemporaryDir> dir_;
  std::string db_, model_;
  int64_t good_ = 0, bad_ = 0, train_a_ = 0, train_b_ = 0;
};

void TestRunsCompare::init() {
  dir_ = std::make_unique<QTemporaryDir>();
  db_ = dir_->filePath("log.sqlite").toStdString();
  model_ = dir_->filePath("model.bin").toStdString();
  std::ofstream(model_) << "weights";
  Result<std::string> sha = sha256File(model_);
  QVERIFY(sha.ok());
  Result<std::unique_ptr<RunStore>> s = RunStore::open(db_);
  QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
  auto evalRun = [&](const std::string& weights, double kl, double top1) {
    NewRun e;
    e.kind = "eval";
    e.params = {{"model", model_}, {"weights", weights}, {"sample", "128"}, {"ctx", "64"}};
    e.envelope = {{"model", {{"path", model_}, {"sha256", *sha}}}};
    const int64_t id = *(*s)->createRun(e);
    (*s)->setDocument(id, "invocation",
                      {{"command", "eval"}, {"positional", {model_}},
                       {"options", {{"--weights", weights}, {"--sample", "128"}, {"--ctx", "64"}}}});
    (*s)->logMetrics(id, {{"kl_mean", kl, 0, 0}, {"top1_agreement", top1, 0, 0}});
    (*s)->finishRun(id, RunStatus::Finished);
    return id;
  };
  good_ = evalRun("q8_0", 0.01, 0.95);
  bad_ = evalRun("q4_0", 0.2, 0.8);
  auto trainRun = [&](const std::string& lr, double scale) {
    NewRun t;
    t.kind = "distill";
    t.params = {{"lr", lr}, {"steps", "3"}, {"student", "every-other"}};
    const int64_t id = *(*s)->createRun(t);
    (*s)->logMetrics(id, {{"loss", 3 * scale, 1, 0}, {"loss", 2 * scale, 2, 0}, {"loss", 1 * scale, 3, 0}});
    (*s)->finishRun(id, RunStatus::Finished);
    return id;
  };
  train_a_ = trainRun("0.001", 1);
  train_b_ = trainRun("0.002", 0.5);
}

void TestRunsCompare::compareApproveExport() {
  RunsPanel p;
  p.resize(1100, 800);
  p.show();
  QSignalSpy shown(&p, &RunsPanel::runsShown);
  p.openLog(QString::fromStdString(db_));
  QVERIFY(shown.wait(10000));

  // Two training runs: only lr differs; their loss curves are overlaid.
  p.selectRuns({train_a_, train_b_});
  QCOMPARE(p.selectedIds(), QVector<qint64>({train_a_, train_b_}));
  QTRY_VERIFY_WITH_TIMEOUT(p.overlayChart()->seriesCount() == 2, 10000);
  QCOMPARE(p.compareTable()->item(1, 0)->text(), QString("lr"));
  QCOMPARE(p.compareTable()->item(1, 1)->text(), QString("0.001"));
  QCOMPARE(p.compareTable()->item(1, 2)->text(), QString("0.002"));
  QVERIFY(p.compareTable()->item(0, 0)->text().contains("2 the same"));  // steps, student
  QCOMPARE(p.compareTable()->item(2, 0)->text(), QString("Latest metrics"));
  QCOMPARE(p.overlayMetricBox()->currentText(), QString("loss"));
  QCOMPARE(p.overlayChart()->points(0), QVector<QPointF>({{1, 3}, {2, 2}, {3, 1}}));
  QCOMPARE(p.overlayChart()->points(1), QVector<QPointF>({{1, 1.5}, {2, 1}, {3, 0.5}}));

  // Approve against thresholds edited here: the good run passes, the bad one is refused.
  p.setThreshold("kl_mean_max", 0.05);
  p.setThreshold("top1_min", 0.9);
  p.selectRuns({good_});
  p.approveSelected();
  QTRY_VERIFY_WITH_TIMEOUT(p.approvalText().contains("APPROVED"), 10000);
  p.selectRuns({bad_});
  p.approveSelected();
  QTRY_VERIFY_WITH_TIMEOUT(p.approvalText().contains("REFUSED"), 10000);
  QVERIFY2(p.approvalText().contains("FAIL kl_mean_max"), qPrintable(p.approvalText()));
  QVERIFY(p.approvalText().contains("FAIL top1_min"));

  // Export: the refused run is not exported; the approved one writes artifact.json.
  const QString out = dir_->filePath("export");
  p.exportSelected(out);
  QTRY_VERIFY_WITH_TIMEOUT(p.approvalText().contains("not approved"), 10000);
  QVERIFY(!QFile::exists(out + "/artifact.json"));
  p.selectRuns({good_});
  p.exportSelected(out);
  QTRY_VERIFY_WITH_TIMEOUT(p.approvalText().startsWith("Exported run"), 10000);
  QVERIFY(QFile::exists(out + "/artifact.json"));

  Result<std::unique_ptr<RunStore>> s = RunStore::open(db_);
  QVERIFY(s.ok());
  Result<RunDetail> g = (*s)->getRun(good_);
  QVERIFY(g.ok());
  QCOMPARE(g->approvals.size(), size_t(1));
  QVERIFY(g->approvals[0].approved);
  QCOMPARE(g->approvals[0].policy["kl_mean_max"].get<double>(), 0.05);
  QCOMPARE(g->artifacts.size(), size_t(1));
  QCOMPARE(g->artifacts[0].kind, std::string("config"));
  QCOMPARE(g->artifacts[0].sha256, *sha256File((out + "/artifact.json").toStdString()));
  QFile f(out + "/artifact.json");
  QVERIFY(f.open(QIODevice::ReadOnly));
  const nlohmann::json a = nlohmann::json::parse(f.readAll().toStdString());
  QCOMPARE(a["schema_version"].get<int>(), 1);
  QCOMPARE(a["weights"]["format"].get<std::string>(), std::string("q8_0"));
  QCOMPARE(a["reproduce"]["argv"][0].get<std::string>(), std::string("eval"));
  Result<RunDetail> b = (*s)->getRun(bad_);
  QVERIFY(b.ok());
  QCOMPARE(b->approvals.size(), size_t(1));
  QVERIFY(!b->approvals[0].approved);
}

void TestRunsCompare::policyFiles() {
  RunsPanel p;
  const QString bad = dir_->filePath("bad.json");
  {
    QFile f(bad);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"kl_mean_maxx": 0.1})");
  }
  QString err;
  QVERIFY(!p.loadPolicyFile(bad, &err));
  QVERIFY2(err.contains("bad.json") && err.contains("kl_mean_maxx"), qPrintable(err));
  const QString good = dir_->filePath("good.json");
  {
    QFile f(good);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"kl_p99_max": 0.25, "name": "ship"})");
  }
  QVERIFY2(p.loadPolicyFile(good, &err), qPrintable(err));
  const nlohmann::json j = nlohmann::json::parse(p.policyJson().toStdString());
  QCOMPARE(j, nlohmann::json({{"kl_p99_max", 0.25}, {"name", "ship"}}));  // unticked thresholds are absent
  const QString saved = dir_->filePath("saved.json");
  QVERIFY(p.savePolicyFile(saved, &err));
  Result<Policy> back = loadPolicy(saved.toStdString());
  QVERIFY(back.ok());
  QCOMPARE(*back->kl_p99_max, 0.25);
  QVERIFY(!back->kl_mean_max.has_value());
}

QTEST_MAIN(TestRunsCompare)
#include "test_runs_compare.moc"
