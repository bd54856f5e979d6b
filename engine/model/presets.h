// Named model shapes (for random-weight models and benchmarks), a JSON configuration format,
// and deterministic random-weight models: in memory for small shapes, or streamed to a GGUF
// file tensor by tensor (a 1B model is 4.4 GB of f32 and is never held in memory).
// Random values: per tensor, a splitmix64 stream seeded from (seed, tensor name), normal
// samples by Box-Muller in double, std 0.02, rounded to f32; norm weights are 1.
// Tested by tests/model/test_presets.cpp (parameter counts, determinism, file == memory).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/model/model.h"

namespace precis {

// "15m" (stories15M), "110m" (stories110M), "1b" (TinyLlama-1.1B shape).
std::vector<std::string> presetNames();
Result<LlamaConfig> presetConfig(const std::string& name);

// A Llama shape with the default norm epsilon (1e-5), RoPE theta (10000) and adjacent RoPE pairs;
// vocab_size may be 0 when a tokenizer trained later decides it.
LlamaConfig llamaShape(int dim, int hidden, int layers, int heads, int kv_heads, int vocab, int ctx,
                       bool tied_classifier);

// Keys: dim, hidden_dim, n_layers, n_heads, n_kv_heads (default n_heads), vocab_size,
// context_length, norm_eps, rope_theta, tied_classifier. Unknown keys are an error naming the key.
Result<LlamaConfig> configFromJson(const std::string& json_text);

// Writes a random-weights f32 GGUF (see above). `progress` gets the fraction written; returning
// false cancels and removes the partial file.
Status writeRandomModelGguf(const LlamaConfig& config, uint64_t seed, const std::string& path,
                            std::function<bool(double fraction)> progress = {});

// The same model in memory (same values as the streamed file). Refuses configurations over 2^31 bytes.
Result<Model> makeRandomModel(const LlamaConfig& config, uint64_t seed);

// Fills `out` with the values of tensor `name` of a random model with `seed` (norms excluded).
void fillRandomNormal(const std::string& name, uint64_t seed, float* out, int64_t n);

}  // namespace precis
