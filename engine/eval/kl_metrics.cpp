// Per-token logit comparison and llama.cpp-compatible KL/perplexity statistics (see kl_metrics.h
// for the definitions and their source). Tested by tests/eval/test_kl_metrics.cpp.
#include "engine/eval/kl_metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace precis {

namespace {

int32_t argmaxFirst(std::span<const float> v) {
  int32_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[best]) best = static_cast<int32_t>(i);
  return best;
}

}  // namespace

void logSoftmax(std::span<const float> logits, std::span<double> out) {
  assert(out.size() == logits.size() && !logits.empty());
  double max_logit = logits[0];
  for (float v : logits) max_logit = std::max(max_logit, static_cast<double>(v));
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - max_logit);
  const double log_sum = std::log(sum);
  for (size_t i = 0; i < logits.size(); ++i)
    out[i] = static_cast<double>(logits[i]) - max_logit - log_sum;
}

TokenComparison compareLogits(std::span<const float> ref_logits, std::span<const float> test_logits,
                              int32_t token) {
  assert(ref_logits.size() == test_logits.size());
  assert(token >= 0 && static_cast<size_t>(token) < ref_logits.size());
  const size_t n = ref_logits.size();
  std::vector<double> lr(n), lt(n);
  logSoftmax(ref_logits, lr);
  logSoftmax(test_logits, lt);

  TokenComparison c;
  double kl = 0;
  for (size_t i = 0; i < n; ++i) {
    const double p = std::exp(lr[i]);
    // p == 0 (underflow) contributes nothing; identical inputs give exactly 0 per term.
    if (p > 0) kl += p * (lr[i] - lt[i]);
  }
  c.kl = kl;
  c.nll_ref = -lr[token];
  c.nll_test = -lt[token];
  c.p_ref = std::exp(lr[token]);
  c.p_test = std::exp(lt[token]);
  c.delta_p = c.p_test - c.p_ref;
  c.top_ref = argmaxFirst(ref_logits);
  c.top_test = argmaxFirst(test_logits);
  c.same_top = c.top_ref == c.top_test;
  return c;
}

MeanWithUncertainty meanAndUncertainty(double sum, double sum2, size_t count) {
  if (count < 1) return {};
  const double n = static_cast<double>(count);
  const double mean = sum / n;
  const double var = sum2 / n - mean * mean;
  const double unc = var > 0 && count > 10 ? std::sqrt(var / (n - 1)) : 0.0;
  return {mean, unc};
}

double medianOfSorted(std::span<const double> sorted) {
  assert(!sorted.empty());
  const size_t n = sorted.size();
  return n % 2 == 0 ? 0.5 * (sorted[n / 2] + sorted[n / 2 - 1]) : sorted[n / 2];
}

double percentileOfSorted(std::span<const double> sorted, double fraction) {
  assert(!sorted.empty());
  if (fraction <= 0) return sorted.front();
  if (fraction >= 1) return sorted.back();
  double p = fraction * static_cast<double>(sorted.size() - 1);
  const size_t ip = static_cast<size_t>(p);
  p -= static_cast<double>(ip);
  return (1 - p) * sorted[ip] + p * sorted[std::min(ip + 1, sorted.size() - 1)];
}

void KlAccumulator::add(const TokenComparison& c) {
  ++count_;
  if (c.same_top) ++same_top_;
  sum_nll_ += c.nll_test;
  sum_nll2_ += c.nll_test * c.nll_test;
  sum_nll_ref_ += c.nll_ref;
  sum_nll_ref2_ += c.nll_ref * c.nll_ref;
  sum_kl_ += c.kl;
  sum_kl2_ += c.kl * c.kl;
  const double d2 = c.delta_p * c.delta_p;
  sum_dp_ += c.delta_p;
  sum_dp2_ += d2;
  sum_dp4_ += d2 * d2;
  kl_values_.push_back(c.kl);
  dp_values_.push_back(c.delta_p);
}

void KlAccumulator::merge(const KlAccumulator& o) {
  count_ += o.count_;
  same_top_ += o.same_top_;
  sum_nll_ += o.sum_nll_;
  sum_nll2_ += o.sum_nll2_;
  sum_nll_ref_ += o.sum_nll_ref_;
  sum_nll_ref2_ += o.sum_nll_ref2_;
  sum_kl_ += o.sum_kl_;
  sum_kl2_ += o.sum_kl2_;
  sum_dp_ += o.sum_dp_;
  sum_dp2_ += o.sum_dp2_;
  sum_dp4_ += o.sum_dp4_;
  kl_values_.insert(kl_values_.end(), o.kl_values_.begin(), o.kl_values_.end());
  dp_values_.insert(dp_values_.end(), o.dp_values_.begin(), o.dp_values_.end());
}

KlStatistics KlAccumulator::statistics() const {
  KlStatistics s;
  s.count = count_;
  if (count_ == 0) return s;
  const double n = static_cast<double>(count_);

  const MeanWithUncertainty nll = meanAndUncertainty(sum_nll_, sum_nll2_, count_);
  s.perplexity = std::exp(nll.mean);
  s.perplexity_uncertainty = s.perplexity * nll.uncertainty;
  const MeanWithUncertainty nll_ref = meanAndUncertainty(sum_nll_ref_, sum_nll_ref2_, count_);
  s.reference_perplexity = std::exp(nll_ref.mean);
  s.reference_perplexity_uncertainty = s.reference_perplexity * nll_ref.uncertainty;
  s.log_ppl_ratio = nll.mean - nll_ref.mean;

  s.kl = meanAndUncertainty(sum_kl_, sum_kl2_, count_);
  std::vector<double> kl = kl_values_;
  std::sort(kl.begin(), kl.end());
  s.kl_median = medianOfSorted(kl);
  s.kl_p90 = percentileOfSorted(kl, 0.90);
  s.kl_p95 = percentileOfSorted(kl, 0.95);
  s.kl_p99 = percentileOfSorted(kl, 0.99);
  s.kl_p999 = percentileOfSorted(kl, 0.999);
  s.kl_min = kl.front();
  s.kl_max = kl.back();

  s.same_top = static_cast<double>(same_top_) / n;
  s.same_top_uncertainty = count_ > 1 ? std::sqrt(s.same_top * (1 - s.same_top) / (n - 1)) : 0.0;

  s.delta_p = meanAndUncertainty(sum_dp_, sum_dp2_, count_);
  const MeanWithUncertainty mse = meanAndUncertainty(sum_dp2_, sum_dp4_, count_);
  s.delta_p_rms = std::sqrt(mse.mean);
  s.delta_p_rms_uncertainty = s.delta_p_rms > 0 ? 0.5 / s.delta_p_rms * mse.uncertainty : 0.0;
  std::vector<double> dp = dp_values_;
  std::sort(dp.begin(), dp.end());
  s.delta_p_median = medianOfSorted(dp);
  s.delta_p_min = dp.front();
  s.delta_p_max = dp.back();
  return s;
}

}  // namespace precis
