// Seeded, platform-independent token sampling (see token_sampler.h).
// Tested by tests/eval/test_token_sampler.cpp.
#include "engine/eval/token_sampler.h"

#include <cmath>
#include <vector>

namespace precis {

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

int32_t sampleToken(std::span<const float> logits, double temperature, SplitMix64& rng) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
  if (temperature <= 0 || logits.size() == 1) return best;

  const double max_logit = logits[best];
  std::vector<double> w(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    w[i] = std::exp((static_cast<double>(logits[i]) - max_logit) / temperature);
    sum += w[i];
  }
  const double target = rng.uniform() * sum;
  double cdf = 0;
  int32_t last_nonzero = best;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] <= 0) continue;
    cdf += w[i];
    last_nonzero = static_cast<int32_t>(i);
    if (target < cdf) return last_nonzero;
  }
  return last_nonzero;  // rounding left target == sum: the last token with non-zero weight
}

}  // namespace precis
