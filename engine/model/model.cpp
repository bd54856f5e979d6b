// Model helpers: configuration checks, tensor lookup and architecture validation.
// Tested by tests/model/test_loaders.cpp (shape mismatches are rejected with the tensor's name).
#include "engine/model/model.h"

#include <cmath>
#include <limits>

namespace precis {

Status LlamaConfig::validate() const {
  auto bad = [](const std::string& what) { return makeError("invalid model configuration: " + what); };
  if (dim <= 0 || hidden_dim <= 0 || n_layers <= 0 || n_heads <= 0 || n_kv_heads <= 0 ||
      vocab_size <= 0 || context_length <= 0)
    return bad("dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size and context_length must be positive (dim=" +
               std::to_string(dim) + " hidden_dim=" + std::to_string(hidden_dim) + " n_layers=" +
               std::to_string(n_layers) + " n_heads=" + std::to_string(n_heads) + " n_kv_heads=" +
               std::to_string(n_kv_heads) + " vocab_size=" + std::to_string(vocab_size) +
               " context_length=" + std::to_string(context_length) + ")");
  constexpr int kMax = 1 << 24;
  if (dim > kMax || hidden_dim > kMax || n_layers > 4096 || n_heads > 4096 || vocab_size > kMax ||
      context_length > kMax)
    return bad("a dimension is implausibly large");
  if (dim % n_heads != 0) return bad("dim " + std::to_string(dim) + " is not a multiple of n_heads " + std::to_string(n_heads));
  if (n_heads % n_kv_heads != 0)
    return bad("n_heads " + std::to_string(n_heads) + " is not a multiple of n_kv_heads " + std::to_string(n_kv_heads));
  if (headDim() % 2 != 0) return bad("head dimension " + std::to_string(headDim()) + " is odd (RoPE needs pairs)");
  if (!(norm_eps > 0.f) || !std::isfinite(norm_eps)) return bad("norm epsilon must be positive");
  if (!(rope_theta > 0.f) || !std::isfinite(rope_theta)) return bad("rope theta must be positive");
  return {};
}

int64_t LlamaConfig::parameterCount() const {
  const int64_t d = dim, h = hidden_dim, kv = kvDim();
  const int64_t per_layer = 2 * d + d * d * 2 + 2 * d * kv + 3 * d * h;
  return int64_t(vocab_size) * d * (tied_classifier ? 1 : 2) + n_layers * per_layer + d;
}

int64_t WeightTensor::elements() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

const WeightTensor* Model::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

WeightTensor* Model::find(const std::string& name) {
  for (auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::string layerTensorName(int layer, const char* part) {
  return "blk." + std::to_string(layer) + "." + part + ".weight";
}

Status Model::validate() const {
  if (Status s = config.validate(); !s) return s;
  const LlamaConfig& c = config;
  auto check = [&](const std::string& name, std::vector<int64_t> shape) -> Status {
    const WeightTensor* t = find(name);
    if (!t) return makeError(path + ": missing tensor " + name);
    if (t->shape != shape) {
      auto str = [](const std::vector<int64_t>& s) {
        std::string r = "(";
        for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
        return r + ")";
      };
      return makeError(path + ": tensor " + name + " has shape " + str(t->shape) + ", expected " + str(shape));
    }
    if (t->bytes != rowBytes(t->type, t->cols()) * size_t(t->rows()))
      return makeError(path + ": tensor " + name + " has " + std::to_string(t->bytes) + " bytes, expected " +
                       std::to_string(rowBytes(t->type, t->cols()) * size_t(t->rows())));
    if (t->data == nullptr) return makeError(path + ": tensor " + name + " has no data");
    return {};
  };
  const int64_t d = c.dim, h = c.hidden_dim, kv = c.kvDim();
  if (Status s = check(kTokenEmbd, {c.vocab_size, d}); !s) return s;
  for (int l = 0; l < c.n_layers; ++l) {
    const std::pair<const char*, std::vector<int64_t>> parts[] = {
        {"attn_norm", {d}},      {"attn_q", {d, d}},  {"attn_k", {kv, d}},   {"attn_v", {kv, d}},
        {"attn_output", {d, d}}, {"ffn_norm", {d}},   {"ffn_gate", {h, d}},  {"ffn_up", {h, d}},
        {"ffn_down", {d, h}}};
    for (const auto& [part, shape] : parts)
      if (Status s = check(layerTensorName(l, part), shape); !s) return s;
  }
  if (Status s = check(kOutputNorm, {d}); !s) return s;
  if (!c.tied_classifier)
    if (Status s = check(kOutput, {c.vocab_size, d}); !s) return s;
  for (const char* norm : {"attn_norm", "ffn_norm"})
    for (int l = 0; l < c.n_layers; ++l)
      if (find(layerTensorName(l, norm))->type != DType::F32)
        return makeError(path + ": norm weights must be f32 (" + layerTensorName(l, norm) + ")");
  return {};
}

}  // namespace precis
