// Tests engine/eval/token_sampler: SplitMix64 against its published first output, greedy choice,
// fixed-seed reproducibility and sampled frequencies (seeds printed on failure).
#include <QtTest>

#include <cmath>
#include <vector>

#include "engine/eval/token_sampler.h"

using namespace precis;

class TestTokenSampler : public QObject {
  Q_OBJECT
 private slots:
  // SplitMix64 from state 0: the reference implementation's first output is 0xe220a8397b1dcdaf.
  void splitMixReference() {
    SplitMix64 g(0);
    QCOMPARE(g.next(), uint64_t(0xe220a8397b1dcdafull));
    SplitMix64 h(7);
    for (int i = 0; i < 1000; ++i) {
      const double u = h.uniform();
      QVERIFY(u >= 0.0 && u < 1.0);
    }
  }

  void greedyPicksFirstMaximum() {
    SplitMix64 g(1);
    const std::vector<float> logits{0.5f, 2.f, -1.f, 2.f};
    QCOMPARE(sampleToken(logits, 0.0, g), 1);
    QCOMPARE(sampleToken(logits, -1.0, g), 1);
  }

  void sameSeedSameTokens() {
    const uint64_t seed = 42;
    const std::vector<float> logits{0.1f, 0.3f, -0.2f, 1.0f, 0.0f};
    SplitMix64 a(seed), b(seed), c(seed + 1);
    std::vector<int32_t> x, y, z;
    for (int i = 0; i < 64; ++i) {
      x.push_back(sampleToken(logits, 1.0, a));
      y.push_back(sampleToken(logits, 1.0, b));
      z.push_back(sampleToken(logits, 1.0, c));
    }
    if (x != y) qWarning("seed %llu", static_cast<unsigned long long>(seed));
    QVERIFY(x == y);
    QVERIFY(x != z);
  }

  // logits (0, ln 3) at temperature 1 -> p = (1/4, 3/4); at temperature 2 -> weights (1, sqrt 3),
  // p(1) = sqrt3 / (1 + sqrt3) = 0.634. 40000 draws: standard error ~0.0024, bound 0.012.
  void frequencies() {
    const uint64_t seed = 1234;
    const std::vector<float> logits{0.f, static_cast<float>(std::log(3.0))};
    for (const auto& [temp, expected] : std::vector<std::pair<double, double>>{
             {1.0, 0.75}, {2.0, std::sqrt(3.0) / (1.0 + std::sqrt(3.0))}}) {
      SplitMix64 g(seed);
      int ones = 0;
      const int n = 40000;
      for (int i = 0; i < n; ++i) ones += sampleToken(logits, temp, g);
      const double f = static_cast<double>(ones) / n;
      if (std::fabs(f - expected) > 0.012)
        qWarning("seed %llu temperature %g: frequency %g expected %g",
                 static_cast<unsigned long long>(seed), temp, f, expected);
      QVERIFY(std::fabs(f - expected) <= 0.012);
    }
  }
};

QTEST_GUILESS_MAIN(TestTokenSampler)
#include "test_token_sampler.moc"
