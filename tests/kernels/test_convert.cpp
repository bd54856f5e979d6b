// Weight conversion (engine/quant/convert.h) on the real stories260K model (skipped when absent):
// which tensors are converted or kept and why, byte counts and bits per weight, and dequantized
// values within each format's error budget of the originals. Synthetic checks need no model.
#include <QtTest>

#include <cmath>
#include <vector>

#include "engine/model/loader.h"
#include "engine/quant/convert.h"
#include "kernels/common/numerics.h"
#include "test_paths.h"

using namespace precis;

namespace {

std::vector<float> decode(const WeightTensor& t) {
  std::vector<float> v(static_cast<size_t>(t.elements()));
  dtypeTraits(t.type).to_float(t.data, v.data(), t.elements());
  return v;
}

const TensorDecision* decisionFor(const ConvertReport& r, const std::string& name) {
  for (const TensorDecision& d : r.tensors)
    if (d.name == name) return &d;
  return nullptr;
}

// Largest |converted - original| over each 32-element block, as a fraction of the format's bound:
// q8_0: amax * (0.5/127 + 2^-10), q4_0: amax * (1/8 + 2^-10) (the 2^-10 covers d stored as fp16),
// f16: 2^-11 relative, bf16: 2^-8 relative.
double worstBudgetFraction(const std::vector<float>& orig, const std::vector<float>& conv, DType t) {
  double worst = 0;
  for (size_t b = 0; b < orig.size(); b += 32) {
    const size_t e = std::min(orig.size(), b + 32);
    double amax = 0;
    for (size_t i = b; i < e; ++i) amax = std::max(amax, std::fabs(double(orig[i])));
    for (size_t i = b; i < e; ++i) {
      const double err = std::fabs(double(conv[i]) - orig[i]);
      double bound = 0;
      switch (t) {
        case DType::Q8_0: bound = amax * (0.5 / 127 + std::ldexp(1.0, -10)); break;
        case DType::Q4_0: bound = amax * (1.0 / 8 + std::ldexp(1.0, -10)); break;
        case DType::F16: bound = std::fabs(orig[i]) * std::ldexp(1.0, -11) + std::ldexp(1.0, -25); break;
        case DType::BF16: bound = std::fabs(orig[i]) * std::ldexp(1.0, -8); break;
        default: bound = 0; break;
      }
      worst = std::max(worst, bound > 0 ? err / bound : (err > 0 ? 1e9 : 0.0));
    }
  }
  return worst;
}

}  // namespace

class TestConvert : public QObject {
  Q_OBJECT
 private slots:
  void stories260K_data() {
    QTest::addColumn<int>("format");
    QTest::addColumn<bool>("embeddings");
    QTest::addRow("q4_0") << int(DType::Q4_0) << false;
    QTest::addRow("q8_0") << int(DType::Q8_0) << false;
    QTest::addRow("q4_0+embeddings") << int(DType::Q4_0) << true;
    QTest::addRow("f16") << int(DType::F16) << false;
    QTest::addRow("bf16") << int(DType::BF16) << true;
  }
  void stories260K() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QFETCH(int, format);
    QFETCH(bool, embeddings);
    const DType fmt = DType(format);
    Result<Model> src = loadModel(test::modelPath("stories260K.bin"));
    QVERIFY2(src.ok(), src.ok() ? "" : src.error().message.c_str());
    ConvertReport rep;
    Result<Model> dst = convertWeights(*src, WeightPlan{fmt, embeddings}, &rep);
    QVERIFY2(dst.ok(), dst.ok() ? "" : dst.error().message.c_str());
    QVERIFY2(dst->validate().ok(), "converted model must validate");
    QCOMPARE(dst->config.dim, src->config.dim);
    QCOMPARE(rep.tensors.size(), src->tensors.size());

    const int block = dtypeTraits(fmt).block_size;
    uint64_t bytes = 0;
    int64_t elements = 0;
    for (const WeightTensor& s : src->tensors) {
      const TensorDecision* d = decisionFor(rep, s.name);
      QVERIFY2(d, s.name.c_str());
      const WeightTensor* t = dst->find(s.name);
      QVERIFY(t);
      QCOMPARE(d->to, t->type);
      QCOMPARE(d->from, DType::F32);
      QCOMPARE(d->bytes, uint64_t(t->bytes));
      // Expected type and reason, derived here from the tensor's shape and name.
      DType want = fmt;
      std::string reason;
      const bool embd = s.name == kTokenEmbd || s.name == kOutput;
      if (s.shape.size() == 1) {
        want = DType::F32;
        if (fmt != DType::F32) reason = "1-D tensor kept in f32 (norms are not converted)";
      } else if (embd && !embeddings) {
        want = DType::F32;
        reason = "embedding/classifier kept (use --quantize-embeddings)";
      } else if (s.cols() % block != 0) {
        want = DType::F32;
        reason = "row length " + std::to_string(s.cols()) + " is not a multiple of the " +
                 dtypeName(fmt) + " block size " + std::to_string(block);
      }
      QVERIFY2(t->type == want, qPrintable(QStringLiteral("%1 is %2, expected %3").arg(s.name.c_str(), dtypeName(t->type), dtypeName(want))));
      QCOMPARE(d->reason, reason);
      if (s.name.find("ffn_down") != std::string::npos && block == 32)
        QCOMPARE(d->reason, std::string("row length 172 is not a multiple of the ") + dtypeName(fmt) + " block size 32");
      const uint64_t tb = uint64_t(s.elements() / dtypeTraits(want).block_size) * dtypeTraits(want).block_bytes;
      QCOMPARE(uint64_t(t->bytes), tb);
      bytes += tb;
      elements += s.elements();
      const std::vector<float> a = decode(s), b = decode(*t);
      if (want == DType::F32) {
        QVERIFY2(a == b, s.name.c_str());  // kept tensors are untouched
      } else {
        const double frac = worstBudgetFraction(a, b, want);
        QVERIFY2(frac <= 1.0, qPrintable(QStringLiteral("%1 (%2): error %3 of its budget").arg(s.name.c_str(), dtypeName(want)).arg(frac)));
      }
    }
    QCOMPARE(rep.bytes, bytes);
    QCOMPARE(rep.bits_per_weight, 8.0 * double(bytes) / double(elements));
    if (fmt == DType::Q4_0 && !embeddings) {
      // stories260K by hand: per layer q4_0 (q 64x64, k,v 32x64, o 64x64, gate,up 172x64) = 34304
      // weights -> 19296 bytes; ffn_down 64x172 f32 = 44032; 2 norms 512; plus token_embd 131072
      // and output_norm 256: 450528 bytes over 260032 weights.
      QCOMPARE(rep.bytes, uint64_t(450528));
      QCOMPARE(rep.bits_per_weight, 8.0 * 450528.0 / 260032.0);
    }
  }

  void quantizedSourceToF32Dequantizes() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Result<Model> src = loadModel(test::modelPath("stories260K.bin"));
    QVERIFY(src.ok());
    Result<Model> q = convertWeights(*src, WeightPlan{DType::Q8_0, true}, nullptr);
    QVERIFY(q.ok());
    ConvertReport rep;
    Result<Model> f = convertWeights(*q, WeightPlan{DType::F32, false}, &rep);
    QVERIFY(f.ok());
    for (const WeightTensor& t : q->tensors) {
      const WeightTensor* ft = f->find(t.name);
      QVERIFY(ft);
      const bool embd = t.name == kTokenEmbd || t.name == kOutput;
      // Embeddings stay as stored (q8_0) unless asked; everything else is dequantized exactly.
      QCOMPARE(ft->type, embd ? t.type : DType::F32);
      if (!embd) QVERIFY2(decode(t) == decode(*ft), t.name.c_str());
    }
  }

  void rejectsNonWeightFormat() {
    Model m;
    m.path = "mem";
    Result<Model> r = convertWeights(m, WeightPlan{DType::I32, false}, nullptr);
    QVERIFY(!r.ok());
    QVERIFY2(r.error().message.find("i32") != std::string::npos, r.error().message.c_str());
  }

  void inconsistentTensorIsNamed() {
    std::vector<float> data(64, 1.0f);
    Model m;
    m.path = "mem";
    WeightTensor t;
    t.name = "blk.0.attn_q.weight";
    t.type = DType::F32;
    t.shape = {4, 32};  // 128 elements but only 256 bytes given
    t.data = reinterpret_cast<const std::byte*>(data.data());
    t.bytes = data.size() * 4;
    m.tensors.push_back(t);
    Result<Model> r = convertWeights(m, WeightPlan{DType::Q4_0, false}, nullptr);
    QVERIFY(!r.ok());
    QVERIFY2(r.error().message.find("blk.0.attn_q.weight") != std::string::npos, r.error().message.c_str());
  }
};

QTEST_APPLESS_MAIN(TestConvert)
#include "test_convert.moc"
