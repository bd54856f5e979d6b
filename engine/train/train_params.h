// TrainParams: a Llama model's weights as one contiguous fp32 buffer (for the optimizer) with a
// table of named tensors in canonical GGUF order; the same layout holds gradients and AdamW moments.
// Converts from any loaded Model (quantized/half weights are dequantized) and back to a Model of
// f32 tensors that every writer and runtime accepts.
// Tested by tests/train/test_llama_train.cpp (Model -> params -> Model round trip, logits match
// LlamaRuntime) and tests/train/test_train_torch.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/model/model.h"

namespace precis {

struct ParamTensor {
  std::string name;             // "blk.0.attn_q.weight"
  std::vector<int64_t> shape;   // (out, in) or (dim)
  int64_t offset = 0;           // in floats, into TrainParams::data
  int64_t size = 0;             // elements
};

struct TrainParams {
  LlamaConfig config;
  std::vector<ParamTensor> tensors;  // canonical order
  std::vector<float> data;           // all tensors back to back

  // The layout of `config` with zero data.
  static TrainParams zeros(const LlamaConfig& config);
  // Fresh weights: matrices normal(0, 0.02) from the seeded per-tensor stream of
  // engine/model/presets.h, output projections (attn_output, ffn_down) scaled by 1/sqrt(2 n_layers)
  // as GPT-2 does; norms 1.
  static TrainParams init(const LlamaConfig& config, uint64_t seed);
  // Copies (dequantizing where needed) every tensor of `model`.
  static Result<TrainParams> fromModel(const Model& model);
  // A Model of f32 tensors holding a copy of the weights, with `tokenizer` attached.
  Model toModel(const TokenizerData& tokenizer, const std::string& name) const;

  const ParamTensor* find(const std::string& name) const;
  float* ptr(const std::string& name);              // nullptr when absent
  const float* ptr(const std::string& name) const;
  int64_t count() const { return int64_t(data.size()); }
};

}  // namespace precis
