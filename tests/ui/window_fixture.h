// What the workbench window tests set up (header-only, test code; used by tests/ui/test_*.cpp):
// a sandbox (a temporary folder with the window's settings file and the experiment log, PRECIS_DB
// pointing at that log so a test never writes the user's), opening stories260K in a shown window,
// a short run on the Distill panel, and the Quantize panel's evaluation of one weight format done
// directly through the engine (the numbers the window must show).
#pragma once
#include <QLineEdit>
#include <QSettings>
#include <QSize>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "engine/backend/registry.h"
#include "engine/eval/evaluator.h"
#include "engine/quant/convert.h"
#include "test_paths.h"
#include "ui/distill_panel.h"
#include "ui/main_window.h"

namespace precis::test {

struct WindowSandbox {
  QTemporaryDir dir;
  QSettings settings;
  QString db;  // the experiment log PRECIS_DB names

  explicit WindowSandbox(const QString& db_name = "runs.sqlite")
      : settings(dir.filePath("s.ini"), QSettings::IniFormat), db(dir.filePath(db_name)) {
    qputenv("PRECIS_DB", db.toUtf8());
  }
};

// Resizes `w` to `size`, shows it and opens stories260K; fails the test unless the model is open
// within 30 s.
inline void showStories(ui::MainWindow& w, QSize size) {
  w.resize(size);
  w.show();
  w.startSession(QString::fromStdString(modelPath("stories260K.bin")));
  QTRY_VERIFY_WITH_TIMEOUT(w.hasModel(), 30000);
}

// showStories, then the window shows no error, and `panel` (unless null) becomes the current tab.
inline void openStories(ui::MainWindow& w, QSize size, QWidget* panel) {
  showStories(w, size);
  if (QTest::currentTestFailed()) return;
  QVERIFY2(w.errorText().isEmpty(), qPrintable(w.errorText()));
  if (panel) w.tabs()->setCurrentWidget(panel);
}

// A short distillation set on the Distill panel: an every-other-layer student, `steps` steps of
// batches of 4 windows of 32 tokens from 4 sequences sampled with seed 7, a held-out evaluation
// every `eval_every` steps (0: none), the student written to `out`.
inline void setShortDistillRun(ui::DistillPanel* p, int steps, int eval_every, const QString& out) {
  p->studentEdit()->setText("every-other");
  p->stepsBox()->setValue(steps);
  p->batchBox()->setValue(4);
  p->ctxBox()->setValue(32);
  p->evalEveryBox()->setValue(eval_every);
  p->sequencesBox()->setValue(4);
  p->seedBox()->setValue(7);
  p->outEdit()->setText(out);
}

// What the Quantize panel's worker evaluates on: a backend, the reference runtime of `m` on it
// (room for `sample` + 1 positions) and `sample` tokens drawn from that runtime after BOS 1 with
// `seed` at temperature 1.
struct SampledReference {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<LlamaRuntime> runtime;
  std::vector<int32_t> tokens;
};

inline Result<SampledReference> sampledReference(const Model& m, const char* backend, int sample,
                                                 uint64_t seed) {
  Result<std::unique_ptr<Backend>> b = createBackend(backend);
  if (!b) return b.error();
  RuntimeOptions ro;
  ro.max_ctx = sample + 1;
  auto ref = LlamaRuntime::create(m, **b, ro);
  if (!ref) return ref.error();
  Result<std::vector<int32_t>> seq = sampleSequence(**ref, 1, sample, seed);
  if (!seq) return seq.error();
  return SampledReference{std::move(*b), std::move(*ref), std::move(*seq)};
}

// The evaluation the Quantize panel's worker runs for the weight format `format` on `backend`:
// the sampledReference scored by `m` against its conversion to `format` in windows of `ctx`;
// `keep_tokens` keeps the per-token KLs.
inline Result<EvalResult> directFormatEval(const Model& m, DType format, const char* backend,
                                           int sample, int ctx, uint64_t seed, bool keep_tokens,
                                           ConvertReport* report) {
  Result<Model> test = convertWeights(m, WeightPlan{format, false}, report);
  if (!test) return test.error();
  Result<SampledReference> ref = sampledReference(m, backend, sample, seed);
  if (!ref) return ref.error();
  RuntimeOptions ro;
  ro.max_ctx = ctx;
  auto tst = LlamaRuntime::create(*test, *ref->backend, ro);
  if (!tst) return tst.error();
  EvalOptions eo;
  eo.ctx = ctx;
  eo.bos = 1;
  eo.keep_tokens = keep_tokens;
  return evaluate(*ref->runtime, **tst, {ref->tokens}, eo);
}

}  // namespace precis::test
