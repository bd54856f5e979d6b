// The Runs panel's Export weights (offscreen, a real experiment log in a temporary file, the real
// stories260K): an approved q8_0 eval run of stories260K exports its converted weights as GGUF
// through the engine's writeRunWeightsGguf (what precis-cli export --weights uses); the file loads
// back with the q8_0 matrices byte-identical to convertWeights' and the f32 tensors kept, and is
// recorded in the log as the run's "weights" artifact with its sha256. An unapproved run and a run
// in a lab format exported to a .gguf name (int4, not a GGUF format) are refused with the reason, and
// nothing is written. A lab-format run (int4 group:32 with an int8 override, evaluated by the engine
// here and logged with precis-cli eval's invocation) exports a Precis quantized safetensors file that
// loads back with the engine's loader and, run as stored, evaluates to the run's logged KL and top-1
// on the same tokens (sampled with seed 3); a run whose static activation ranges came from its
// evaluation tokens is refused, naming why; an export cancelled after its third tensor writes and
// records nothing.
#include <QFile>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>

#include "engine/backend/registry.h"
#include "engine/eval/evaluator.h"
#include "engine/log/run_store.h"
#include "engine/log/sha256.h"
#include "engine/model/loader.h"
#include "engine/quant/convert.h"
#include "engine/quant/scheme_run.h"
#include "test_paths.h"
#include "ui/runs_panel.h"
#include "ui/scheme_run.h"

using namespace precis;
using namespace precis::ui;

class TestRunsExport : public QObject {
  Q_OBJECT
 private slots:
  void exportWeightsAndLoadBack();
  void exportLabWeightsEvaluatesToLoggedNumbers();
};

namespace {
constexpr int kSample = 96, kCtx = 48, kSeed = 3;

// `scheme` evaluated against `m` on kSample tokens sampled from it with kSeed, windows of kCtx.
Result<EvalResult> evalScheme(const Model& reference, const Model& test_model, const QuantScheme& scheme) {
  Result<std::unique_ptr<Backend>> b = createBackend("cpu");
  if (!b) return b.error();
  RuntimeOptions ro;
  ro.max_ctx = kSample + 1;
  auto ref = LlamaRuntime::create(reference, **b, ro);
  if (!ref) return ref.error();
  Result<std::vector<int32_t>> seq = sampleSequence(**ref, 1, kSample, kSeed);
  if (!seq) return seq.error();
  ro.max_ctx = kCtx;
  Result<SchemeRun> run = buildSchemeRun(test_model, scheme, **b, ro, *seq, SchemeRunOptions{});
  if (!run) return run.error();
  EvalOptions eo;
  eo.ctx = kCtx;
  eo.bos = 1;
  return evaluate(**ref, *run->runtime, {*seq}, eo);
}

// An eval run of `model` as precis-cli eval records it: params and the invocation's options from
// `options` (spelled without "--"), the model envelope, `metrics` at step 0; finished, and approved
// when `approve`. Returns the run id, 0 when a write failed.
int64_t addEvalRun(RunStore& s, const std::string& model, const std::string& sha,
                   const std::map<std::string, std::string>& options, const std::vector<MetricPoint>& metrics,
                   bool approve) {
  NewRun e;
  e.kind = "eval";
  nlohmann::json opts = nlohmann::json::object();
  for (const auto& [k, v] : options) {
    e.params[k] = v;
    opts["--" + k] = v;
  }
  e.params["model"] = model;
  e.envelope = {{"model", {{"path", model}, {"sha256", sha}}}};
  Result<int64_t> id = s.createRun(e);
  if (!id) return 0;
  bool ok = s.setDocument(*id, "invocation", {{"command", "eval"}, {"positional", {model}}, {"options", opts}}).ok() &&
            s.logMetrics(*id, metrics).ok() && s.finishRun(*id, RunStatus::Finished).ok();
  if (approve) ok = ok && s.addApproval(*id, true, {{"kl_mean_max", 1.0}}, nlohmann::json::array()).ok();
  return ok ? *id : 0;
}

// Shows the panel on the log `db` and waits for its runs to be listed.
void showLog(RunsPanel& p, const std::string& db) {
  p.resize(1100, 800);
  p.show();
  QSignalSpy shown(&p, &RunsPanel::runsShown);
  p.openLog(QString::fromStdString(db));
  QVERIFY(shown.wait(10000));
}
}  // namespace

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
    const std::map<std::string, std::string> data{{"sample", "128"}, {"ctx", "64"}};
    auto evalRun = [&](const std::string& weights, bool approve) {
      std::map<std::string, std::string> o = data;
      o["weights"] = weights;
      return addEvalRun(**s, model, *sha, o, {{"kl_mean", 0.01, 0, 0}}, approve);
    };
    approved = evalRun("q8_0", true);
    unapproved = evalRun("q4_0", false);
    lab = evalRun("int4", true);
    QVERIFY(approved && unapproved && lab);
  }

  RunsPanel p;
  showLog(p, db);

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

void TestRunsExport::exportLabWeightsEvaluatesToLoggedNumbers() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  QTemporaryDir dir;
  const std::string db = dir.filePath("log.sqlite").toStdString();
  const std::string model_path = test::modelPath("stories260K.bin");
  Result<Model> model = loadModel(model_path);
  QVERIFY(model.ok());
  Result<std::string> sha = sha256File(model_path);
  QVERIFY(sha.ok());

  // The run: int4 group:32 with blk.0 at int8, evaluated here through the workbench's scheme settings.
  SchemeSettings settings;
  settings.format = "int4";
  settings.granularity = "group:32";
  settings.overrides = {"blk.0.*=int8@channel"};
  Result<QuantScheme> scheme = schemeFromSettings(settings);
  QVERIFY2(scheme.ok(), scheme.ok() ? "" : scheme.error().message.c_str());
  Result<EvalResult> logged = evalScheme(*model, *model, *scheme);
  QVERIFY2(logged.ok(), logged.ok() ? "" : logged.error().message.c_str());
  QVERIFY(logged->stats.kl.mean > 0);

  int64_t lab = 0, static_acts = 0;
  {
    Result<std::unique_ptr<RunStore>> s = RunStore::open(db);
    QVERIFY(s.ok());
    const std::map<std::string, std::string> data{
        {"sample", std::to_string(kSample)}, {"seed", std::to_string(kSeed)}, {"ctx", std::to_string(kCtx)}};
    std::map<std::string, std::string> o = data;
    o.insert({{"weights", "int4"}, {"granularity", "group:32"}, {"override", "blk.0.*=int8@channel"}});
    lab = addEvalRun(**s, model_path, *sha, o,
                     {{"kl_mean", logged->stats.kl.mean, 0, 0}, {"same_top", logged->stats.same_top, 0, 0}}, true);
    o = data;
    o.insert({{"weights", "int8"}, {"activations", "int8"}, {"act-granularity", "tensor"}, {"calib-tokens", "64"}});
    static_acts = addEvalRun(**s, model_path, *sha, o, {{"kl_mean", 0.01, 0, 0}}, true);
    QVERIFY(lab && static_acts);
  }

  RunsPanel p;
  showLog(p, db);

  // Refused: a lab format to a .gguf name; static ranges calibrated on the evaluation tokens.
  const QString wrong = dir.filePath("int4.gguf");
  p.selectRuns({lab});
  p.exportWeightsSelected(wrong);
  QTRY_VERIFY_WITH_TIMEOUT(p.approvalText().contains("not a GGUF format"), 10000);
  QVERIFY2(p.approvalText().contains(".safetensors"), qPrintable(p.approvalText()));
  p.selectRuns({static_acts});
  p.exportWeightsSelected(dir.filePath("static.safetensors"));
  QTRY_VERIFY_WITH_TIMEOUT(p.approvalText().contains("calibrated static activation ranges"), 10000);
  QVERIFY(!QFile::exists(wrong));
  QVERIFY(!QFile::exists(dir.filePath("static.safetensors")));

  // Cancelled after the third converted tensor (a hook on the worker thread): nothing is written.
  RunsWorker* worker = p.worker();
  worker->setTensorHook([worker](int done) {
    if (done == 3) worker->cancelExport();
  });
  const QString cancelled = dir.filePath("cancelled.safetensors");
  p.selectRuns({lab});
  p.exportWeightsSelected(cancelled);
  QVERIFY(p.cancelExportButton()->isEnabled());
  QTRY_VERIFY_WITH_TIMEOUT(p.approvalText().contains("cancelled after tensor 3 of"), 10000);
  QVERIFY(!p.cancelExportButton()->isEnabled());
  QVERIFY(!QFile::exists(cancelled));
  worker->setTensorHook({});

  // Exported: the file loads back with the run's formats and, as stored, measures the logged numbers.
  const QString out = dir.filePath("stories-int4.safetensors");
  p.selectRuns({lab});
  p.exportWeightsSelected(out);
  QTRY_VERIFY_WITH_TIMEOUT(p.approvalText().startsWith("Exported the weights of run"), 30000);
  Result<Model> back = loadModel(out.toStdString());
  QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
  Result<StoredQuantization> stored = storedQuantization(*back);
  QVERIFY(stored.ok());
  QVERIFY(stored->from_file);
  int int4 = 0, int8 = 0;
  for (const TensorQuantReport& t : stored->report.tensors) {
    if (!t.quantized) continue;
    const QString to = QString::fromStdString(t.to);
    if (t.name.rfind("blk.0.", 0) == 0) {
      QCOMPARE(to, QString("int8 channel"));
      ++int8;
    } else if (to != "int4 channel") {  // ffn_down's rows of 172 fall back to channel scales
      QCOMPARE(to, QString("int4 group:32"));
      ++int4;
    }
  }
  QVERIFY(int4 > 0 && int8 > 0);
  QuantScheme as_stored;
  as_stored.stored = true;
  Result<EvalResult> again = evalScheme(*model, *back, as_stored);
  QVERIFY2(again.ok(), again.ok() ? "" : again.error().message.c_str());
  QCOMPARE(again->stats.kl.mean, logged->stats.kl.mean);
  QCOMPARE(again->stats.same_top, logged->stats.same_top);

  Result<std::unique_ptr<RunStore>> s = RunStore::open(db);
  QVERIFY(s.ok());
  Result<RunDetail> r = (*s)->getRun(lab);
  QVERIFY(r.ok());
  QCOMPARE(r->artifacts.size(), size_t(1));  // the cancelled export recorded nothing
  QCOMPARE(r->artifacts[0].kind, std::string("weights"));
  QCOMPARE(r->artifacts[0].sha256, *sha256File(out.toStdString()));
  QCOMPARE(r->latestMetrics().at("kl_mean"), again->stats.kl.mean);
}

QTEST_MAIN(TestRunsExport)
#include "test_runs_export.moc"
