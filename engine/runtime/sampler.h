// Token sampling and the generation loop. Temperature 0 is greedy (argmax, lowest id on ties);
// otherwise softmax(logits / T) sampled by inverse CDF with a seeded, platform-independent PRNG.
// Tested by tests/runtime/test_runtime.cpp (stories260K greedy ids; same seed, same tokens).
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/core/result.h"
#include "engine/runtime/llama_runtime.h"

namespace precis {

// splitmix64: small, fast, identical on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t state_;
};

int32_t argmax(std::span<const float> logits);
int32_t sampleToken(std::span<const float> logits, float temperature, Rng& rng);

struct GenerateOptions {
  int max_new_tokens = 16;
  float temperature = 0.f;
  uint64_t seed = 0;
  int32_t stop_token = -1;  // stop after producing this token (e.g. EOS); -1 = never
  int slot = 0;
};

// Runs the prompt as one batch, then decodes one token per step. on_token returns false to stop.
// Returns the new tokens (prompt excluded).
Result<std::vector<int32_t>> generate(LlamaRuntime& runtime, std::span<const int32_t> prompt,
                                      const GenerateOptions& options,
                                      const std::function<bool(int32_t)>& on_token = {});

}  // namespace precis
