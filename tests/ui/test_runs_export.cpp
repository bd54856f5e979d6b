// The Runs panel's Export weights (offscreen, a real experiment log in a temporary file, the real
// stories260K): an approved q8_0 eval run of stories260K exports its converted weights as GGUF
// through the engine's writeRunWeightsGguf (what precis-cli export --weights uses); the file loads
// back with the q8_0 matrices byte-identical to convertWeights' and the f32 tensors kept, and is
// recorded in the log as the run's "weights" artifact with its sha256. An unapproved run and a run
// in a lab format (int4, not a GGUF format) are refused with the reason, and nothing is written.
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>

#include "engine/log/run_store.h"
#include "engine/log/sha256.h"
#include "engine/model/loader.h"
#include "engine/quant/convert.h"
#include "test_paths.h"
#include "ui/runs_panel.h"

using namespace precis;
using namespace precis::ui;

class TestRunsExport : public QObject {
  Q_OBJECT
 private slots:
  void exportWeightsAndLoadBack();
};

void TestRunsExport::exportWeightsAndLoadBack() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  QTemporaryDir dir;
  const std::string db = dir.filePath("log.sqlite").toStdString();
  const std::string model = test::modelPath("stories260K.bin");
  Result<std::string> sha = sha256File(model);
  QVERIFY(sha.ok());
  int64_t approved = 0, unapproved = 0, lab = 0;
  {
    Result<std::unique_ptr<RunStore>> s = RunStore::open(db);
    QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
    int failures = 0;
    auto check = [&](const Status& st) { failures += st ? 0 : 1; };
    auto evalRun = [&](const std::string& weights, bool approve) {
      NewRun e;
      e.kind = "eval";
      e.params = {{"model", model}, {"weights", weights}, {"sample", "128"}, {"ctx", "64"}};
      e.envelope = {{"model", {{"path", model}, {"sha256", *sha}}}};
      const int64_t id = *(*s)->createRun(e);
      check((*s)->setDocument(
          id, "invocation",
          {{"command", "eval"},
           {"positional", {model}},
           {"options", {{"--weights", weights}, {"--sample", "128"}, {"--ctx", "64"}}}}));
      check((*s)->logMetrics(id, {{"kl_mean", 0.01, 0, 0}}));
      check((*s)->finishRun(id, RunStatus::Finished));
      if (approve)
        check((*s)->addApproval(id, true, {{"kl_mean_max", 0.05}}, nlohmann::json::array()));
      return id;
    };
    approved = evalRun("q8_0", true);
    unapproved = evalRun("q4_0", false);
    lab = evalRun("int4", true);
    QCOMPARE(failures, 0);
  }

  RunsPanel p;
  p.resize(1100, 800);
  p.show();
  QSignalSpy shown(&p, &RunsPanel::runsShown);
  p.openLog(QString::fromStdString(db));
  QVERIFY(shown.wait(10000));

  // Refused: not approved; a lab format. Nothing is written.
  const QString refused = dir.filePath("refused.gguf");
  p.selectRuns({unapproved});
  p.exportWeightsSelected(refused);
  QTRY_VERIFY_WITH_TIMEOUT(p.approvalText().contains("not approved"), 10000);
  p.selectRuns({lab});
  p.exportWeightsSelected(refused);
  QTRY_VERIFY_WITH_TIMEOUT(p.approvalText().contains("not a GGUF format"), 10000);
  QVERIFY(!QFile::exists(refused));

  // Exported: the file loads back as the run's weights.
  const QString out = dir.filePath("export/stories-q8_0.gguf");
  QVERIFY(QDir().mkpath(dir.filePath("export")));
  p.selectRuns({approved});
  p.exportWeightsSelected(out);
  QTRY_VERIFY_WITH_TIMEOUT(p.approvalText().startsWith("Exported the weights of run"), 30000);
  QVERIFY(QFile::exists(out));
  Result<Model> back = loadModel(out.toStdString());
  QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
  Result<Model> src = loadModel(model);
  QVERIFY(src.ok());
  ConvertReport report;
  Result<Model> expected = convertWeights(*src, WeightPlan{DType::Q8_0, false}, &report);
  QVERIFY(expected.ok());
  QCOMPARE(back->tensors.size(), expected->tensors.size());
  int q8 = 0;
  for (const WeightTensor& e : expected->tensors) {
    const WeightTensor* t = back->find(e.name);
    QVERIFY2(t, e.name.c_str());
    QCOMPARE(t->type, e.type);
    QCOMPARE(t->bytes, e.bytes);
    QVERIFY2(std::memcmp(t->data, e.data, e.bytes) == 0, e.name.c_str());
    q8 += t->type == DType::Q8_0;
  }
  QVERIFY(q8 > 0);
  QCOMPARE(back->config.n_layers, src->config.n_layers);

  Result<std::unique_ptr<RunStore>> s = RunStore::open(db);
  QVERIFY(s.ok());
  Result<RunDetail> r = (*s)->getRun(approved);
  QVERIFY(r.ok());
  QCOMPARE(r->artifacts.size(), size_t(1));
  QCOMPARE(r->artifacts[0].kind, std::string("weights"));
  QCOMPARE(QString::fromStdString(r->artifacts[0].path), QFileInfo(out).absoluteFilePath());
  QCOMPARE(r->artifacts[0].sha256, *sha256File(out.toStdString()));
  QCOMPARE(r->artifacts[0].bytes, int64_t(QFileInfo(out).size()));
  QVERIFY(p.approvalText().contains(QString::fromStdString(r->artifacts[0].sha256)));
}

QTEST_MAIN(TestRunsExport)
#include "test_runs_export.moc"
