// Conformance of the packed low-bit CPU kernels (kernels/cpu/matmul_packed.h): the dispatched
// kernels (AVX2 where the CPU has it) and the portable kernels against matmulPackedReference, for
// int8 / int8-asym / int4 / int4-asym weights at tensor, channel and group:16/32/128 scales, with
// f32 activations (W8A16, W4A16) and int8 per-token activations (W8A8, W4A8), and nf4 /
// fp8-e4m3 / fp8-e5m2 weights (table code books) with f32 activations, on seeded random weights
// quantized by the engine's own quantizeMatrix. Tolerances, as a fraction of
// S = sum_k |w_k x_k| over the values actually multiplied (dequantized weights and activations):
//  - f32 activations: weights decode to exactly the dequantized values (checked bit-exactly), so
//    only fp32 accumulation differs from the double reference: |y - ref| <= (in + 20) * 2^-24 * S
//    (the worst-case bound of recursive fp32 summation of `in` terms).
//  - int8 activations: the integer sums are exact; isum * scale_w and the lane/group sums round
//    in fp32: |y - ref| <= (in / 16 + 20) * 2^-24 * S.
// Plus: the int8 activation quantizer against its scalar definition, row ranges and y_stride are
// honoured, the result stays within each format's error budget of the f32 matmul, the table
// kernels against dequantizeMatrix then an f32 dot (every fp8 code and every nf4 code decoded
// exactly by the kernels, fp8 saturation included).
#include <QtTest>

#include <cmath>
#include <random>
#include <vector>

#include "engine/quant/packed_weights.h"
#include "engine/quant/quant_tensor.h"
#include "kernels/cpu/matmul_packed.h"

using namespace precis;
using namespace precis::cpu;

namespace {

struct Case {
  std::vector<float> wf;  // (out, in) original weights
  QuantizedMatrix q;
  PackedWeightsView view;
  std::vector<float> x;   // (n, in)
  std::vector<int8_t> xq; // (n, in) int8 codes
  std::vector<float> xs;  // (n,) scales
  PackedActs acts;
};

WeightSpec specOf(WeightFormat f, int group) {
  WeightSpec s;
  s.format = f;
  s.granularity = group == 0 ? Granularity::Channel : group < 0 ? Granularity::Tensor : Granularity::Group;
  s.group = group > 0 ? group : 0;
  return s;
}

// Weights with a few outlier input columns (as real LLM weights have), x ~ N(0, 1).
Case makeCase(WeightFormat f, int group, int64_t in, int64_t out, int64_t n, PackedActKind kind, uint32_t seed) {
  Case c;
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  c.wf.resize(size_t(in * out));
  for (int64_t r = 0; r < out; ++r)
    for (int64_t k = 0; k < in; ++k) c.wf[size_t(r * in + k)] = nd(rng) * 0.05f * (k % 37 == 5 ? 8.f : 1.f);
  Result<QuantizedMatrix> q = quantizeMatrix(c.wf.data(), out, in, specOf(f, group), Calibration{}, nullptr);
  if (!q) qFatal("quantizeMatrix: %s", q.error().message.c_str());
  c.q = std::move(*q);
  Result<PackedWeightsView> v = packedWeightsView(c.q);
  if (!v) qFatal("packedWeightsView: %s", v.error().message.c_str());
  c.view = *v;
  c.x.resize(size_t(n * in));
  for (float& v2 : c.x) v2 = nd(rng);
  c.acts.kind = kind;
  c.acts.n = n;
  c.acts.in = in;
  if (kind == PackedActKind::F32) {
    c.acts.x = c.x.data();
  } else {
    c.xq.resize(c.x.size());
    c.xs.resize(size_t(n));
    quantizeActsInt8(c.x.data(), n, in, 0.f, c.xq.data(), c.xs.data());
    c.acts.q = c.xq.data();
    c.acts.scale = c.xs.data();
  }
  return c;
}

// S[t][r] = sum_k |w_k x_k| over the values the kernels multiply.
double absTerm(const Case& c, int64_t t, int64_t r) {
  double s = 0;
  for (int64_t k = 0; k < c.view.cols; ++k) {
    const double xv = c.acts.kind == PackedActKind::F32 ? c.x[size_t(t * c.view.cols + k)]
                                                         : double(c.xq[size_t(t * c.view.cols + k)]) * c.xs[size_t(t)];
    s += std::fabs(double(packedWeightValue(c.view, r, k)) * xv);
  }
  return s;
}

const WeightFormat kFormats[] = {WeightFormat::Int8, WeightFormat::Int8Asym, WeightFormat::Int4, WeightFormat::Int4Asym};
const WeightFormat kTableFormats[] = {WeightFormat::Nf4, WeightFormat::Fp8E4M3, WeightFormat::Fp8E5M2};
bool isTable(WeightFormat f) { return f == WeightFormat::Nf4 || f == WeightFormat::Fp8E4M3 || f == WeightFormat::Fp8E5M2; }
const char* groupName(int g) { return g < 0 ? "tensor" : g == 0 ? "channel" : g == 16 ? "group:16" : g == 32 ? "group:32" : "group:128"; }

}  // namespace

class TestQuantKernels : public QObject {
  Q_OBJECT
 private slots:
  // The kernels read what quantizeMatrix stored: every packed weight decodes to exactly
  // dequantizeMatrix's value (so W*A16 runs the simulated path's weights, bit for bit).
  void viewDecodesLikeDequantize_data() {
    QTest::addColumn<int>("format");
    QTest::addColumn<int>("group");
    for (WeightFormat f : kFormats)
      for (int g : {-1, 0, 16, 32, 128}) QTest::addRow("%s %s", weightFormatName(f), groupName(g)) << int(f) << g;
    for (WeightFormat f : kTableFormats)
      for (int g : {-1, 0, 32}) QTest::addRow("%s %s", weightFormatName(f), groupName(g)) << int(f) << g;
  }
  void viewDecodesLikeDequantize() {
    QFETCH(int, format);
    QFETCH(int, group);
    const Case c = makeCase(WeightFormat(format), group, 256, 9, 1, PackedActKind::F32, 11);
    std::vector<float> dq(c.wf.size());
    dequantizeMatrix(c.q, dq.data());
    for (int64_t r = 0; r < 9; ++r)
      for (int64_t k = 0; k < 256; ++k)
        if (packedWeightValue(c.view, r, k) != dq[size_t(r * 256 + k)])
          QFAIL(qPrintable(QStringLiteral("(%1, %2): %3 != %4").arg(r).arg(k).arg(packedWeightValue(c.view, r, k)).arg(dq[size_t(r * 256 + k)])));
  }

  void formatsWithoutKernelAreRefused() {
    std::vector<float> w(64 * 4, 0.5f);
    for (WeightFormat f : kTableFormats) {  // table code books: f32 activations only
      Result<QuantizedMatrix> q = quantizeMatrix(w.data(), 4, 64, specOf(f, 32), Calibration{}, nullptr);
      QVERIFY(q.ok());
      Result<PackedWeightsView> v = packedWeightsView(*q);
      QVERIFY2(v.ok(), v.ok() ? "" : v.error().message.c_str());
      const std::string why = packedProblem(*v, PackedActKind::Int8);
      QVERIFY2(why.find(std::string("no int8-activation kernel for ") + weightFormatName(f)) != std::string::npos, why.c_str());
    }
    // int4 rows of odd length do not start on a byte.
    std::vector<float> odd(5 * 3, 0.25f);
    Result<QuantizedMatrix> q = quantizeMatrix(odd.data(), 3, 5, specOf(WeightFormat::Int4, 0), Calibration{}, nullptr);
    QVERIFY(q.ok());
    Result<PackedWeightsView> v = packedWeightsView(*q);
    QVERIFY(!v.ok());
    QVERIFY2(v.error().message.find("odd length 5") != std::string::npos, v.error().message.c_str());
  }

  void int8ActivationsMatchDefinition() {
    const uint32_t seed = 99;
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.f, 2.f);
    const int64_t n = 3, in = 300;
    std::vector<float> x(size_t(n * in));
    for (float& v : x) v = nd(rng);
    for (int64_t k = 0; k < in; ++k) x[size_t(2 * in + k)] = 0.f;  // an all-zero token
    x[5] = 127.0f / 254.0f * 9.f;  // a value near a rounding tie
    std::vector<int8_t> q(x.size());
    std::vector<float> s(static_cast<size_t>(n));
    QCOMPARE(quantizeActsInt8(x.data(), n, in, 0.f, q.data(), s.data()), int64_t(0));
    for (int64_t t = 0; t < n; ++t) {
      float amax = 0;
      for (int64_t k = 0; k < in; ++k) amax = std::max(amax, std::fabs(x[size_t(t * in + k)]));
      QCOMPARE(s[size_t(t)], amax > 0 ? amax / 127.0f : 0.0f);
      for (int64_t k = 0; k < in; ++k) {
        const float v = x[size_t(t * in + k)];
        const int want = amax > 0 ? int(std::lround(v * (1.0f / (amax / 127.0f)))) : 0;
        QCOMPARE(int(q[size_t(t * in + k)]), std::max(-127, std::min(127, want)));
      }
    }
    // Static scale: values beyond amax saturate at +-127 and are counted.
    std::vector<float> xs = {0.5f, -3.0f, 2.0f, 1.0f};
    std::vector<int8_t> qs(4);
    float sc = 0;
    QCOMPARE(quantizeActsInt8(xs.data(), 1, 4, 1.0f, qs.data(), &sc), int64_t(2));
    QCOMPARE(sc, 1.0f / 127.0f);
    QCOMPARE(int(qs[1]), -127);
    QCOMPARE(int(qs[2]), 127);
    QCOMPARE(int(qs[0]), 64);  // 63.5 rounds half away from zero
  }

  void matchesReference_data() {
    QTest::addColumn<int>("format");
    QTest::addColumn<int>("group");
    QTest::addColumn<int>("in");
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("act");
    QTest::addColumn<int>("isa");
    for (WeightFormat f : {WeightFormat::Int8, WeightFormat::Int8Asym, WeightFormat::Int4, WeightFormat::Int4Asym,
                           WeightFormat::Nf4, WeightFormat::Fp8E4M3, WeightFormat::Fp8E5M2})
      for (int g : {-1, 0, 16, 32, 128})
        for (int act : isTable(f) ? std::vector<int>{0} : std::vector<int>{0, 1})
          for (int isa : {0, 1}) {
            for (int n : {1, 5}) QTest::addRow("%s %s %s n=%d %s", weightFormatName(f), groupName(g), act ? "a8" : "a32", n, isa ? "portable" : "best") << int(f) << g << 512 << n << act << isa;
            if (g <= 0)  // rows that are not whole chunks: channel/tensor scales over 172 and 48 inputs
              for (int in : {172, 48}) QTest::addRow("%s %s %s in=%d %s", weightFormatName(f), groupName(g), act ? "a8" : "a32", in, isa ? "portable" : "best") << int(f) << g << in << 3 << act << isa;
          }
    for (WeightFormat f : kFormats)  // a prefill-sized batch, once per format
      QTest::addRow("%s group:32 a8 n=37 best", weightFormatName(f)) << int(f) << 32 << 1024 << 37 << 1 << 0;
    for (WeightFormat f : kTableFormats)
      QTest::addRow("%s group:32 a32 n=37 best", weightFormatName(f)) << int(f) << 32 << 1024 << 37 << 0 << 0;
    QTest::addRow("int4 group:16 a8 in=48") << int(WeightFormat::Int4) << 16 << 48 << 2 << 1 << 0;
  }

  void matchesReference() {
    QFETCH(int, format);
    QFETCH(int, group);
    QFETCH(int, in);
    QFETCH(int, n);
    QFETCH(int, act);
    QFETCH(int, isa);
    const int64_t out = 23;
    const uint32_t seed = 500u + uint32_t(format) * 31u + uint32_t(group + 1) * 7u + uint32_t(in) + uint32_t(n) * 3u + uint32_t(act);
    const PackedActKind kind = act ? PackedActKind::Int8 : PackedActKind::F32;
    const Case c = makeCase(WeightFormat(format), group, in, out, n, kind, seed);
    const int64_t y_stride = out + 2;
    std::vector<float> ref(size_t(n * y_stride), 0.f);
    matmulPackedReference(c.view, c.acts, ref.data(), y_stride);
    const float kSentinel = -12345.f;
    std::vector<float> y(size_t(n * y_stride), kSentinel);
    const CpuIsa which = isa ? CpuIsa::Portable : CpuIsa::Best;
    matmulPackedRows(which, c.view, c.acts, y.data(), y_stride, 0, 9);  // two calls, as two threads would make
    matmulPackedRows(which, c.view, c.acts, y.data(), y_stride, 9, out);
    const double factor = (act ? double(in / 16 + 20) : double(in + 20)) * std::ldexp(1.0, -24);
    double worst = 0;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t r = 0; r < y_stride; ++r) {
        const float got = y[size_t(t * y_stride + r)];
        if (r >= out) {
          QVERIFY2(got == kSentinel, qPrintable(QStringLiteral("padding written at t=%1 r=%2").arg(t).arg(r)));
          continue;
        }
        const double want = ref[size_t(t * y_stride + r)];
        const double tol = factor * absTerm(c, t, r) + 1e-30;
        worst = std::max(worst, std::fabs(got - want) / tol);
        if (!(std::fabs(got - want) <= tol))
          QFAIL(qPrintable(QStringLiteral("%1 t=%2 r=%3: got %4 want %5 (tol %6, seed %7)")
                               .arg(packedKernelName(c.view, kind, which).c_str()).arg(t).arg(r)
                               .arg(double(got), 0, 'g', 9).arg(want, 0, 'g', 9).arg(tol).arg(seed)));
      }
    if (qEnvironmentVariableIsSet("PRECIS_TEST_VERBOSE"))
      qInfo("%s: worst error %.3f of tolerance", packedKernelName(c.view, kind, which).c_str(), worst);
  }

  // Kernel and reference could agree on wrong maths: the packed matmul must stay within each
  // format's error budget (relative RMS error of y) of the f32 matmul of the original weights.
  void withinFormatBudget_data() {
    QTest::addColumn<int>("format");
    QTest::addColumn<int>("group");
    QTest::addColumn<int>("act");
    QTest::addColumn<double>("budget");
    QTest::addRow("int8 channel a32") << int(WeightFormat::Int8) << 0 << 0 << 0.03;
    QTest::addRow("int8 channel a8") << int(WeightFormat::Int8) << 0 << 1 << 0.04;
    QTest::addRow("int8-asym group:32 a8") << int(WeightFormat::Int8Asym) << 32 << 1 << 0.03;
    QTest::addRow("int4 group:32 a32") << int(WeightFormat::Int4) << 32 << 0 << 0.2;
    QTest::addRow("int4-asym group:32 a8") << int(WeightFormat::Int4Asym) << 32 << 1 << 0.2;
    QTest::addRow("nf4 group:32 a32") << int(WeightFormat::Nf4) << 32 << 0 << 0.15;
    QTest::addRow("fp8-e4m3 channel a32") << int(WeightFormat::Fp8E4M3) << 0 << 0 << 0.05;
    QTest::addRow("fp8-e5m2 group:32 a32") << int(WeightFormat::Fp8E5M2) << 32 << 0 << 0.1;
  }
  void withinFormatBudget() {
    QFETCH(int, format);
    QFETCH(int, group);
    QFETCH(int, act);
    QFETCH(double, budget);
    const int64_t in = 512, out = 64, n = 8;
    const Case c = makeCase(WeightFormat(format), group, in, out, n, act ? PackedActKind::Int8 : PackedActKind::F32, 77);
    std::vector<float> y(size_t(n * out));
    matmulPackedRows(CpuIsa::Best, c.view, c.acts, y.data(), out, 0, out);
    double err = 0, norm = 0;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t r = 0; r < out; ++r) {
        double exact = 0;
        for (int64_t k = 0; k < in; ++k) exact += double(c.wf[size_t(r * in + k)]) * c.x[size_t(t * in + k)];
        err += (y[size_t(t * out + r)] - exact) * (y[size_t(t * out + r)] - exact);
        norm += exact * exact;
      }
    const double rel = std::sqrt(err / norm);
    QVERIFY2(rel <= budget, qPrintable(QStringLiteral("relative RMS error %1 > budget %2").arg(rel).arg(budget)));
    QVERIFY2(rel > budget / 100, qPrintable(QStringLiteral("relative RMS error %1 suspiciously small").arg(rel)));
  }

  // The table kernels against the simulated path's own numbers: dequantizeMatrix, then an f32
  // dot in double. Percentile calibration makes some fp8 weights saturate (clip rate > 0), and
  // x has a few large entries; tolerance as in matchesReference.
  void tableKernelsMatchDequantizedDot_data() {
    QTest::addColumn<int>("format");
    QTest::addColumn<int>("group");
    for (WeightFormat f : kTableFormats)
      for (int g : {-1, 0, 16, 32}) QTest::addRow("%s %s", weightFormatName(f), groupName(g)) << int(f) << g;
  }
  void tableKernelsMatchDequantizedDot() {
    QFETCH(int, format);
    QFETCH(int, group);
    const int64_t in = 320, out = 19, n = 6;
    std::mt19937 rng(uint32_t(format * 13 + group));
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<float> wf(size_t(in * out)), x(size_t(n * in));
    for (float& v : wf) v = nd(rng) * 0.03f;
    for (float& v : x) v = nd(rng) * (rng() % 50 == 0 ? 20.f : 1.f);
    Calibration cal;
    cal.method = CalibMethod::Percentile;
    cal.percentile = 99.0;
    QuantStats st;
    Result<QuantizedMatrix> q = quantizeMatrix(wf.data(), out, in, specOf(WeightFormat(format), group), cal, &st);
    QVERIFY2(q.ok(), q.ok() ? "" : q.error().message.c_str());
    if (WeightFormat(format) != WeightFormat::Nf4) QVERIFY2(st.clip_rate > 0, "no weight saturated");
    std::vector<float> dq(wf.size());
    dequantizeMatrix(*q, dq.data());
    Result<PackedWeightsView> v = packedWeightsView(*q);
    QVERIFY(v.ok());
    PackedActs a;
    a.n = n;
    a.in = in;
    a.x = x.data();
    for (CpuIsa isa : {CpuIsa::Best, CpuIsa::Portable}) {
      std::vector<float> y(size_t(n * out), -1.f);
      matmulPackedRows(isa, *v, a, y.data(), out, 0, out);
      for (int64_t t = 0; t < n; ++t)
        for (int64_t r = 0; r < out; ++r) {
          double want = 0, abs_sum = 0;
          for (int64_t k = 0; k < in; ++k) {
            want += double(dq[size_t(r * in + k)]) * x[size_t(t * in + k)];
            abs_sum += std::fabs(double(dq[size_t(r * in + k)]) * x[size_t(t * in + k)]);
          }
          const double tol = double(in + 20) * std::ldexp(1.0, -24) * abs_sum + 1e-30;
          const float got = y[size_t(t * out + r)];
          QVERIFY2(std::fabs(got - want) <= tol, qPrintable(QStringLiteral("%1 t=%2 r=%3: %4 vs %5")
                                                                .arg(packedKernelName(*v, PackedActKind::F32, isa).c_str())
                                                                .arg(t).arg(r).arg(got).arg(want)));
        }
    }
  }

  // Every code of the table: a matrix whose row r holds the codes (k + 37 r) mod C (C = 16 for
  // nf4, 256 for fp8; non-finite fp8 codes replaced by 0) times one-hot inputs gives each weight
  // bit-exactly (one product, the rest exact zeros), from the AVX2 and the portable kernels.
  void everyTableCodeDecodes_data() {
    QTest::addColumn<int>("format");
    for (WeightFormat f : kTableFormats) QTest::addRow("%s", weightFormatName(f)) << int(f);
  }
  void everyTableCodeDecodes() {
    QFETCH(int, format);
    const WeightFormat f = WeightFormat(format);
    const bool nf4 = f == WeightFormat::Nf4;
    const int64_t in = 256, out = 3;
    QuantizedMatrix q;
    q.spec = specOf(f, 0);
    q.rows = out;
    q.cols = in;
    q.span = in;
    q.scales = {0.5f, 3.0f, 1.0f / 3.0f};
    q.codes.assign(size_t(nf4 ? out * in / 2 : out * in), 0);
    for (int64_t r = 0; r < out; ++r)
      for (int64_t k = 0; k < in; ++k) {
        int c = int((k + 37 * r) % (nf4 ? 16 : 256));
        const PackedCodebook cb = f == WeightFormat::Fp8E4M3 ? PackedCodebook::Fp8E4M3 : PackedCodebook::Fp8E5M2;
        if (!nf4 && !std::isfinite(packedTableValue(cb, c))) c = 0;
        if (nf4) packNibble(q.codes.data(), r * in + k, c);
        else q.codes[size_t(r * in + k)] = uint8_t(c);
      }
    std::vector<float> dq(size_t(out * in));
    dequantizeMatrix(q, dq.data());
    Result<PackedWeightsView> v = packedWeightsView(q);
    QVERIFY2(v.ok(), v.ok() ? "" : v.error().message.c_str());
    std::vector<float> x(size_t(in * in), 0.f);  // token t is one-hot at input t
    for (int64_t t = 0; t < in; ++t) x[size_t(t * in + t)] = 1.f;
    PackedActs a;
    a.n = in;
    a.in = in;
    a.x = x.data();
    for (CpuIsa isa : {CpuIsa::Best, CpuIsa::Portable}) {
      std::vector<float> y(size_t(in * out));
      matmulPackedRows(isa, *v, a, y.data(), out, 0, out);
      for (int64_t t = 0; t < in; ++t)
        for (int64_t r = 0; r < out; ++r)
          if (y[size_t(t * out + r)] != dq[size_t(r * in + t)])
            QFAIL(qPrintable(QStringLiteral("(%1, %2): %3 != %4 (%5)").arg(r).arg(t).arg(y[size_t(t * out + r)])
                                 .arg(dq[size_t(r * in + t)]).arg(packedKernelName(*v, PackedActKind::F32, isa).c_str())));
    }
  }

  // Non-finite fp8 codes decode as the quantizer defines them and propagate like the dequantized
  // dot: an e4m3 NaN code (S.1111.111) gives NaN, an e5m2 infinity gives infinity (the quantizer
  // saturates, so these only come from NaN/inf inputs; dequantizeMatrix keeps them).
  void nonFiniteFp8Codes_data() {
    QTest::addColumn<int>("format");
    QTest::addColumn<int>("code");
    QTest::addColumn<double>("want");
    QTest::addRow("e4m3 +NaN") << int(WeightFormat::Fp8E4M3) << 0x7f << double(NAN);
    QTest::addRow("e4m3 -NaN") << int(WeightFormat::Fp8E4M3) << 0xff << double(NAN);
    QTest::addRow("e5m2 +inf") << int(WeightFormat::Fp8E5M2) << 0x7c << double(INFINITY);
    QTest::addRow("e5m2 -inf") << int(WeightFormat::Fp8E5M2) << 0xfc << -double(INFINITY);
    QTest::addRow("e5m2 NaN") << int(WeightFormat::Fp8E5M2) << 0x7e << double(NAN);
  }
  void nonFiniteFp8Codes() {
    QFETCH(int, format);
    QFETCH(int, code);
    QFETCH(double, want);
    QuantizedMatrix q;
    q.spec = specOf(WeightFormat(format), -1);
    q.rows = 2;
    q.cols = 48;
    q.span = 96;
    q.scales = {0.25f};
    q.codes.assign(96, 0x38);  // 1.0 in e4m3, 0.5 in e5m2
    q.codes[17] = uint8_t(code);  // row 0, inside the first 16-code chunk
    std::vector<float> dq(96);
    dequantizeMatrix(q, dq.data());
    Result<PackedWeightsView> v = packedWeightsView(q);
    QVERIFY(v.ok());
    std::vector<float> x(48, 1.f);
    PackedActs a;
    a.n = 1;
    a.in = 48;
    a.x = x.data();
    double ref = 0;
    for (int k = 0; k < 48; ++k) ref += double(dq[size_t(k)]);
    QCOMPARE(std::isnan(ref), std::isnan(want));
    for (CpuIsa isa : {CpuIsa::Best, CpuIsa::Portable}) {
      float y[2] = {0, 0};
      matmulPackedRows(isa, *v, a, y, 2, 0, 2);
      if (std::isnan(want)) QVERIFY2(std::isnan(y[0]), qPrintable(QString::number(y[0])));
      else QCOMPARE(double(y[0]), want);
      QCOMPARE(y[1], float(48 * double(dq[48])));  // the finite row is unaffected
    }
  }

  void kernelNames() {
    const Case c = makeCase(WeightFormat::Int4, 32, 64, 2, 1, PackedActKind::F32, 1);
    QCOMPARE(packedKernelName(c.view, PackedActKind::F32, CpuIsa::Portable),
             std::string("int4 x f32 packed dot (dequantized in registers), group:32 scales (portable)"));
    const Case d = makeCase(WeightFormat::Int8Asym, 0, 64, 2, 1, PackedActKind::Int8, 1);
    QCOMPARE(packedKernelName(d.view, PackedActKind::Int8, CpuIsa::Portable),
             std::string("int8-asym x int8 packed int32 dot, channel scales (portable)"));
    const Case e = makeCase(WeightFormat::Nf4, -1, 64, 2, 1, PackedActKind::F32, 1);
    QCOMPARE(packedKernelName(e.view, PackedActKind::F32, CpuIsa::Portable),
             std::string("nf4 x f32 packed dot (16-entry table in registers), tensor scale (portable)"));
    const Case f = makeCase(WeightFormat::Fp8E4M3, 16, 64, 2, 1, PackedActKind::F32, 1);
    QCOMPARE(packedKernelName(f.view, PackedActKind::F32, CpuIsa::Portable),
             std::string("fp8-e4m3 x f32 packed dot (256-entry table lookup), group:16 scales (portable)"));
  }
};

QTEST_GUILESS_MAIN(TestQuantKernels)
#include "test_quant_kernels.moc"
