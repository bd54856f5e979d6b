// FP8 (OCP E4M3 / E5M2) and bf16 conversions against ml_dtypes' bytes (tests/fixtures/fp8_reference.bin,
// made by tests/fixtures/make_fp8_fixture.py): bit-exact in the non-saturating mode, OCP saturation
// rules in the saturating mode, and every code decoded to ml_dtypes' value.
#include <QtTest>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "kernels/common/fp8.h"
#include "test_paths.h"

using namespace precis;

namespace {

struct Fp8Case {
  std::string name;
  std::vector<float> x;
  std::vector<uint8_t> e4m3, e5m2;
  std::vector<uint16_t> bf16;
};

struct Fp8Fixture {
  std::vector<Fp8Case> cases;
  float e4m3_values[256];
  float e5m2_values[256];
};

template <class T>
void readRaw(std::ifstream& f, T* dst, size_t n) {
  f.read(reinterpret_cast<char*>(dst), std::streamsize(n * sizeof(T)));
}

bool loadFixture(Fp8Fixture& fx) {
  std::ifstream f(test::fixturePath("fp8_reference.bin"), std::ios::binary);
  char magic[8];
  f.read(magic, 8);
  if (!f || std::memcmp(magic, "PRFP8001", 8) != 0) return false;
  uint32_t count = 0;
  readRaw(f, &count, 1);
  for (uint32_t c = 0; c < count; ++c) {
    Fp8Case k;
    uint32_t len = 0, n = 0;
    readRaw(f, &len, 1);
    k.name.resize(len);
    f.read(k.name.data(), len);
    readRaw(f, &n, 1);
    k.x.resize(n);
    k.e4m3.resize(n);
    k.e5m2.resize(n);
    k.bf16.resize(n);
    readRaw(f, k.x.data(), n);
    readRaw(f, k.e4m3.data(), n);
    readRaw(f, k.e5m2.data(), n);
    readRaw(f, k.bf16.data(), n);
    fx.cases.push_back(std::move(k));
  }
  readRaw(f, fx.e4m3_values, 256);
  readRaw(f, fx.e5m2_values, 256);
  return bool(f);
}

bool sameFloat(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) && std::signbit(a) == std::signbit(b);
  return std::memcmp(&a, &b, 4) == 0;
}

}  // namespace

class TestFp8Numerics : public QObject {
  Q_OBJECT
  Fp8Fixture fx_;

 private slots:
  void initTestCase() { QVERIFY2(loadFixture(fx_), "tests/fixtures/fp8_reference.bin missing or malformed"); }

  void encodeMatchesMlDtypes() {
    size_t checked = 0;
    for (const Fp8Case& k : fx_.cases) {
      for (size_t i = 0; i < k.x.size(); ++i) {
        const float x = k.x[i];
        const uint8_t e4 = fp32ToFp8E4M3(x, false), e5 = fp32ToFp8E5M2(x, false);
        if (e4 != k.e4m3[i] || e5 != k.e5m2[i])
          QFAIL(qPrintable(QString("case %1[%2] x=%3 (0x%4): e4m3 %5 vs ml_dtypes %6, e5m2 %7 vs %8")
                               .arg(k.name.c_str()).arg(i).arg(double(x), 0, 'g', 9)
                               .arg(floatBits(x), 8, 16, QChar('0'))
                               .arg(e4).arg(k.e4m3[i]).arg(e5).arg(k.e5m2[i])));
        ++checked;
      }
    }
    QVERIFY(checked > 2000);
  }

  void bf16MatchesMlDtypes() {
    for (const Fp8Case& k : fx_.cases)
      for (size_t i = 0; i < k.x.size(); ++i) {
        const uint16_t b = fp32ToBf16(k.x[i]);
        if (std::isnan(k.x[i])) {  // payload conventions differ; both must be a NaN of the same sign
          QVERIFY(std::isnan(bf16ToFp32(b)) && std::isnan(bf16ToFp32(k.bf16[i])));
          QCOMPARE(b & 0x8000, k.bf16[i] & 0x8000);
          continue;
        }
        if (b != k.bf16[i])
          QFAIL(qPrintable(QString("case %1[%2]: bf16 0x%3 vs ml_dtypes 0x%4").arg(k.name.c_str()).arg(i)
                               .arg(b, 4, 16).arg(k.bf16[i], 4, 16)));
      }
  }

  // OCP SAT: out of range and infinities go to the largest finite value, NaN stays NaN; in range
  // the bytes equal the non-saturating ones.
  void saturatingMode() {
    int saturated = 0;
    for (const Fp8Case& k : fx_.cases)
      for (size_t i = 0; i < k.x.size(); ++i) {
        const float x = k.x[i];
        const uint8_t sign = std::signbit(x) ? 0x80 : 0;
        const uint8_t e4 = fp32ToFp8E4M3(x, true), e5 = fp32ToFp8E5M2(x, true);
        if (std::isnan(x)) {
          QCOMPARE(e4, k.e4m3[i]);
          QCOMPARE(e5, k.e5m2[i]);
          continue;
        }
        const bool e4_over = (k.e4m3[i] & 0x7f) == 0x7f, e5_over = (k.e5m2[i] & 0x7f) == 0x7c;
        QCOMPARE(e4, e4_over ? uint8_t(sign | 0x7e) : k.e4m3[i]);
        QCOMPARE(e5, e5_over ? uint8_t(sign | 0x7b) : k.e5m2[i]);
        saturated += e4_over + e5_over;
      }
    QVERIFY(saturated > 20);
    QCOMPARE(fp8E4M3ToFp32(fp32ToFp8E4M3(1e9f, true)), kFp8E4M3Max);
    QCOMPARE(fp8E5M2ToFp32(fp32ToFp8E5M2(-INFINITY, true)), -kFp8E5M2Max);
  }

  void decodeEveryCode() {
    for (int c = 0; c < 256; ++c) {
      const float a = fp8E4M3ToFp32(uint8_t(c)), b = fp8E5M2ToFp32(uint8_t(c));
      if (!sameFloat(a, fx_.e4m3_values[c]) && !(std::isnan(a) && std::isnan(fx_.e4m3_values[c])))
        QFAIL(qPrintable(QString("e4m3 code %1: %2 vs %3").arg(c).arg(a).arg(fx_.e4m3_values[c])));
      if (!sameFloat(b, fx_.e5m2_values[c]) && !(std::isnan(b) && std::isnan(fx_.e5m2_values[c])))
        QFAIL(qPrintable(QString("e5m2 code %1: %2 vs %3").arg(c).arg(b).arg(fx_.e5m2_values[c])));
      // every finite code round-trips
      if (std::isfinite(a)) QCOMPARE(int(fp32ToFp8E4M3(a, false)) & (a == 0 ? 0x7f : 0xff), c & (a == 0 ? 0x7f : 0xff));
      if (std::isfinite(b)) QCOMPARE(int(fp32ToFp8E5M2(b, false)) & (b == 0 ? 0x7f : 0xff), c & (b == 0 ? 0x7f : 0xff));
    }
    // OCP: E4M3 has no infinities, max 448; E5M2 max 57344 with infinities.
    QCOMPARE(fp8E4M3ToFp32(0x7e), 448.0f);
    QVERIFY(std::isnan(fp8E4M3ToFp32(0x7f)));
    QCOMPARE(fp8E5M2ToFp32(0x7b), 57344.0f);
    QVERIFY(std::isinf(fp8E5M2ToFp32(0x7c)));
    QCOMPARE(fp8E4M3ToFp32(0x01), std::ldexp(1.0f, -9));
    QCOMPARE(fp8E5M2ToFp32(0x01), std::ldexp(1.0f, -16));
  }

  // The fast decode of the CUDA packed GEMV (kernels/cuda/packed_gemv.cu) equals the exact decode
  // bit for bit on every code the special mask lets through, and the mask flags exactly the NaN
  // (and e5m2 inf) codes, in every byte position of a word, whatever its neighbours are.
  void fastDecodeEveryCode() {
    for (bool e5m2 : {false, true})
      for (uint32_t c = 0; c < 256; ++c) {
        const float exact = e5m2 ? fp8E5M2ToFp32(uint8_t(c)) : fp8E4M3ToFp32(uint8_t(c));
        const bool special = !std::isfinite(exact);
        for (int pos = 0; pos < 4; ++pos)
          for (uint32_t fill :
               {0x00u, 0x3cu, 0x7bu, 0xfbu}) {  // neighbours: finite in both formats
            uint32_t word = 0;
            for (int b = 0; b < 4; ++b) word |= (b == pos ? c : fill) << (8 * b);
            QCOMPARE(fp8SpecialMask(word, e5m2) != 0, special);
          }
        if (special) continue;
        const float fast =
            e5m2 ? fp8E5M2FiniteToFp32(c | 0x5500u) : fp8E4M3FiniteToFp32(c | 0xaa00u);
        if (!sameFloat(fast, exact))
          QFAIL(qPrintable(QString("%1 code %2: fast %3 vs exact %4")
                               .arg(e5m2 ? "e5m2" : "e4m3")
                               .arg(c)
                               .arg(double(fast), 0, 'g', 9)
                               .arg(double(exact), 0, 'g', 9)));
      }
  }
};

QTEST_APPLESS_MAIN(TestFp8Numerics)
#include "test_fp8_numerics.moc"
