// Test helpers: tiny models and byte images of each format, built in memory so reject tests can
// corrupt them at known offsets; the tiny configuration the training tests train. Used by
// tests/model/*.cpp and tests/train/*.cpp (header-only, test code only).
#pragma once
#include <QByteArray>
#include <QDir>
#include <QFile>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/model/model.h"
#include "engine/model/presets.h"

namespace precis::test {

// A tiny valid configuration (dim 16, 2 layers, GQA 4/2, vocab 32, untied).
inline LlamaConfig tinyConfig() {
  LlamaConfig c;
  c.dim = 16;
  c.hidden_dim = 40;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.vocab_size = 32;
  c.context_length = 24;
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.f;
  c.tied_classifier = false;
  return c;
}

// The training tests' tiny model (dim 32, hidden 64, 2 layers, GQA 4/2, vocab 64, context 32),
// with either RoPE style and a tied or untied classifier.
inline LlamaConfig tinyTrainConfig(RopeStyle rope, bool tied) {
  LlamaConfig c = tinyConfig();
  c.dim = 32;
  c.hidden_dim = 64;
  c.vocab_size = 64;
  c.context_length = 32;
  c.rope_style = rope;
  c.tied_classifier = tied;
  return c;
}

// A llama2.c version-0 image of `m` (f32 tensors), with RoPE tables of zeros.
inline QByteArray llama2cImage(const Model& m) {
  const LlamaConfig& c = m.config;
  QByteArray out;
  const int32_t h[7] = {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
                        c.tied_classifier ? c.vocab_size : -c.vocab_size, c.context_length};
  out.append(reinterpret_cast<const char*>(h), sizeof h);
  auto add = [&](const std::string& name) {
    const WeightTensor* t = m.find(name);
    out.append(reinterpret_cast<const char*>(t->data), qsizetype(t->bytes));
  };
  add(kTokenEmbd);
  for (const char* part : {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate",
                           "ffn_down", "ffn_up"})
    for (int l = 0; l < c.n_layers; ++l) add(layerTensorName(l, part));
  add(kOutputNorm);
  out.append(QByteArray(qsizetype(c.context_length) * c.headDim() * 4, '\0'));
  if (!c.tied_classifier) add(kOutput);
  return out;
}

inline bool writeBytes(const QString& path, const QByteArray& bytes) {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
  return f.write(bytes) == bytes.size();
}

inline QByteArray readBytes(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// GGUF name -> Hugging Face name (inverse of the loader's mapping).
inline std::string hfName(const std::string& gguf) {
  if (gguf == kTokenEmbd) return "model.embed_tokens.weight";
  if (gguf == kOutputNorm) return "model.norm.weight";
  if (gguf == kOutput) return "lm_head.weight";
  const size_t dot = gguf.find('.', 4);
  const std::string layer = gguf.substr(4, dot - 4), part = gguf.substr(dot + 1);
  static const std::pair<const char*, const char*> kParts[] = {
      {"attn_q.weight", "self_attn.q_proj.weight"},      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},       {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},       {"attn_norm.weight", "input_layernorm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"}};
  for (const auto& [a, b] : kParts)
    if (part == a) return "model.layers." + layer + "." + b;
  return gguf;
}

// A safetensors image of the f32 tensors of `m` under Hugging Face names.
inline QByteArray safetensorsImage(const Model& m) {
  nlohmann::json header = nlohmann::json::object();
  QByteArray data;
  for (const WeightTensor& t : m.tensors) {
    header[hfName(t.name)] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + qsizetype(t.bytes)}}};
    data.append(reinterpret_cast<const char*>(t.data), qsizetype(t.bytes));
  }
  header["__metadata__"] = {{"format", "pt"}};
  std::string h = header.dump();
  while (h.size() % 8) h += ' ';
  QByteArray out;
  const uint64_t n = h.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out.append(h.data(), qsizetype(h.size()));
  out.append(data);
  return out;
}

inline std::string hfConfigJson(const LlamaConfig& c) {
  nlohmann::json j = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", c.dim},
                      {"intermediate_size", c.hidden_dim}, {"num_hidden_layers", c.n_layers},
                      {"num_attention_heads", c.n_heads}, {"num_key_value_heads", c.n_kv_heads},
                      {"vocab_size", c.vocab_size}, {"max_position_embeddings", c.context_length},
                      {"rms_norm_eps", c.norm_eps}, {"rope_theta", c.rope_theta}, {"rope_scaling", nullptr},
                      {"hidden_act", "silu"}, {"tie_word_embeddings", c.tied_classifier}, {"torch_dtype", "float32"}};
  return j.dump(2);
}

}  // namespace precis::test
