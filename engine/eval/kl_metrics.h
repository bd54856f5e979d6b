// Per-token comparison of a reference and a test model's logits, and the accumulator that turns
// many tokens into llama.cpp's `llama-perplexity --kl-divergence` statistics (perplexity of both,
// KL divergence mean/median/percentiles/max, "same top p", delta-p mean and RMS).
// Pure functions, no runtime. Tested by tests/eval/test_kl_metrics.cpp on hand-computed cases.
//
// Definitions followed (llama.cpp tools/perplexity/perplexity.cpp, function kl_divergence() and
// its helpers log_softmax(), mean_and_uncertainty(), the `percentile` lambda and the median):
//   NLL        = -log softmax(logits)[token]
//   KL         = sum_i p_ref(i) * (log p_ref(i) - log p_test(i))           (natural log, nats)
//   delta-p    = p_test(token) - p_ref(token)
//   same top   = argmax(test) == argmax(ref), the first maximum on ties
//   mean +- u  = sum/n  +-  sqrt((sum2/n - mean^2) / (n-1))  (u = 0 when n <= 10 or variance <= 0)
//   median     = middle value, or the mean of the two middle values for an even count
//   percentile = linear interpolation at fraction*(n-1) in the sorted values
// Differences from llama.cpp, both making our numbers more exact: llama.cpp stores the reference
// log-probabilities as 16-bit values and skips vocabulary entries with log p_ref <= -16 in the KL
// sum; we keep every entry in double precision.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace precis {

// Everything measured at one scored position.
struct TokenComparison {
  double nll_ref = 0;    // -log p_ref(token)
  double nll_test = 0;   // -log p_test(token)
  double kl = 0;         // KL(P_ref || P_test), nats
  double p_ref = 0;      // p_ref(token)
  double p_test = 0;     // p_test(token)
  double delta_p = 0;    // p_test(token) - p_ref(token)
  int32_t top_ref = -1;  // argmax of the reference logits (first on ties)
  int32_t top_test = -1; // argmax of the test logits (first on ties)
  bool same_top = false; // top_ref == top_test
};

// Log-softmax in double with max subtraction.  logits (vocab) -> out (vocab).
void logSoftmax(std::span<const float> logits, std::span<double> out);

// Compares one position. ref_logits, test_logits: (vocab) each, same size; `token` in [0, vocab):
// the true next token. Finite logits are expected (a NaN propagates into the results).
TokenComparison compareLogits(std::span<const float> ref_logits, std::span<const float> test_logits,
                              int32_t token);

struct MeanWithUncertainty {
  double mean = 0;
  double uncertainty = 0;  // llama.cpp's standard error of the mean (0 for <= 10 values)
};

struct KlStatistics {
  size_t count = 0;                  // tokens scored
  double perplexity = 0;             // exp(mean NLL) of the test model
  double perplexity_uncertainty = 0; // perplexity * uncertainty of mean NLL (llama.cpp)
  double reference_perplexity = 0;   // exp(mean NLL) of the reference model
  double reference_perplexity_uncertainty = 0;
  double log_ppl_ratio = 0;          // mean ln(PPL(test)/PPL(ref))
  MeanWithUncertainty kl;            // KL divergence, nats
  double kl_median = 0;
  double kl_p90 = 0;
  double kl_p95 = 0;
  double kl_p99 = 0;
  double kl_p999 = 0;
  double kl_min = 0;
  double kl_max = 0;
  double same_top = 0;               // fraction of positions whose argmaxes agree, in [0, 1]
  double same_top_uncertainty = 0;   // sqrt(f (1-f) / (n-1))
  MeanWithUncertainty delta_p;       // mean p_test(token) - p_ref(token)
  double delta_p_rms = 0;            // sqrt(mean delta_p^2)
  double delta_p_rms_uncertainty = 0;
  double delta_p_median = 0;
  double delta_p_min = 0;
  double delta_p_max = 0;
};

// llama.cpp's helpers, exposed for tests.
MeanWithUncertainty meanAndUncertainty(double sum, double sum2, size_t count);
// `sorted` ascending and non-empty.
double medianOfSorted(std::span<const double> sorted);
double percentileOfSorted(std::span<const double> sorted, double fraction);

// Collects TokenComparisons (sums in double, plus the per-token KL and delta-p values for the
// order statistics). Cheap to copy; merge() combines accumulators from several workers.
class KlAccumulator {
 public:
  void add(const TokenComparison& c);
  void merge(const KlAccumulator& other);
  size_t count() const { return count_; }
  // Statistics of everything added so far; all zero when nothing was added.
  KlStatistics statistics() const;

 private:
  size_t count_ = 0;
  size_t same_top_ = 0;
  double sum_nll_ = 0, sum_nll2_ = 0;
  double sum_nll_ref_ = 0, sum_nll_ref2_ = 0;
  double sum_kl_ = 0, sum_kl2_ = 0;
  double sum_dp_ = 0, sum_dp2_ = 0, sum_dp4_ = 0;
  std::vector<double> kl_values_;
  std::vector<double> dp_values_;
};

}  // namespace precis
