// Integer and NF4 numerics (kernels/common/int_quant.h): symmetric/asymmetric round trips within
// half a step, clamping, exact zero, the published NF4 table and nearest-code search against a
// brute-force reference, 4-bit packing. Seed printed on failure.
#include <QtTest>

#include <cmath>
#include <random>

#include "kernels/common/int_quant.h"

using namespace precis;

class TestIntNumerics : public QObject {
  Q_OBJECT
  static constexpr uint32_t kSeed = 31337;

 private slots:
  void symmetricRoundTrip() {
    std::mt19937 rng(kSeed);
    std::normal_distribution<float> nd(0.f, 1.f);
    for (int bits : {8, 4}) {
      const int qmax = symQmax(bits);
      const float amax = 3.0f, scale = amax / float(qmax), inv = 1.0f / scale;
      for (int i = 0; i < 20000; ++i) {
        const float x = nd(rng);
        const int q = quantizeSym(x, inv, qmax);
        QVERIFY(q >= -qmax && q <= qmax);
        const float y = dequantizeSym(q, scale);
        if (std::fabs(x) <= amax && std::fabs(y - x) > 0.5f * scale * 1.0001f)
          QFAIL(qPrintable(QString("seed %1 bits %2: x=%3 -> %4 (step %5)").arg(kSeed).arg(bits).arg(x).arg(y).arg(scale)));
        if (std::fabs(x) > amax) QCOMPARE(std::abs(q), qmax);  // clipped
      }
      QCOMPARE(quantizeSym(0.f, inv, qmax), 0);
      QCOMPARE(quantizeSym(-amax, inv, qmax), -qmax);
      QCOMPARE(quantizeSym(NAN, inv, qmax), 0);
      QCOMPARE(quantizeSym(INFINITY, inv, qmax), qmax);
    }
    QCOMPARE(symQmax(8), 127);
    QCOMPARE(symQmax(4), 7);
  }

  void asymmetricRoundTrip() {
    std::mt19937 rng(kSeed + 1);
    std::uniform_real_distribution<float> ud(-0.3f, 1.7f);
    for (int bits : {8, 4}) {
      const int qmax = asymQmax(bits);
      float scale = 0;
      int zero = 0;
      asymParams(-0.3f, 1.7f, qmax, &scale, &zero);
      QVERIFY(zero > 0 && zero < qmax);
      QCOMPARE(dequantizeAsym(quantizeAsym(0.f, 1.f / scale, zero, qmax), scale, zero), 0.f);  // zero is exact
      for (int i = 0; i < 20000; ++i) {
        const float x = ud(rng);
        const int q = quantizeAsym(x, 1.f / scale, zero, qmax);
        QVERIFY(q >= 0 && q <= qmax);
        const float y = dequantizeAsym(q, scale, zero);
        // the range is shifted by at most half a step to make zero exact: allow one step at the ends
        if (std::fabs(y - x) > scale * 1.0001f)
          QFAIL(qPrintable(QString("seed %1 bits %2: x=%3 -> %4").arg(kSeed + 1).arg(bits).arg(x).arg(y)));
      }
    }
    // all-positive ranges include zero; an empty range gives scale 0 and code zero
    float s = 0;
    int z = -1;
    asymParams(0.5f, 2.0f, 15, &s, &z);
    QCOMPARE(z, 0);
    QCOMPARE(s, 2.0f / 15);
    asymParams(0.f, 0.f, 15, &s, &z);
    QCOMPARE(s, 0.f);
    QCOMPARE(z, 0);
  }

  void nf4Table() {
    // QLoRA Appendix E values (bitsandbytes), strictly increasing, -1 .. 1 with an exact zero.
    QCOMPARE(nf4Value(0), -1.0f);
    QCOMPARE(nf4Value(7), 0.0f);
    QCOMPARE(nf4Value(15), 1.0f);
    QCOMPARE(nf4Value(8), 0.07958029955625534f);
    QCOMPARE(nf4Value(1), -0.6961928009986877f);
    for (int i = 0; i < 15; ++i) QVERIFY(nf4Value(i) < nf4Value(i + 1));
    std::mt19937 rng(kSeed + 2);
    std::uniform_real_distribution<float> ud(-1.2f, 1.2f);
    for (int i = 0; i < 20000; ++i) {
      const float y = ud(rng);
      int best = 0;
      for (int c = 1; c < 16; ++c)
        if (std::fabs(nf4Value(c) - y) < std::fabs(nf4Value(best) - y)) best = c;
      const int q = quantizeNf4(y);
      if (std::fabs(nf4Value(q) - y) != std::fabs(nf4Value(best) - y))
        QFAIL(qPrintable(QString("seed %1: y=%2 code %3 but nearest %4").arg(kSeed + 2).arg(y).arg(q).arg(best)));
    }
    for (int c = 0; c < 16; ++c) QCOMPARE(quantizeNf4(nf4Value(c)), c);
  }

  void nibblePacking() {
    uint8_t bytes[4] = {0, 0, 0, 0};
    const int codes[7] = {1, 15, 0, 7, 9, 3, 12};
    for (int i = 0; i < 7; ++i) packNibble(bytes, i, codes[i]);
    for (int i = 0; i < 7; ++i) QCOMPARE(unpackNibble(bytes, i), codes[i]);
    QCOMPARE(int(bytes[0]), 0xf1);
  }
};

QTEST_APPLESS_MAIN(TestIntNumerics)
#include "test_int_numerics.moc"
