// The in-memory model every loader produces and every consumer (runtime, quantizer, writer) reads:
// a Llama-family configuration plus named weight tensors in their stored types.
// Tensor names are GGUF's llama names (see kTensor* below); shapes are row-major, outermost first,
// so a matrix is (out, in) as in PyTorch (GGUF's ne[] order reversed).
// Tested by tests/model/*.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/core/result.h"
#include "engine/tokenizer/tokenizer_data.h"
#include "kernels/common/dtype.h"

namespace precis {

struct LlamaConfig {
  int dim = 0;             // model width
  int hidden_dim = 0;      // SwiGLU hidden size
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;      // grouped-query attention: n_heads % n_kv_heads == 0
  int vocab_size = 0;
  int context_length = 0;  // maximum sequence length
  float norm_eps = 1e-5f;
  float rope_theta = 10000.f;
  RopeStyle rope_style = RopeStyle::Adjacent;
  bool tied_classifier = false;  // output classifier shares token_embd.weight

  int headDim() const { return n_heads ? dim / n_heads : 0; }
  int kvDim() const { return n_heads ? n_kv_heads * (dim / n_heads) : 0; }
  // Checks divisibility and positivity; the message names what is wrong.
  Status validate() const;
  // Number of parameters (the tied classifier counted once).
  int64_t parameterCount() const;
};

struct WeightTensor {
  std::string name;            // e.g. "blk.0.attn_q.weight"
  DType type = DType::F32;
  std::vector<int64_t> shape;  // row-major, outermost first: (out, in) for matrices, (dim) for norms
  const std::byte* data = nullptr;
  size_t bytes = 0;
  std::shared_ptr<const void> owner;  // keeps `data` alive (an mmap or a heap block)

  int64_t elements() const;
  int64_t rows() const { return shape.size() >= 2 ? elements() / shape.back() : 1; }
  int64_t cols() const { return shape.empty() ? 0 : shape.back(); }
};

struct Model {
  LlamaConfig config;
  std::vector<WeightTensor> tensors;
  TokenizerData tokenizer;            // kind None when the file carries no tokenizer
  std::string path;                   // file or directory it was loaded from
  std::string format;                 // "llama2c", "gguf", "safetensors"
  std::map<std::string, std::string> metadata;  // informative key/values (GGUF kv, config.json)

  const WeightTensor* find(const std::string& name) const;
  WeightTensor* find(const std::string& name);
  // Checks that every tensor the architecture needs is present with the expected shape and type.
  Status validate() const;
};

// Canonical tensor names.
inline constexpr const char* kTokenEmbd = "token_embd.weight";
inline constexpr const char* kOutputNorm = "output_norm.weight";
inline constexpr const char* kOutput = "output.weight";
// Per-layer names: layerTensorName(3, "attn_q") == "blk.3.attn_q.weight". Parts: attn_norm,
// attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate (w1), ffn_up (w3), ffn_down (w2).
std::string layerTensorName(int layer, const char* part);

}  // namespace precis
