// Sampling and the generation loop (see sampler.h).
#include "engine/runtime/sampler.h"

#include <cmath>

namespace precis {

int32_t argmax(std::span<const float> logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[size_t(best)]) best = int32_t(i);
  return best;
}

int32_t sampleToken(std::span<const float> logits, float temperature, Rng& rng) {
  if (!(temperature > 0.f)) return argmax(logits);
  const float mx = logits[size_t(argmax(logits))];
  double sum = 0.0;
  std::vector<double> p(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    p[i] = std::exp(double(logits[i] - mx) / double(temperature));
    sum += p[i];
  }
  const double u = rng.uniform() * sum;
  double acc = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    acc += p[i];
    if (u < acc) return int32_t(i);
  }
  return int32_t(p.size() - 1);
}

Result<std::vector<int32_t>> generate(LlamaRuntime& rt, std::span<const int32_t> prompt,
                                      const GenerateOptions& o,
                                      const std::function<bool(int32_t)>& on_token) {
  if (prompt.empty()) return makeError("generate: the prompt is empty (give at least BOS)");
  const int ctx = rt.options().max_ctx;
  if (int(prompt.size()) > ctx)
    return makeError("generate: prompt of " + std::to_string(prompt.size()) +
                     " tokens exceeds the context of " + std::to_string(ctx));
  const int vocab = rt.config().vocab_size;
  std::vector<float> logits(static_cast<size_t>(vocab));
  std::vector<BatchToken> batch;
  for (size_t i = 0; i < prompt.size(); ++i)
    batch.push_back({prompt[i], int32_t(i), o.slot, i + 1 == prompt.size()});
  Rng rng(o.seed);
  std::vector<int32_t> out;
  int pos = int(prompt.size());
  for (int step = 0; step < o.max_new_tokens; ++step) {
    if (Status s = rt.forward(batch, logits); !s) return s.error();
    const int32_t tok = sampleToken(logits, o.temperature, rng);
    out.push_back(tok);
    if (on_token && !on_token(tok)) break;
    if (tok == o.stop_token || pos >= ctx) break;
    batch.assign(1, BatchToken{tok, int32_t(pos++), o.slot, true});
  }
  return out;
}

}  // namespace precis
