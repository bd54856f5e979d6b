// A seeded token sampler that gives the same ids on every platform: its own 64-bit generator
// (SplitMix64, no std:: distributions, whose outputs differ between standard libraries), a
// softmax in double and inverse-CDF selection. Temperature 0 is greedy (first maximum on ties).
// Used by `--sample N --seed S` in eval and by `precis-cli generate`.
// Tested by tests/eval/test_token_sampler.cpp (fixed-seed ids, frequencies, greedy).
#pragma once
#include <cstdint>
#include <span>

namespace precis {

// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit state, one add and three mix steps per draw.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform in [0, 1) from the top 53 bits.
  double uniform();

 private:
  uint64_t state_;
};

// Picks a token from `logits` (vocab): greedy when temperature <= 0, otherwise from
// softmax(logits / temperature) by inverse CDF with one uniform draw from `rng`.
int32_t sampleToken(std::span<const float> logits, double temperature, SplitMix64& rng);

}  // namespace precis
