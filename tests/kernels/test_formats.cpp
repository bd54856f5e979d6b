// Number formats: our fp16/bf16/q8_0/q4_0 encoders must give exactly the bytes of the `gguf` package
// (tests/fixtures/formats_reference.bin, made by tests/fixtures/make_formats_fixture.py with a fixed
// seed) and our decoders exactly its dequantized floats. Also pins block sizes and bits per weight,
// and checks the single-element getters the CUDA kernels use against the block decoders.
#include <QtTest>

#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/dtype.h"
#include "kernels/common/numerics.h"
#include "test_paths.h"

using namespace precis;

namespace {

struct FormatCase {
  std::string name;
  DType dtype;
  std::vector<float> input;
  std::vector<uint8_t> bytes;
  std::vector<float> dequant;
};

bool readFixture(const std::string& path, std::vector<FormatCase>* out, std::string* err) {
  std::ifstream f(path, std::ios::binary);
  if (!f) { *err = path + ": cannot open (run tests/fixtures/make_formats_fixture.py)"; return false; }
  char magic[8];
  f.read(magic, 8);
  if (!f || std::memcmp(magic, "PRFMT001", 8) != 0) { *err = path + ": bad magic"; return false; }
  auto u32 = [&f]() { uint32_t v = 0; f.read(reinterpret_cast<char*>(&v), 4); return v; };
  const uint32_t count = u32();
  for (uint32_t c = 0; c < count && f; ++c) {
    FormatCase fc;
    fc.name.resize(u32());
    f.read(fc.name.data(), std::streamsize(fc.name.size()));
    fc.dtype = DType(u32());
    const uint32_t n = u32();
    fc.input.resize(n);
    f.read(reinterpret_cast<char*>(fc.input.data()), std::streamsize(n) * 4);
    fc.bytes.resize(u32());
    f.read(reinterpret_cast<char*>(fc.bytes.data()), std::streamsize(fc.bytes.size()));
    fc.dequant.resize(n);
    f.read(reinterpret_cast<char*>(fc.dequant.data()), std::streamsize(n) * 4);
    out->push_back(std::move(fc));
  }
  if (!f) { *err = path + ": truncated"; return false; }
  return true;
}

bool sameFloat(float a, float b) {
  if (a != a || b != b) return a != a && b != b;  // both NaN (payload of inf*0 is platform-defined)
  return floatBits(a) == floatBits(b);
}

}  // namespace

class TestFormats : public QObject {
  Q_OBJECT
 private slots:
  void blockLayouts() {
    QCOMPARE(dtypeTraits(DType::Q8_0).block_size, 32);
    QCOMPARE(dtypeTraits(DType::Q4_0).block_size, 32);
    QCOMPARE(dtypeTraits(DType::Q8_0).block_bytes, size_t(34));
    QCOMPARE(dtypeTraits(DType::Q4_0).block_bytes, size_t(18));
    QCOMPARE(bitsPerWeight(DType::Q4_0), 4.5);
    QCOMPARE(bitsPerWeight(DType::Q8_0), 8.5);
    QCOMPARE(bitsPerWeight(DType::F16), 16.0);
    QCOMPARE(bitsPerWeight(DType::BF16), 16.0);
    QCOMPARE(bitsPerWeight(DType::F32), 32.0);
    QCOMPARE(rowBytes(DType::Q4_0, 4096), size_t(128 * 18));
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
      QVERIFY2(dtypeTraits(t).to_float != nullptr, dtypeName(t));
      QVERIFY2(dtypeTraits(t).from_float != nullptr, dtypeName(t));
    }
    QVERIFY(dtypeTraits(DType::I32).to_float == nullptr);  // ids, not weights
    DType t = DType::F32;
    QVERIFY(parseDType("Q4_0", &t) && t == DType::Q4_0);
    QVERIFY(parseDType("fp16", &t) && t == DType::F16);
    QVERIFY(!parseDType("q4_k", &t));
  }

  void matchesGgufPackage() {
    std::vector<FormatCase> cases;
    std::string err;
    QVERIFY2(readFixture(test::fixturePath("formats_reference.bin"), &cases, &err), err.c_str());
    QVERIFY(cases.size() >= 40);
    for (const FormatCase& c : cases) {
      const DTypeTraits& tr = dtypeTraits(c.dtype);
      const int64_t n = int64_t(c.input.size());
      QCOMPARE(c.bytes.size(), rowBytes(c.dtype, n));
      std::vector<uint8_t> enc(c.bytes.size());
      tr.from_float(c.input.data(), enc.data(), n);
      for (size_t i = 0; i < enc.size(); ++i)
        if (enc[i] != c.bytes[i])
          QFAIL(qPrintable(QStringLiteral("%1: byte %2 is %3, gguf gives %4 (block %5)")
                               .arg(c.name.c_str()).arg(i).arg(enc[i]).arg(c.bytes[i])
                               .arg(i / tr.block_bytes)));
      std::vector<float> dec(static_cast<size_t>(n));
      tr.to_float(c.bytes.data(), dec.data(), n);
      for (int64_t i = 0; i < n; ++i)
        if (!sameFloat(dec[size_t(i)], c.dequant[size_t(i)]))
          QFAIL(qPrintable(QStringLiteral("%1: element %2 decodes to %3, gguf gives %4")
                               .arg(c.name.c_str()).arg(i).arg(dec[size_t(i)], 0, 'g', 9)
                               .arg(c.dequant[size_t(i)], 0, 'g', 9)));
    }
  }

  void elementGettersMatchBlocks() {
    const uint32_t seed = 7;
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.f, 2.f);
    float x[32], y8[32], y4[32];
    for (int rep = 0; rep < 200; ++rep) {
      for (float& v : x) v = nd(rng);
      BlockQ8_0 b8;
      BlockQ4_0 b4;
      quantizeBlockQ8_0(x, &b8);
      quantizeBlockQ4_0(x, &b4);
      dequantizeBlockQ8_0(&b8, y8);
      dequantizeBlockQ4_0(&b4, y4);
      for (int j = 0; j < 32; ++j) {
        QVERIFY2(q8_0Value(b8, j) == y8[j], qPrintable(QStringLiteral("seed %1 rep %2").arg(seed).arg(rep)));
        QVERIFY2(q4_0Value(b4, j) == y4[j], qPrintable(QStringLiteral("seed %1 rep %2").arg(seed).arg(rep)));
      }
    }
  }

  void fp16RoundTripsEveryValue() {
    for (uint32_t h = 0; h < 65536; ++h) {
      const bool nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu);
      const uint16_t back = fp32ToFp16(fp16ToFp32(uint16_t(h)));
      if (nan) QVERIFY(fp16ToFp32(uint16_t(h)) != fp16ToFp32(uint16_t(h)));
      else if (back != h) QFAIL(qPrintable(QStringLiteral("fp16 0x%1 round-trips to 0x%2").arg(h, 0, 16).arg(back, 0, 16)));
    }
    for (uint32_t b = 0; b < 65536; b += 1) {
      const bool nan = (b & 0x7f80u) == 0x7f80u && (b & 0x7fu);
      if (!nan) QCOMPARE(uint32_t(fp32ToBf16(bf16ToFp32(uint16_t(b)))), b);
    }
  }
};

QTEST_APPLESS_MAIN(TestFormats)
#include "test_formats.moc"
