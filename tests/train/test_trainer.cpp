// The trainer end to end on tiny models: the training forward's logits equal LlamaRuntime's for the
// same weights; a tiny model overfits one batch (cross-entropy below 0.05 nats within 100 steps,
// from log(64) = 4.16); a run resumed from a checkpoint (GGUF + optimizer state) ends with exactly
// the weights of an uninterrupted run; cancellation stops between steps; the checkpoint loads
// through loadModel and LlamaRuntime reproduces the trainer's logits. Seeds fixed.
#include <QtTest>

#include <QTemporaryDir>
#include <cmath>

#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/model/presets.h"
#include "engine/runtime/llama_runtime.h"
#include "engine/train/llama_train.h"
#include "engine/train/trainer.h"
#include "model/model_builders.h"
#include "train_test_data.h"

using namespace precis;
using precis::test::maxErrOverMax;
using precis::test::tinyTrainConfig;
using precis::test::tokenStream;

namespace {
// Max |a - b| / max |b| over the runtime's logits of `tokens` (one sequence) vs the train graph's.
double runtimeVsTrain(const Model& model, const TrainParams& p, const std::vector<int32_t>& tokens) {
  auto be = createBackend("cpu", {2});
  RuntimeOptions ro;
  ro.max_ctx = int(tokens.size());
  auto rt = LlamaRuntime::create(model, **be, ro);
  if (!rt) return 1e9;
  std::vector<BatchToken> bt;
  for (size_t i = 0; i < tokens.size(); ++i) bt.push_back({tokens[i], int32_t(i), 0, true});
  std::vector<float> ref(tokens.size() * size_t(p.config.vocab_size));
  if (!(*rt)->forward(bt, ref)) return 1e9;
  ThreadPool pool(2);
  TrainGraph g(p.config, 1, int(tokens.size()));
  g.forward(pool, p, tokens.data());
  return maxErrOverMax(g.logits(), ref);
}
}  // namespace

class TestTrainer : public QObject {
  Q_OBJECT
 private slots:
  void logitsMatchRuntime_data() {
    QTest::addColumn<bool>("half");
    QTest::addColumn<bool>("tied");
    QTest::newRow("adjacent untied") << false << false;
    QTest::newRow("half tied") << true << true;
  }
  // Random weights scaled up (std 0.02 gives near-uniform logits) so the check is not trivial.
  void logitsMatchRuntime() {
    QFETCH(bool, half);
    QFETCH(bool, tied);
    const uint64_t seed = 3;
    TrainParams p = TrainParams::init(
        tinyTrainConfig(half ? RopeStyle::Half : RopeStyle::Adjacent, tied), seed);
    for (float& v : p.data) v *= 10.f;
    const Model m = p.toModel({}, "tiny");
    const double rel = runtimeVsTrain(m, p, tokenStream(20, 9, 64));
    qInfo("max |train - runtime| / max |runtime| = %.3g (budget 1e-5)", rel);
    QVERIFY2(rel <= 1e-5, qPrintable(QString("seed %1").arg(seed)));
  }

  void overfitsOneBatch() {
    const LlamaConfig c = tinyTrainConfig(RopeStyle::Adjacent, false);
    TrainOptions o;
    o.batch = 4;
    o.ctx = 16;
    o.steps = 100;
    o.adam.lr = 1e-2f;
    o.warmup = 10;
    o.threads = 2;
    o.eval_every = 0;
    const auto data =
        tokenStream(17, 5, c.vocab_size);  // exactly one window: every row is this batch
    auto tr = Trainer::create(TrainParams::init(c, 1), o, data, data);
    QVERIFY2(tr.ok(), tr.ok() ? "" : tr.error().message.c_str());
    double first = -1, last = 0;
    int64_t reached = -1;
    TrainCallbacks cb;
    cb.on_step = [&](const StepMetrics& s) {
      if (first < 0) first = s.ce;
      last = s.ce;
      if (reached < 0 && s.ce < 0.05) reached = s.step;
    };
    QVERIFY((*tr)->run(cb).ok());
    qInfo("cross-entropy %.4f -> %.4f; below 0.05 at step %lld", first, last, (long long)reached);
    QVERIFY(std::fabs(first - std::log(64.0)) < 0.2);
    QVERIFY(reached > 0);
  }

  void resumeEqualsUninterrupted() {
    QTemporaryDir dir;
    const LlamaConfig c = tinyTrainConfig(RopeStyle::Adjacent, true);
    TrainOptions o;
    o.batch = 2; o.ctx = 8; o.steps = 10; o.adam.lr = 3e-3f; o.warmup = 3; o.threads = 2; o.eval_every = 0;
    o.seed = 17;
    const auto data = tokenStream(500, 7, c.vocab_size), held = tokenStream(100, 8, c.vocab_size);
    auto full = Trainer::create(TrainParams::init(c, 2), o, data, held);
    QVERIFY(full.ok());
    QVERIFY((*full)->run().ok());

    auto first = Trainer::create(TrainParams::init(c, 2), o, data, held);
    QVERIFY(first.ok());
    int calls = 0;
    TrainCallbacks stop;
    stop.should_stop = [&] { return calls++ == 4; };  // cancels before the 5th step
    QVERIFY((*first)->run(stop).ok());
    QVERIFY((*first)->cancelled());
    QCOMPARE((*first)->stepsDone(), int64_t(4));
    const std::string ck = dir.filePath("ck.gguf").toStdString();
    QVERIFY((*first)->saveCheckpoint(ck, {}, "ck").ok());

    auto model = loadModel(ck);
    QVERIFY2(model.ok(), model.ok() ? "" : model.error().message.c_str());
    auto p = TrainParams::fromModel(*model);
    QVERIFY(p.ok());
    auto resumed = Trainer::create(std::move(*p), o, data, held);
    QVERIFY(resumed.ok());
    QVERIFY((*resumed)->loadOptimizerState(ck + ".optim").ok());
    QVERIFY((*resumed)->run().ok());
    QCOMPARE((*resumed)->stepsDone(), int64_t(10));
    QVERIFY((*resumed)->params().data == (*full)->params().data);

    // The checkpoint runs in LlamaRuntime with the trainer's logits.
    const double rel = runtimeVsTrain(*model, (*first)->params(), tokenStream(12, 3, c.vocab_size));
    QVERIFY(rel <= 1e-5);
  }

  void rejectsBadInput() {
    const LlamaConfig c = tinyTrainConfig(RopeStyle::Adjacent, false);
    TrainOptions o;
    o.ctx = 16;
    auto short_data = Trainer::create(TrainParams::init(c, 1), o, tokenStream(10, 1, 64),
                                      tokenStream(100, 1, 64));
    QVERIFY(!short_data.ok());
    QVERIFY(short_data.error().message.find("need at least ctx + 1") != std::string::npos);
    auto bad_token = Trainer::create(TrainParams::init(c, 1), o, std::vector<int32_t>(100, 70),
                                     tokenStream(100, 1, 64));
    QVERIFY(!bad_token.ok());
    QVERIFY(bad_token.error().message.find("outside the vocabulary") != std::string::npos);
    o.distill.alpha = 0.5f;
    auto no_teacher = Trainer::create(TrainParams::init(c, 1), o, tokenStream(100, 1, 64),
                                      tokenStream(100, 1, 64));
    QVERIFY(!no_teacher.ok());
  }
};

QTEST_GUILESS_MAIN(TestTrainer)
#include "test_trainer.moc"
