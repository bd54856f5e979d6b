// CPU weight matmul (kernels/cpu/matmul_quant.h): the dispatched kernels (AVX2 where the CPU has
// it) and the portable kernels against matmulReference, for every weight type, several token counts
// (1 = decode, up to 64 = prefill tiles) and row lengths, on seeded random data.
// Tolerances, per type, as a fraction of S = sum over the dot product of |w_k * x_k|:
//  - q8_0, q4_0: the same exact int32 block sums are formed; only the fp32 accumulation of
//    isum * (d_w * d_x) differs from the reference's double sum, so |y - ref| <= (nb + 16) * 2^-23 * S.
//  - f32, f16, bf16: weights decode exactly; fp32 FMA accumulation in 8..16 lanes vs the double
//    reference gives |y - ref| <= (in / 8 + 20) * 2^-24 * S.
// Plus: quantizeRowQ8_0 is bit-identical to the reference quantizer, row ranges and y_stride are
// honoured, and the quantized result stays within each format's error budget of the f32 matmul.
#include <QtTest>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/common/dtype.h"
#include "kernels/common/numerics.h"
#include "kernels/cpu/matmul_quant.h"

using namespace precis;
using namespace precis::cpu;

namespace {

struct Problem {
  DType wtype;
  int64_t in, out, n;
  std::vector<float> wf;      // (out, in) original f32 weights
  std::vector<uint8_t> w;     // (out, row bytes) converted
  std::vector<float> x;       // (n, in)
  size_t w_stride = 0;
};

Problem makeProblem(DType wtype, int64_t in, int64_t out, int64_t n, uint32_t seed) {
  Problem p{wtype, in, out, n, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  p.wf.resize(size_t(in * out));
  for (float& v : p.wf) v = nd(rng) * 0.05f;
  p.x.resize(size_t(n * in));
  for (float& v : p.x) v = nd(rng);
  p.w_stride = rowBytes(wtype, in) + 64;  // padded rows: the stride is honoured, not assumed
  p.w.assign(p.w_stride * size_t(out), 0xAB);
  for (int64_t r = 0; r < out; ++r)
    dtypeTraits(wtype).from_float(p.wf.data() + r * in, p.w.data() + size_t(r) * p.w_stride, in);
  return p;
}

// S[t][r] = sum_k |w_k x_k| over the values the kernels actually multiply.
std::vector<double> absTerms(const Problem& p) {
  std::vector<double> s(size_t(p.n * p.out), 0.0);
  const bool quant = p.wtype == DType::Q8_0 || p.wtype == DType::Q4_0;
  std::vector<float> wd(static_cast<size_t>(p.in)), xd(size_t(p.in));
  std::vector<BlockQ8_0> xq(static_cast<size_t>(p.in / 32));
  for (int64_t t = 0; t < p.n; ++t) {
    const float* xt = p.x.data() + t * p.in;
    if (quant) {
      for (int64_t b = 0; b < p.in / 32; ++b) quantizeBlockQ8_0(xt + b * 32, &xq[size_t(b)]);
      dtypeTraits(DType::Q8_0).to_float(xq.data(), xd.data(), p.in);
    } else {
      std::memcpy(xd.data(), xt, size_t(p.in) * 4);
    }
    for (int64_t r = 0; r < p.out; ++r) {
      dtypeTraits(p.wtype).to_float(p.w.data() + size_t(r) * p.w_stride, wd.data(), p.in);
      double acc = 0;
      for (int64_t k = 0; k < p.in; ++k) acc += std::fabs(double(wd[size_t(k)]) * xd[size_t(k)]);
      s[size_t(t * p.out + r)] = acc;
    }
  }
  return s;
}

double toleranceFactor(DType t, int64_t in) {
  if (t == DType::Q8_0 || t == DType::Q4_0) return double(in / 32 + 16) * std::ldexp(1.0, -23);
  return double(in / 8 + 20) * std::ldexp(1.0, -24);
}

}  // namespace

class TestMatmulCpu : public QObject {
  Q_OBJECT
 private slots:
  void kernelNames() {
    const std::string q4 = matmulKernelName(DType::Q4_0);
    QVERIFY2(q4.rfind("q4_0 x q8_0 int8 dot", 0) == 0, q4.c_str());
    QVERIFY(q4.find(cpuHasAvx2Kernels() ? "(avx2)" : "(portable)") != std::string::npos);
    QCOMPARE(matmulKernelName(DType::F16, CpuIsa::Portable), std::string("f16 x f32 fp32 dot (portable)"));
    QCOMPARE(matmulScratchBytes(DType::Q4_0, 4096, 3), size_t(3 * 128 * (34 + 4)));
    QCOMPARE(matmulScratchBytes(DType::BF16, 4096, 3), size_t(0));
  }

  void quantizeRowIsBitExact() {
    const uint32_t seed = 1234;
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.f, 3.f);
    const int64_t n = 32 * 64;
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = nd(rng);
    // Exact ties of x * id = k + 0.5 in the second half: multiples of amax / 254 with amax = 1.
    std::uniform_int_distribution<int> ki(-254, 254);
    for (int64_t i = n / 2; i < n; ++i) x[size_t(i)] = (i % 32 == 0) ? 1.0f : float(ki(rng)) / 254.0f;
    for (int i = 0; i < 32; ++i) x[size_t(32 + i)] = 0.0f;  // an all-zero block
    std::vector<BlockQ8_0> got(static_cast<size_t>(n / 32)), want(size_t(n / 32));
    quantizeRowQ8_0(x.data(), got.data(), n);
    for (int64_t b = 0; b < n / 32; ++b) quantizeBlockQ8_0(x.data() + b * 32, &want[size_t(b)]);
    for (int64_t b = 0; b < n / 32; ++b)
      QVERIFY2(std::memcmp(&got[size_t(b)], &want[size_t(b)], sizeof(BlockQ8_0)) == 0,
               qPrintable(QStringLiteral("block %1 differs (seed %2)").arg(b).arg(seed)));
  }

  void matchesReference_data() {
    QTest::addColumn<int>("wtype");
    QTest::addColumn<int>("in");
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("isa");
    const DType types[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0};
    for (DType t : types)
      for (int in : {64, 96, 4096})
        for (int n : {1, 3, 17, 64})
          for (int isa : {0, 1}) {
            if (in == 4096 && n == 64 && isa == 1) continue;  // the largest case once is enough
            QTest::addRow("%s in=%d n=%d %s", dtypeName(t), in, n, isa ? "portable" : "best")
                << int(t) << in << n << isa;
          }
    for (DType t : {DType::F32, DType::F16, DType::BF16})  // float rows need not be whole blocks
      for (int isa : {0, 1}) QTest::addRow("%s in=100 n=5 %s", dtypeName(t), isa ? "portable" : "best") << int(t) << 100 << 5 << isa;
  }

  void matchesReference() {
    QFETCH(int, wtype);
    QFETCH(int, in);
    QFETCH(int, n);
    QFETCH(int, isa);
    const DType t = DType(wtype);
    const int64_t out = 37;
    const uint32_t seed = 1000u + uint32_t(wtype) * 97u + uint32_t(in) + uint32_t(n) * 7u;
    const Problem p = makeProblem(t, in, out, n, seed);
    const int64_t y_stride = out + 3;

    std::vector<float> ref(size_t(n * y_stride), 0.f);
    matmulReference(t, p.w.data(), p.w_stride, in, p.x.data(), n, ref.data(), y_stride, out);

    std::vector<uint8_t> scratch(matmulScratchBytes(t, in, n));
    prepareActivations(t, p.x.data(), n, in, scratch.data());
    const float kSentinel = -12345.f;
    std::vector<float> y(size_t(n * y_stride), kSentinel);
    const CpuIsa which = isa ? CpuIsa::Portable : CpuIsa::Best;
    const int64_t split = 11;  // two calls, as two threads would make
    matmulQuantRowsIsa(which, t, p.w.data(), p.w_stride, in, p.x.data(), n, scratch.data(), y.data(), y_stride, 0, split);
    matmulQuantRowsIsa(which, t, p.w.data(), p.w_stride, in, p.x.data(), n, scratch.data(), y.data(), y_stride, split, out);

    const std::vector<double> s = absTerms(p);
    const double factor = toleranceFactor(t, in);
    double worst = 0;  // largest error as a fraction of its tolerance
    for (int64_t tk = 0; tk < n; ++tk) {
      for (int64_t r = 0; r < y_stride; ++r) {
        const float got = y[size_t(tk * y_stride + r)];
        if (r >= out) {
          QVERIFY2(got == kSentinel, qPrintable(QStringLiteral("padding written at t=%1 r=%2").arg(tk).arg(r)));
          continue;
        }
        const double want = ref[size_t(tk * y_stride + r)];
        const double tol = factor * s[size_t(tk * out + r)] + 1e-30;
        const double frac = std::fabs(got - want) / tol;
        worst = std::max(worst, frac);
        if (!(frac <= 1.0))
          QFAIL(qPrintable(QStringLiteral("%1 t=%2 r=%3: got %4 want %5 (tol %6, seed %7)")
                               .arg(matmulKernelName(t, which).c_str()).arg(tk).arg(r)
                               .arg(double(got), 0, 'g', 9).arg(want, 0, 'g', 9).arg(tol).arg(seed)));
      }
    }
    if (qEnvironmentVariableIsSet("PRECIS_TEST_VERBOSE"))
      qInfo("%s: worst error %.3f of tolerance", matmulKernelName(t, which).c_str(), worst);
  }

  // The quantized matmul must stay within the format's error budget of the f32 matmul of the
  // original weights (catches a kernel and reference that agree on wrong maths).
  void withinFormatBudget_data() {
    QTest::addColumn<int>("wtype");
    QTest::addColumn<double>("budget");  // relative RMS error of y
    QTest::addRow("f16") << int(DType::F16) << 1e-3;
    QTest::addRow("bf16") << int(DType::BF16) << 8e-3;
    QTest::addRow("q8_0") << int(DType::Q8_0) << 0.02;
    QTest::addRow("q4_0") << int(DType::Q4_0) << 0.15;
  }
  void withinFormatBudget() {
    QFETCH(int, wtype);
    QFETCH(double, budget);
    const DType t = DType(wtype);
    const int64_t in = 512, out = 64, n = 8;
    const uint32_t seed = 77;
    const Problem p = makeProblem(t, in, out, n, seed);
    std::vector<uint8_t> scratch(matmulScratchBytes(t, in, n));
    prepareActivations(t, p.x.data(), n, in, scratch.data());
    std::vector<float> y(static_cast<size_t>(n * out));
    matmulQuantRows(t, p.w.data(), p.w_stride, in, p.x.data(), n, scratch.data(), y.data(), out, 0, out);
    double err = 0, norm = 0;
    for (int64_t tk = 0; tk < n; ++tk)
      for (int64_t r = 0; r < out; ++r) {
        double exact = 0;
        for (int64_t k = 0; k < in; ++k) exact += double(p.wf[size_t(r * in + k)]) * p.x[size_t(tk * in + k)];
        err += (y[size_t(tk * out + r)] - exact) * (y[size_t(tk * out + r)] - exact);
        norm += exact * exact;
      }
    const double rel = std::sqrt(err / norm);
    QVERIFY2(rel < budget, qPrintable(QStringLiteral("%1: relative RMS error %2 over budget %3 (seed %4)")
                                          .arg(dtypeName(t)).arg(rel).arg(budget).arg(seed)));
    QVERIFY2(rel > 0 || t == DType::F32, "a quantized result equal to f32 means nothing was quantized");
  }
};

QTEST_APPLESS_MAIN(TestMatmulCpu)
#include "test_matmul_cpu.moc"
