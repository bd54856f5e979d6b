// Quantization-aware training (engine/train/quant_aware.h): the fake-quantized weights equal what
// engine/quant's quantizeModel makes of the same weights (int4 group:32, nf4 channel, q4_0), bit for
// bit; the written student loads with those weights; per-token activation schemes are accepted and
// static ones refused; the training forward with per-token fake-quantized activations equals
// LlamaRuntime through ActQuantBackend; and quantization-aware distillation beats post-training
// quantization of the same distilled student at int4 group:32 in held-out KL to the teacher, with
// fp32 activations and with int8 per-token activations (W4A8): 30 QAD steps from the distilled
// student end below its PTQ (the equal-compute comparison, 30 more fp32 steps then PTQ, is printed,
// not asserted: see the test; seed kSeed).
#include <QtTest>

#include <QTemporaryDir>
#include <cstring>

#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "engine/runtime/llama_runtime.h"
#include "engine/backend/registry.h"
#include "engine/quant/act_quant_backend.h"
#include "engine/train/llama_train.h"
#include "engine/train/distill.h"
#include "engine/train/quant_aware.h"
#include "engine/train/train_data.h"
#include "engine/train/trainer.h"
#include "train_test_data.h"

using namespace precis;

namespace {

constexpr uint64_t kSeed = 3;

LlamaConfig smallConfig(int layers, int vocab) {
  LlamaConfig c;
  c.dim = 64; c.hidden_dim = 128; c.n_layers = layers; c.n_heads = 4; c.n_kv_heads = 2;
  c.vocab_size = vocab; c.context_length = 32;
  return c;
}

QuantScheme scheme(WeightFormat f, Granularity g, int group) {
  QuantScheme s;
  s.weights.format = f;
  s.weights.granularity = g;
  s.weights.group = group;
  return s;
}

// The f32 values of a model's tensor (dequantizing GGUF types).
std::vector<float> values(const Model& m, const std::string& name) {
  const WeightTensor* t = m.find(name);
  std::vector<float> v(size_t(t->elements()));
  dtypeTraits(t->type).to_float(t->data, v.data(), t->elements());
  return v;
}

}  // namespace

class TestQuantAware : public QObject {
  Q_OBJECT
 private slots:
  void transformEqualsQuantizeModel() {
    const TrainParams p = TrainParams::init(smallConfig(2, 40), kSeed);
    for (const QuantScheme& s : {scheme(WeightFormat::Int4, Granularity::Group, 32),
                                 scheme(WeightFormat::Nf4, Granularity::Channel, 0),
                                 scheme(WeightFormat::Q4_0, Granularity::None, 0)}) {
      const QString label = QString::fromStdString(weightSpecName(s.weights));
      auto plan = planQuantAware(p, s);
      QVERIFY2(plan.ok(), qPrintable(label));
      QCOMPARE(plan->entries.size(), size_t(14));  // 7 matrices x 2 layers; embeddings and norms kept
      TrainParams eff = TrainParams::zeros(p.config);
      fakeQuantTransform(*plan)(p, eff);
      auto q = quantizedStudent(p, s, TokenizerData{}, "s");
      QVERIFY(q.ok());
      int changed = 0;
      for (const ParamTensor& t : p.tensors) {
        const std::vector<float> ref = values(q->model, t.name);
        QVERIFY2(std::memcmp(ref.data(), eff.data.data() + t.offset, size_t(t.size) * 4) == 0,
                 qPrintable(label + " " + QString::fromStdString(t.name)));
        changed += std::memcmp(ref.data(), p.data.data() + t.offset, size_t(t.size) * 4) != 0;
      }
      QCOMPARE(changed, 14);
    }
    // Per-token activations are trained through; static per-tensor scales are refused by name.
    QuantScheme act = scheme(WeightFormat::Int8, Granularity::Channel, 0);
    act.activations = ActFormat::Int8;
    auto token = planQuantAware(p, act);
    QVERIFY(token.ok());
    QVERIFY(QString::fromStdString(token->summary).contains("int8 per-token activations"));
    TrainOptions o;
    applyQuantAware(*token, o);
    QVERIFY(o.weight_transform);
    QCOMPARE(o.activations, ActFormat::Int8);
    QVERIFY(!o.quantize_classifier_input);
    act.act_granularity = ActGranularity::Tensor;
    auto bad = planQuantAware(p, act);
    QVERIFY(!bad.ok());
    QVERIFY(QString::fromStdString(bad.error().message).contains("static per-tensor activation"));
  }

  // The training forward with fake-quantized activations equals LlamaRuntime running through
  // ActQuantBackend (per-token, the same format, the classifier's input included or not): max
  // |train - runtime| / max |runtime| <= 1e-4 (fp32 summation order can move a value across a
  // rounding boundary, one code step of one element), while the fp32 forward is measurably off
  // (more than 10x that error), so the check is not trivial. Weights scaled up as in test_trainer.
  void activationQuantForwardMatchesRuntime_data() {
    QTest::addColumn<int>("format");
    QTest::addColumn<bool>("classifier");
    QTest::newRow("int8") << int(ActFormat::Int8) << false;
    QTest::newRow("int8 with classifier") << int(ActFormat::Int8) << true;
    QTest::newRow("fp8-e4m3") << int(ActFormat::Fp8E4M3) << false;
  }
  void activationQuantForwardMatchesRuntime() {
    QFETCH(int, format);
    QFETCH(bool, classifier);
    const ActFormat f = ActFormat(format);
    LlamaConfig c = smallConfig(2, 40);
    TrainParams p = TrainParams::init(c, kSeed);
    for (float& v : p.data) v *= 10.f;
    const int T = 20;
    std::vector<int32_t> tokens(T);
    for (int i = 0; i < T; ++i) tokens[size_t(i)] = (i * 7 + 3) % c.vocab_size;
    auto be = createBackend("cpu", {2});
    QVERIFY(be.ok());
    ActQuantBackend::Options ao;
    ao.format = f;
    ao.granularity = ActGranularity::Token;
    ao.vocab_size = c.vocab_size;
    ao.quantize_classifier = classifier;
    auto aq = ActQuantBackend::create(**be, ao);
    QVERIFY(aq.ok());
    RuntimeOptions ro;
    ro.max_ctx = T;
    auto rt = LlamaRuntime::create(p.toModel({}, "tiny"), **aq, ro);
    QVERIFY(rt.ok());
    std::vector<BatchToken> bt;
    for (int i = 0; i < T; ++i) bt.push_back({tokens[size_t(i)], i, 0, true});
    std::vector<float> ref(size_t(T) * size_t(c.vocab_size));
    QVERIFY((*rt)->forward(bt, ref).ok());
    ThreadPool pool(2);
    auto relErr = [&](ActFormat trained) {
      TrainGraph g(c, 1, T);
      g.setActivationQuant(trained, classifier);
      g.forward(pool, p, tokens.data());
      return test::maxErrOverMax(g.logits(), ref);
    };
    const double quantized = relErr(f), plain = relErr(ActFormat::None);
    qInfo("%s activations: max |train - runtime| / max |runtime| = %.3g quantized (budget 1e-4), %.3g fp32",
          actFormatName(f), quantized, plain);
    QVERIFY(quantized <= 1e-4);
    QVERIFY(plain > 10 * std::max(quantized, 1e-6));
  }

  void writtenStudentHoldsTheTrainedWeights() {
    const TrainParams p = TrainParams::init(smallConfig(1, 40), kSeed);
    const QuantScheme s = scheme(WeightFormat::Q4_0, Granularity::None, 0);
    auto plan = planQuantAware(p, s);
    QVERIFY(plan.ok());
    TrainParams eff = TrainParams::zeros(p.config);
    fakeQuantTransform(*plan)(p, eff);
    auto q = quantizedStudent(p, s, TokenizerData{}, "s");
    QVERIFY(q.ok());
    QTemporaryDir dir;
    const std::string path = dir.filePath("q.gguf").toStdString();
    QVERIFY(writeGguf(q->model, path).ok());
    auto m = loadModel(path);
    QVERIFY(m.ok());
    QCOMPARE(m->find("blk.0.attn_q.weight")->type, DType::Q4_0);
    QCOMPARE(m->find("token_embd.weight")->type, DType::F32);
    auto back = TrainParams::fromModel(*m);
    QVERIFY(back.ok());
    QCOMPARE(back->data, eff.data);
  }

  void quantAwareDistillationBeatsPostTrainingQuantization() {
    Result<test::StoryCorpus> corpus = test::storyCorpus(kSeed, 240, 300);
    QVERIFY2(corpus.ok(), corpus.ok() ? "" : corpus.error().message.c_str());
    const TokenizerData& tokenizer = corpus->tokenizer;
    const TokenSplit& data = corpus->data;

    TrainOptions o;
    o.batch = 4; o.ctx = 32; o.steps = 80; o.adam.lr = 1e-2f; o.warmup = 4; o.threads = 2; o.eval_every = 0;
    o.eval_windows = 8; o.seed = kSeed;
    const LlamaConfig tc = smallConfig(2, int(tokenizer.pieces.size()));
    auto teacher = Trainer::create(TrainParams::init(tc, kSeed), o, data.train, data.heldout);
    QVERIFY(teacher.ok());
    QVERIFY((*teacher)->run().ok());
    const Model tm = (*teacher)->params().toModel(tokenizer, "teacher");
    auto be = createBackend("cpu", {2});
    auto rt = LlamaRuntime::create(tm, **be, test::teacherRuntimeOptions(o));
    QVERIFY(rt.ok());

    // One student shape (every other layer), one initialisation, the same distillation schedule.
    auto init = studentFromTeacher((*teacher)->params(), StudentSpec{{0}, 0, 0, 0});
    QVERIFY(init.ok());
    const QuantScheme s = scheme(WeightFormat::Int4, Granularity::Group, 32);
    QuantScheme s_a8 = s;
    s_a8.activations = ActFormat::Int8;
    auto plan_a8 = planQuantAware(*init, s_a8);
    QVERIFY(plan_a8.ok());
    auto plan = planQuantAware(*init, s);
    QVERIFY(plan.ok());
    TrainOptions so = o;
    so.steps = 40; so.adam.lr = 5e-3f; so.distill = {1.f, 2.f}; so.seed = kSeed + 1;

    // The distilled student: fp32 distillation from the sliced initialisation.
    auto fp = Trainer::create(*init, so, data.train, data.heldout, runtimeTeacher(**rt));
    QVERIFY(fp.ok());
    QVERIFY((*fp)->run().ok());
    const TrainParams distilled = (*fp)->params();
    // Held-out KL of `p` with int4 group:32 weights (and int8 per-token activations with plan_a8).
    auto quantizedKl = [&](const TrainParams& p, const QuantAwarePlan& qp) {
      TrainOptions quant_opt = so;
      applyQuantAware(qp, quant_opt);
      auto t = Trainer::create(p, quant_opt, data.train, data.heldout, runtimeTeacher(**rt));
      auto e = t ? (*t)->evaluate() : Result<EvalMetrics>(makeError("trainer"));
      return e ? e->kl : 1e9;
    };
    const double ptq = quantizedKl(distilled, *plan);
    // The same extra steps from the distilled student: fp32 then quantized (PTQ), or through the
    // fake-quantized weights (QAD).
    TrainOptions more = so;
    more.steps = 30; more.adam.lr = 2e-3f; more.seed = kSeed + 2;
    auto fp_more = Trainer::create(distilled, more, data.train, data.heldout, runtimeTeacher(**rt));
    QVERIFY(fp_more.ok());
    QVERIFY((*fp_more)->run().ok());
    const double ptq_more = quantizedKl((*fp_more)->params(), *plan);
    more.weight_transform = fakeQuantTransform(*plan);
    auto qad = Trainer::create(distilled, more, data.train, data.heldout, runtimeTeacher(**rt));
    QVERIFY(qad.ok());
    QVERIFY((*qad)->run().ok());
    auto qad_eval = (*qad)->evaluate();
    QVERIFY(qad_eval.ok());
    qInfo("held-out KL to teacher at int4 group:32: PTQ of the distilled student %.5f, PTQ after 30 more fp32 "
          "steps %.5f, QAD for those 30 steps %.5f (seed %llu)", ptq, ptq_more, qad_eval->kl, (unsigned long long)kSeed);
    QVERIFY(qad_eval->kl < ptq);
    // Not asserted: with equal extra compute, 30 fp32 steps then PTQ against 30 QAD steps. Over
    // seeds 1-6 QAD was ahead by 2.7%, -0.4%, -5.2%, 0.3%, 3.3%, 4.8%: int4 group:32 costs this
    // student little, so the comparison is within the run-to-run spread of 30 steps
    // (docs/distillation.md).

    // W4A8: the same 30 steps also through int8 per-token activations, against PTQ W4A8.
    const double ptq_a8 = quantizedKl(distilled, *plan_a8);
    TrainOptions more_a8 = more;
    applyQuantAware(*plan_a8, more_a8);
    auto qad_a8 = Trainer::create(distilled, more_a8, data.train, data.heldout, runtimeTeacher(**rt));
    QVERIFY(qad_a8.ok());
    QVERIFY((*qad_a8)->run().ok());
    auto qad_a8_eval = (*qad_a8)->evaluate();
    QVERIFY(qad_a8_eval.ok());
    qInfo("W4A8 (int8 per-token activations): PTQ %.5f, QAD %.5f", ptq_a8, qad_a8_eval->kl);
    QVERIFY(qad_a8_eval->kl < ptq_a8);
  }
};

QTEST_GUILESS_MAIN(TestQuantAware)
#include "test_quant_aware.moc"
