// Sensitivity analysis (engine/quant/sensitivity.h) on stories260K (skipped when absent): a
// deliberately damaged tensor (one weight x200, so a per-tensor int8 scale rounds the rest of it to 0 or +-1 step)
// ranks first; a mixed int4/int8 assignment stays within its bits budget, the quantized model built
// from it reports exactly the assignment's bits, and a real evaluation of it beats uniform int4.
#include <QtTest>

#include <cmath>
#include <cstring>

#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/quant/quantize_model.h"
#include "engine/quant/sensitivity.h"
#include "test_paths.h"

using namespace precis;

class TestSensitivity : public QObject {
  Q_OBJECT
 private slots:
  void damagedTensorRanksFirstAndBudgetHolds() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Result<Model> m = loadModel(test::modelPath("stories260K.bin"));
    QVERIFY(m.ok());
    // Damage: one weight of blk.2.attn_v becomes 200x the tensor's absmax.
    WeightTensor* v = m->find("blk.2.attn_v.weight");
    QVERIFY(v && v->type == DType::F32);
    auto buf = std::make_shared<std::vector<std::byte>>(v->bytes);
    std::memcpy(buf->data(), v->data, v->bytes);
    float* f = reinterpret_cast<float*>(buf->data());
    float amax = 0;
    for (int64_t i = 0; i < v->elements(); ++i) amax = std::max(amax, std::fabs(f[i]));
    f[7] = 200 * amax;
    v->data = buf->data();
    v->owner = buf;

    auto be = createBackend("cpu", BackendOptions{});
    QVERIFY(be.ok());
    RuntimeOptions ro{1, 64, 64};
    auto ref = LlamaRuntime::create(*m, **be, ro);
    QVERIFY(ref.ok());
    auto seq = sampleSequence(**ref, 1, 63, 5);
    QVERIFY(seq.ok());
    const std::vector<std::vector<int32_t>> seqs{*seq};
    SensitivityOptions so;
    so.spec = *parseGranularity("tensor", WeightFormat::Int8);
    so.eval.ctx = 64;
    so.eval.bos = 1;
    auto rows = tensorSensitivity(*m, **ref, **be, ro, seqs, so);
    QVERIFY2(rows.ok(), rows.ok() ? "" : rows.error().message.c_str());
    QCOMPARE(rows->size(), size_t(35));
    qInfo("first %s KL %.4f, second %s KL %.4f (seed 5)", (*rows)[0].name.c_str(), (*rows)[0].kl_mean,
          (*rows)[1].name.c_str(), (*rows)[1].kl_mean);
    QCOMPARE((*rows)[0].name, std::string("blk.2.attn_v.weight"));
    QVERIFY((*rows)[0].kl_mean > 2 * (*rows)[1].kl_mean);

    // Mixed int4/int8 (channel) under 6 bits per weight over the matrices.
    const WeightSpec low = *parseGranularity("channel", WeightFormat::Int4), high = *parseGranularity("channel", WeightFormat::Int8);
    auto bytesOf = [&](const WeightSpec& w) {
      QuantScheme s;
      s.weights = w;
      std::vector<std::pair<std::string, uint64_t>> out;
      auto q = quantizeModel(*m, s);
      if (!q) qFatal("%s", q.error().message.c_str());
      for (const auto& t : q->report.tensors) out.push_back({t.name, t.bytes});
      return out;
    };
    so.spec = low;
    auto rows_low = tensorSensitivity(*m, **ref, **be, ro, seqs, so);
    QVERIFY2(rows_low.ok(), rows_low.ok() ? "" : rows_low.error().message.c_str());
    const double budget = 6.0;
    const MixedAssignment a = assignMixedPrecision(*rows_low, high, bytesOf(low), bytesOf(high), budget);
    QVERIFY(!a.high.empty());
    QVERIFY(a.quantized_bits_per_weight <= budget);
    QuantScheme mixed;
    mixed.weights = low;
    mixed.overrides = a.overrides;
    auto qm = quantizeModel(*m, mixed);
    QVERIFY(qm.ok());
    QCOMPARE(qm->report.quantized_bits_per_weight, a.quantized_bits_per_weight);
    // Verified by a real evaluation: better than uniform int4 (whose bits are lower) ...
    QuantScheme uni;
    uni.weights = low;
    auto qu = quantizeModel(*m, uni);
    auto rt_mixed = LlamaRuntime::create(qm->model, **be, ro);
    auto rt_uni = LlamaRuntime::create(qu->model, **be, ro);
    EvalOptions eo = so.eval;
    QVERIFY(rt_mixed.ok() && rt_uni.ok());
    auto ev_mixed = evaluate(**ref, **rt_mixed, seqs, eo);
    auto ev_uni = evaluate(**ref, **rt_uni, seqs, eo);
    QVERIFY2(ev_mixed.ok() && ev_uni.ok(), ev_mixed.ok() ? "uniform eval failed" : ev_mixed.error().message.c_str());
    const double kl_mixed = ev_mixed->stats.kl.mean, kl_uni = ev_uni->stats.kl.mean;
    qInfo("mixed %.3f bits KL %.4f, uniform int4 %.3f bits KL %.4f", a.quantized_bits_per_weight, kl_mixed,
          qu->report.quantized_bits_per_weight, kl_uni);
    QVERIFY(kl_mixed < kl_uni);
  }
};

QTEST_APPLESS_MAIN(TestSensitivity)
#include "test_sensitivity.moc"
