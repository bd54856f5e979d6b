// Tensor statistics for the Model panel: histogram counts, outliers, and the q8_0 / q4_0 grids and
// clipping on hand-built blocks (values checked by hand from ggml's quantizers).
#include <QtTest>
#include <cmath>

#include "ui/tensor_stats.h"

using namespace precis;
using namespace precis::ui;

class TestTensorStats : public QObject {
  Q_OBJECT
 private slots:
  void histogram();
  void outliers();
  void q8Grid();
  void q4GridClipsOneSide();
  void notApplicable();
  void f16HasNoBlockGrid();
};

void TestTensorStats::histogram() {
  const std::vector<float> v = {0, 1, 2, 3};
  const TensorHistogram h = computeHistogram(v, 2);
  QCOMPARE(h.elements, 4);
  QCOMPARE(h.counts, (std::vector<int64_t>{2, 2}));
  QCOMPARE(h.edges, (std::vector<double>{0, 1.5, 3}));
  QCOMPARE(h.mean, 1.5);
  QCOMPARE(h.std, std::sqrt(1.25));
  QCOMPARE(h.min, 0.0);
  QCOMPARE(h.max, 3.0);
}

void TestTensorStats::outliers() {
  std::vector<float> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = (i % 2 ? 1.f : -1.f) * 0.01f * static_cast<float>(i % 7);
  v[500] = 100.f;
  const TensorHistogram h = computeHistogram(v, 10);
  QCOMPARE(h.outliers, 1);
  int64_t total = 0;
  for (int64_t c : h.counts) total += c;
  QCOMPARE(total, 1000);
}

void TestTensorStats::q8Grid() {
  std::vector<float> v(32);
  for (int j = 0; j < 32; ++j) v[j] = (j - 16) / 16.f;  // amax 1.0 at j = 0
  const QuantGrid g = computeQuantGrid(v, 32, DType::Q8_0);
  QVERIFY(g.applicable && g.block_format);
  QCOMPARE(g.grid.size(), size_t(255));  // codes -127..127
  QVERIFY(std::abs(g.clip_hi - 1.0) < 1e-3);   // 127 * fp16(1/127)
  QCOMPARE(g.clip_lo, -g.clip_hi);
  QCOMPARE(g.clipped, 0);
  QVERIFY(g.max_abs_error <= 0.5 * g.clip_hi / 127 + 1e-6);
  QCOMPARE(g.range_min, g.range_max);  // one block
}

void TestTensorStats::q4GridClipsOneSide() {
  // ggml q4_0: max = the signed value of largest |x| (first on ties) = +1.0, d = max / -8 = -0.125,
  // values (q - 8) * d for q in 0..15: from -0.875 to +1.0. Below -0.875 - 0.0625 is clipped.
  std::vector<float> v(32, 0.f);
  v[0] = 1.0f;
  v[1] = -0.99f;  // clipped
  v[2] = -0.95f;  // clipped
  v[3] = -0.9f;   // rounds to -0.875
  const QuantGrid g = computeQuantGrid(v, 32, DType::Q4_0);
  QVERIFY(g.applicable);
  QCOMPARE(g.grid.size(), size_t(16));
  QCOMPARE(g.clip_lo, -0.875);
  QCOMPARE(g.clip_hi, 1.0);
  QCOMPARE(g.clipped, 2);
  QCOMPARE(g.range_max, 1.0);
  QVERIFY(std::abs(g.max_abs_error - (0.99 - 0.875)) < 1e-6);
}

void TestTensorStats::notApplicable() {
  std::vector<float> v(2 * 40, 0.5f);
  const QuantGrid g = computeQuantGrid(v, 40, DType::Q8_0);
  QVERIFY(!g.applicable);
  QVERIFY(g.note.find("not a multiple") != std::string::npos);
}

void TestTensorStats::f16HasNoBlockGrid() {
  std::vector<float> v = {1.0f, 1.0f + 1e-4f, -3.14159f, 65504.f};
  const QuantGrid g = computeQuantGrid(v, 4, DType::F16);
  QVERIFY(g.applicable);
  QVERIFY(!g.block_format);
  QVERIFY(g.grid.empty());
  QVERIFY(g.max_abs_error > 0 && g.max_abs_error < 1e-3);
}

QTEST_MAIN(TestTensorStats)
#include "test_tensor_stats.moc"
