// Tests engine/eval/kl_metrics: per-token NLL/KL/delta-p/argmax on hand-computed 2- and 3-token
// vocabularies, llama.cpp's mean/uncertainty, median and percentile definitions, and the
// accumulator's statistics. Random cases use seed kSeed (printed on failure).
#include <QtTest>

#include <cmath>
#include <random>
#include <vector>

#include "engine/eval/kl_metrics.h"

using namespace precis;

namespace {
constexpr uint32_t kSeed = 20240611;
constexpr double kTol = 1e-12;
}  // namespace

class TestKlMetrics : public QObject {
  Q_OBJECT
 private slots:
  // ref logits (0, 0) -> p_ref = (1/2, 1/2); test logits (ln 3, 0) -> p_test = (3/4, 1/4); token 0.
  // nll_ref = ln 2; nll_test = ln(4/3); KL = 1/2 ln((1/2)/(3/4)) + 1/2 ln((1/2)/(1/4)) = 1/2 ln(4/3);
  // delta-p = 3/4 - 1/2 = 1/4; argmax: ref ties -> first (0), test 0 -> same top.
  void twoTokenCase() {
    const std::vector<float> ref{0.f, 0.f};
    const std::vector<float> test{static_cast<float>(std::log(3.0)), 0.f};
    const TokenComparison c = compareLogits(ref, test, 0);
    const double ln3f = static_cast<double>(static_cast<float>(std::log(3.0)));  // the float we stored
    const double p_test = std::exp(ln3f) / (std::exp(ln3f) + 1.0);
    QVERIFY(std::fabs(c.nll_ref - std::log(2.0)) < kTol);
    QVERIFY(std::fabs(c.nll_test - (-std::log(p_test))) < kTol);
    QVERIFY(std::fabs(c.nll_test - std::log(4.0 / 3.0)) < 1e-7);
    QVERIFY(std::fabs(c.kl - 0.5 * std::log(4.0 / 3.0)) < 1e-7);
    QVERIFY(std::fabs(c.delta_p - 0.25) < 1e-7);
    QCOMPARE(c.top_ref, 0);
    QCOMPARE(c.top_test, 0);
    QVERIFY(c.same_top);
  }

  // ref logits (0, ln 2, 0) -> p_ref = (1/4, 1/2, 1/4); test (0, 0, 0) -> (1/3, 1/3, 1/3); token 2.
  // KL = 2 * 1/4 ln((1/4)/(1/3)) + 1/2 ln((1/2)/(1/3)) = 1/2 ln(3/4) + 1/2 ln(3/2) = 1/2 ln(9/8);
  // nll_ref = ln 4; nll_test = ln 3; delta-p = 1/3 - 1/4 = 1/12; argmax ref 1, test 0 -> differ.
  void threeTokenCase() {
    const std::vector<float> ref{0.f, static_cast<float>(std::log(2.0)), 0.f};
    const std::vector<float> test{0.f, 0.f, 0.f};
    const TokenComparison c = compareLogits(ref, test, 2);
    QVERIFY(std::fabs(c.kl - 0.5 * std::log(9.0 / 8.0)) < 1e-7);
    QVERIFY(std::fabs(c.nll_ref - std::log(4.0)) < 1e-7);
    QVERIFY(std::fabs(c.nll_test - std::log(3.0)) < kTol);
    QVERIFY(std::fabs(c.delta_p - 1.0 / 12.0) < 1e-7);
    QCOMPARE(c.top_ref, 1);
    QCOMPARE(c.top_test, 0);
    QVERIFY(!c.same_top);
  }

  // Max subtraction: logits shifted by +1000 (exp would overflow without it) give the same values.
  void shiftInvariance() {
    const std::vector<float> ref{1000.f, 1000.f + static_cast<float>(std::log(2.0)), 1000.f};
    const std::vector<float> test{1000.f, 1000.f, 1000.f};
    const TokenComparison c = compareLogits(ref, test, 2);
    QVERIFY(std::isfinite(c.kl));
    QVERIFY(std::fabs(c.kl - 0.5 * std::log(9.0 / 8.0)) < 1e-4);  // float spacing at 1000 is 6e-5
    QVERIFY(std::fabs(c.nll_test - std::log(3.0)) < kTol);
  }

  void identicalLogitsGiveZeroKl() {
    std::mt19937 rng(kSeed);
    std::normal_distribution<float> nd(0.f, 3.f);
    KlAccumulator acc;
    const int vocab = 257;
    for (int t = 0; t < 100; ++t) {
      std::vector<float> logits(vocab);
      for (float& v : logits) v = nd(rng);
      const int32_t token = static_cast<int32_t>(rng() % vocab);
      const TokenComparison c = compareLogits(logits, logits, token);
      if (c.kl != 0.0 || !c.same_top || c.delta_p != 0.0) qWarning("seed %u token %d", kSeed, t);
      QCOMPARE(c.kl, 0.0);
      QVERIFY(c.same_top);
      QCOMPARE(c.delta_p, 0.0);
      acc.add(c);
    }
    const KlStatistics s = acc.statistics();
    QCOMPARE(s.count, size_t(100));
    QCOMPARE(s.kl.mean, 0.0);
    QCOMPARE(s.kl_max, 0.0);
    QCOMPARE(s.kl_p999, 0.0);
    QCOMPARE(s.same_top, 1.0);
    QCOMPARE(s.perplexity, s.reference_perplexity);
    QCOMPARE(s.delta_p_rms, 0.0);
    QVERIFY(s.perplexity > 1.0);
  }

  // KL >= 0 for random distinct logits (Gibbs' inequality), and KL(P||P') != KL(P'||P) in general.
  void klIsNonNegativeAndAsymmetric() {
    std::mt19937 rng(kSeed + 1);
    std::normal_distribution<float> nd(0.f, 2.f);
    for (int t = 0; t < 50; ++t) {
      std::vector<float> a(64), b(64);
      for (float& v : a) v = nd(rng);
      for (float& v : b) v = nd(rng);
      const double ab = compareLogits(a, b, 0).kl;
      const double ba = compareLogits(b, a, 0).kl;
      if (!(ab > 0 && ba > 0)) qWarning("seed %u case %d: KL %g %g", kSeed + 1, t, ab, ba);
      QVERIFY(ab > 0);
      QVERIFY(ba > 0);
      QVERIFY(std::fabs(ab - ba) > 1e-9);
    }
  }

  // llama.cpp's mean_and_uncertainty: 0..10 (11 values): mean 5, E[x^2] = 385/11 = 35,
  // variance 35 - 25 = 10, uncertainty sqrt(10 / 10) = 1. With <= 10 values the uncertainty is 0.
  void meanUncertainty() {
    double sum = 0, sum2 = 0;
    for (int i = 0; i <= 10; ++i) { sum += i; sum2 += i * i; }
    const MeanWithUncertainty m = meanAndUncertainty(sum, sum2, 11);
    QVERIFY(std::fabs(m.mean - 5.0) < kTol);
    QVERIFY(std::fabs(m.uncertainty - 1.0) < kTol);
    QCOMPARE(meanAndUncertainty(45, 285, 10).uncertainty, 0.0);
    QCOMPARE(meanAndUncertainty(0, 0, 0).mean, 0.0);
  }

  // Median: odd count -> middle, even -> mean of the two middle values.
  // Percentile at f: linear interpolation at f*(n-1): (1,2,3,4,5) at 0.99 -> index 3.96 -> 4.96.
  void medianAndPercentile() {
    const std::vector<double> odd{1, 2, 3, 4, 5};
    const std::vector<double> even{1, 2, 3, 4};
    QCOMPARE(medianOfSorted(odd), 3.0);
    QCOMPARE(medianOfSorted(even), 2.5);
    QVERIFY(std::fabs(percentileOfSorted(odd, 0.99) - 4.96) < kTol);
    QVERIFY(std::fabs(percentileOfSorted(odd, 0.999) - 4.996) < kTol);
    QVERIFY(std::fabs(percentileOfSorted(odd, 0.5) - 3.0) < kTol);
    QCOMPARE(percentileOfSorted(odd, 0.0), 1.0);
    QCOMPARE(percentileOfSorted(odd, 1.0), 5.0);
    QCOMPARE(percentileOfSorted(std::vector<double>{7}, 0.99), 7.0);
  }

  // The two hand cases together (KL values k1 = 1/2 ln(4/3), k2 = 1/2 ln(9/8)):
  // PPL(test) = exp((ln(4/3) + ln 3)/2) = exp(ln 4 / 2) = 2; PPL(ref) = exp((ln 2 + ln 4)/2) = 2^1.5;
  // mean KL = (k1 + k2)/2 = 1/4 ln(3/2) = median (two values); max = k1;
  // p99 = 0.01 k2 + 0.99 k1; same top = 1/2; mean delta-p = (1/4 + 1/12)/2 = 1/6;
  // RMS delta-p = sqrt((1/16 + 1/144)/2) = sqrt(5)/12.
  void accumulatorOnHandCases() {
    const std::vector<float> r1{0.f, 0.f}, t1{static_cast<float>(std::log(3.0)), 0.f};
    const std::vector<float> r2{0.f, static_cast<float>(std::log(2.0)), 0.f}, t2{0.f, 0.f, 0.f};
    KlAccumulator a, b;
    a.add(compareLogits(r1, t1, 0));
    b.add(compareLogits(r2, t2, 2));
    a.merge(b);
    const KlStatistics s = a.statistics();
    const double k1 = 0.5 * std::log(4.0 / 3.0), k2 = 0.5 * std::log(9.0 / 8.0);
    QCOMPARE(s.count, size_t(2));
    QVERIFY(std::fabs(s.perplexity - 2.0) < 1e-6);
    QVERIFY(std::fabs(s.reference_perplexity - std::pow(2.0, 1.5)) < 1e-6);
    QVERIFY(std::fabs(s.log_ppl_ratio - std::log(2.0 / std::pow(2.0, 1.5))) < 1e-6);
    QVERIFY(std::fabs(s.kl.mean - 0.25 * std::log(1.5)) < 1e-7);
    QVERIFY(std::fabs(s.kl_median - 0.25 * std::log(1.5)) < 1e-7);
    QVERIFY(std::fabs(s.kl_max - k1) < 1e-7);
    QVERIFY(std::fabs(s.kl_min - k2) < 1e-7);
    QVERIFY(std::fabs(s.kl_p99 - (0.01 * k2 + 0.99 * k1)) < 1e-7);
    QCOMPARE(s.kl.uncertainty, 0.0);  // llama.cpp prints 0 for <= 10 values
    QCOMPARE(s.same_top, 0.5);
    QVERIFY(std::fabs(s.delta_p.mean - 1.0 / 6.0) < 1e-7);
    QVERIFY(std::fabs(s.delta_p_rms - std::sqrt(5.0) / 12.0) < 1e-7);
    QVERIFY(std::fabs(s.delta_p_max - 0.25) < 1e-7);
  }

  void emptyAccumulator() {
    const KlStatistics s = KlAccumulator{}.statistics();
    QCOMPARE(s.count, size_t(0));
    QCOMPARE(s.perplexity, 0.0);
  }
};

QTEST_GUILESS_MAIN(TestKlMetrics)
#include "test_kl_metrics.moc"
