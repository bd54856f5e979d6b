// Sampling training sequences from a teacher (see teacher_samples.h).
#include "engine/train/teacher_samples.h"

#include <algorithm>
#include <span>
#include <string>

#include "engine/runtime/sampler.h"

namespace precis {

Result<std::vector<std::vector<int32_t>>> sampleFromTeacher(LlamaRuntime& rt, int32_t bos, int count, int length,
                                                            uint64_t seed, const std::function<bool(double)>& progress) {
  const int V = rt.config().vocab_size;
  const int max_ctx = rt.options().max_ctx > 0 ? rt.options().max_ctx : rt.config().context_length;
  if (count < 1) return makeError("--sample: the number of sequences must be at least 1");
  if (length < 2) return makeError("--sample: sequences need at least 2 tokens");
  if (length > max_ctx)
    return makeError("--sample: sequences of " + std::to_string(length) + " tokens exceed the teacher's context of " +
                     std::to_string(max_ctx));
  if (bos < 0 || bos >= V) return makeError("--sample: BOS id " + std::to_string(bos) + " is outside the vocabulary");
  const int slots = std::max(1, std::min(rt.options().max_slots, rt.options().max_batch_tokens));
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(count));
  std::vector<BatchToken> batch;
  std::vector<float> logits;
  for (int first = 0; first < count; first += slots) {
    const int n = std::min(slots, count - first);
    std::vector<Rng> rngs;
    for (int i = 0; i < n; ++i) {
      Rng mixer(seed ^ (0x9E3779B97F4A7C15ull * uint64_t(first + i + 1)));
      rngs.emplace_back(mixer.next());
      out[size_t(first + i)] = {bos};
    }
    logits.resize(size_t(n) * size_t(V));
    for (int pos = 0; pos + 1 < length; ++pos) {
      batch.clear();
      for (int i = 0; i < n; ++i) batch.push_back({out[size_t(first + i)].back(), pos, i, true});
      if (Status s = rt.forward(batch, logits); !s) return makeError("--sample: " + s.error().message);
      for (int i = 0; i < n; ++i)
        out[size_t(first + i)].push_back(
            sampleToken(std::span<const float>(logits.data() + size_t(i) * size_t(V), size_t(V)), 1.f, rngs[size_t(i)]));
    }
    if (progress && !progress(double(first + n) / count)) return makeError("cancelled");
  }
  return out;
}

}  // namespace precis
