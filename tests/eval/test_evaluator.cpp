// Tests engine/eval/evaluator on the real stories260K model (skipped when absent): the model against
// itself gives KL exactly 0 and agreement 1; window/score bookkeeping counts exactly; the perplexity
// equals one computed directly from the runtime's logits; f32 vs q8_0 gives a small positive KL with
// top-1 agreement > 0.8 (measured values
// in the test's comment), and KL grows as formats lose precision. Token sequences are sampled with seed kSeed (printed on failure).
#include <QtTest>

#include <cmath>

#include "engine/backend/registry.h"
#include "engine/eval/evaluator.h"
#include "engine/model/loader.h"
#include "engine/quant/convert.h"
#include "test_paths.h"

using namespace precis;

namespace {

constexpr uint64_t kSeed = 11;

struct Fixture {
  Model model;
  std::unique_ptr<Backend> backend;
};

bool setUp(Fixture& f) {
  Result<Model> m = loadModel(test::modelPath("stories260K.bin"));
  if (!m) {
    qWarning("%s", m.error().message.c_str());
    return false;
  }
  f.model = std::move(*m);
  Result<std::unique_ptr<Backend>> b = createBackend("cpu", BackendOptions{2, 0});
  if (!b) {
    qWarning("%s", b.error().message.c_str());
    return false;
  }
  f.backend = std::move(*b);
  return true;
}

std::unique_ptr<LlamaRuntime> runtime(const Model& m, Backend& b, int ctx) {
  RuntimeOptions o;
  o.max_slots = 1;
  o.max_ctx = ctx;
  Result<std::unique_ptr<LlamaRuntime>> rt = LlamaRuntime::create(m, b, o);
  if (!rt) qWarning("%s", rt.error().message.c_str());
  return rt ? std::move(*rt) : nullptr;
}

}  // namespace

class TestEvaluator : public QObject {
  Q_OBJECT
 private slots:
  void selfComparisonIsExact() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Fixture f;
    QVERIFY(setUp(f));
    auto a = runtime(f.model, *f.backend, 128);
    auto b = runtime(f.model, *f.backend, 128);
    QVERIFY(a && b);
    Result<std::vector<int32_t>> seq = sampleSequence(*a, 1, 128, kSeed);
    QVERIFY2(seq.ok(), seq.ok() ? "" : seq.error().message.c_str());
    QCOMPARE(seq->size(), size_t(129));
    QCOMPARE((*seq)[0], 1);
    // Same seed, same sample.
    Result<std::vector<int32_t>> again = sampleSequence(*b, 1, 128, kSeed);
    QVERIFY(again.ok() && *again == *seq);

    EvalOptions o;
    o.ctx = 32;
    o.bos = 1;
    Result<EvalResult> r = evaluate(*a, *b, {*seq}, o);
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    // 129 tokens -> windows 32, 32, 32, 32, 1: 4 x 31 scored.
    QCOMPARE(r->tokens_scored, size_t(124));
    QCOMPARE(r->windows, size_t(4));
    QCOMPARE(r->stats.kl.mean, 0.0);
    QCOMPARE(r->stats.kl_max, 0.0);
    QCOMPARE(r->stats.same_top, 1.0);
    QCOMPARE(r->stats.perplexity, r->stats.reference_perplexity);
    QVERIFY(std::isfinite(r->stats.perplexity) && r->stats.perplexity > 1);

    // One window over the whole sample: its own samples are easy for it (measured ~12 for seed 11;
    // 32-token windows cut mid-text measure ~500, see evaluator.h).
    EvalOptions whole;
    Result<EvalResult> one = evaluate(*a, *b, {*seq}, whole);
    QVERIFY(one.ok());
    QCOMPARE(one->windows, size_t(1));
    QCOMPARE(one->tokens_scored, size_t(127));  // ctx 128: windows of 128 and 1 (scores nothing)
    QCOMPARE(one->stats.kl.mean, 0.0);
    if (!(one->stats.perplexity < 50))
      qWarning("seed %llu: perplexity %g", static_cast<unsigned long long>(kSeed), one->stats.perplexity);
    QVERIFY(one->stats.perplexity > 1 && one->stats.perplexity < 50);

    o.score = EvalOptions::Score::SecondHalf;  // first = 16: positions 16..30 -> 15 per window
    Result<EvalResult> half = evaluate(*a, *b, {*seq}, o);
    QVERIFY(half.ok());
    QCOMPARE(half->tokens_scored, size_t(60));
  }

  // Perplexity of one window from the runtime's logits, computed here without the evaluator.
  void perplexityMatchesDirectComputation() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Fixture f;
    QVERIFY(setUp(f));
    auto a = runtime(f.model, *f.backend, 40);
    QVERIFY(a);
    Result<std::vector<int32_t>> seq = sampleSequence(*a, 1, 39, kSeed + 1);
    QVERIFY(seq.ok());
    const int n = static_cast<int>(seq->size());
    std::vector<BatchToken> batch;
    for (int j = 0; j < n; ++j) batch.push_back({(*seq)[j], j, 0, true});
    const int vocab = f.model.config.vocab_size;
    std::vector<float> logits(static_cast<size_t>(n) * vocab);
    QVERIFY(a->forward(batch, logits).ok());
    double nll = 0;
    for (int j = 0; j + 1 < n; ++j) {
      const float* l = logits.data() + static_cast<size_t>(j) * vocab;
      double mx = l[0], sum = 0;
      for (int v = 0; v < vocab; ++v) mx = std::max(mx, static_cast<double>(l[v]));
      for (int v = 0; v < vocab; ++v) sum += std::exp(l[v] - mx);
      nll += -(l[(*seq)[j + 1]] - mx - std::log(sum));
    }
    const double expected = std::exp(nll / (n - 1));
    EvalOptions o;
    Result<EvalResult> r = evaluate(*a, *a, {*seq}, o);
    QVERIFY(r.ok());
    QCOMPARE(r->ctx, 40);
    QCOMPARE(r->tokens_scored, size_t(n - 1));
    QVERIFY2(std::fabs(r->stats.perplexity - expected) < 1e-9 * expected,
             qPrintable(QString("%1 vs %2").arg(r->stats.perplexity).arg(expected)));
  }

  // Measured on this machine (AVX2 q8_0 x q8_0 dot, 256 sampled tokens): seeds 1, 2, 3, 7, 11 gave
  // KL mean 0.018-0.036 and top-1 agreement 0.84-0.92 (weights-only q8_0, dequantized to f32: KL
  // 0.014, agreement 0.93 for seed 1). stories260K is tiny (dim 64), so q8_0 costs more here than
  // on large models: the bounds are KL in (0, 0.06) and agreement > 0.8, not llama.cpp-sized values.
  void f32VersusQ8() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Fixture f;
    QVERIFY(setUp(f));
    ConvertReport report;
    Result<Model> q8 = convertWeights(f.model, WeightPlan{DType::Q8_0, false}, &report);
    QVERIFY2(q8.ok(), q8.ok() ? "" : q8.error().message.c_str());
    auto ref = runtime(f.model, *f.backend, 256);
    auto test = runtime(*q8, *f.backend, 256);
    QVERIFY(ref && test);
    Result<std::vector<int32_t>> seq = sampleSequence(*ref, 1, 256, kSeed);
    QVERIFY(seq.ok());
    EvalOptions o;
    Result<EvalResult> r = evaluate(*ref, *test, {*seq}, o);
    QVERIFY(r.ok());
    const KlStatistics& s = r->stats;
    if (!(s.kl.mean > 0 && s.kl.mean < 0.06 && s.same_top > 0.8))
      qWarning("seed %llu: KL %g agreement %g", static_cast<unsigned long long>(kSeed), s.kl.mean, s.same_top);
    QVERIFY(s.kl.mean > 0);
    QVERIFY(s.kl.mean < 0.06);
    QVERIFY(s.kl_min >= -1e-12);  // KL is non-negative up to rounding
    QVERIFY(s.same_top > 0.8);
    QVERIFY(std::fabs(s.log_ppl_ratio) < 0.1);
  }

  // More bits, less divergence: KL(f16) < KL(bf16) < KL(q8_0) < KL(q4_0) on the same tokens.
  void klOrdersFormatsByPrecision() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Fixture f;
    QVERIFY(setUp(f));
    auto ref = runtime(f.model, *f.backend, 128);
    QVERIFY(ref);
    Result<std::vector<int32_t>> seq = sampleSequence(*ref, 1, 128, kSeed);
    QVERIFY(seq.ok());
    double previous = 0;
    for (DType t : {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
      Result<Model> m = convertWeights(f.model, WeightPlan{t, false}, nullptr);
      QVERIFY(m.ok());
      auto rt = runtime(*m, *f.backend, 128);
      QVERIFY(rt);
      Result<EvalResult> r = evaluate(*ref, *rt, {*seq}, EvalOptions{});
      QVERIFY(r.ok());
      if (!(r->stats.kl.mean > previous))
        qWarning("seed %llu: KL(%s) %g <= %g", static_cast<unsigned long long>(kSeed), dtypeName(t),
                 r->stats.kl.mean, previous);
      QVERIFY(r->stats.kl.mean > previous);
      previous = r->stats.kl.mean;
    }
  }

  void rejectsBadInput() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Fixture f;
    QVERIFY(setUp(f));
    auto a = runtime(f.model, *f.backend, 16);
    QVERIFY(a);
    EvalOptions o;
    o.ctx = 32;  // larger than the runtime's context
    QVERIFY(!evaluate(*a, *a, {{1, 2, 3}}, o).ok());
    o.ctx = 16;
    Result<EvalResult> bad = evaluate(*a, *a, {{1, 600}}, o);
    QVERIFY(!bad.ok());
    QVERIFY(bad.error().message.find("600") != std::string::npos);
    QVERIFY(!evaluate(*a, *a, {{1}}, o).ok());  // nothing to score
    o.progress = [](double) { return false; };
    Result<EvalResult> cancelled = evaluate(*a, *a, {{1, 2, 3}}, o);
    QVERIFY(!cancelled.ok());
    QVERIFY(cancelled.error().message.find("cancelled") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestEvaluator)
#include "test_evaluator.moc"
