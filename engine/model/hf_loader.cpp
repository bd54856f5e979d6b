// Hugging Face Llama directory -> Model: config.json, model.safetensors or a sharded
// model.safetensors.index.json; HF tensor names mapped to GGUF names; RopeStyle::Half.
// F16/BF16 norm weights are converted to f32; matrices keep their stored type.
// Tested by tests/model/test_hf_loader.cpp (tests/fixtures/hf_tiny, hf_tiny_bf16).
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/model/load_checks.h"
#include "engine/model/loader.h"
#include "engine/model/safetensors.h"
#include "engine/model/tokenizer_hooks.h"

namespace precis {
namespace fs = std::filesystem;
namespace {

Result<nlohmann::json> readJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return makeError(path + ": not valid JSON");
  return j;
}

Status parseConfig(const nlohmann::json& j, const std::string& path, LlamaConfig& c, Model& m) {
  if (!j.is_object()) return makeError(path + ": config.json is not a JSON object");
  bool llama = j.value("model_type", std::string()) == "llama";
  if (auto a = j.find("architectures"); a != j.end() && a->is_array())
    for (const auto& x : *a) llama = llama || (x.is_string() && x.get<std::string>() == "LlamaForCausalLM");
  if (!llama) return makeError(path + ": not a Llama model (architectures must include LlamaForCausalLM or model_type be llama)");
  if (auto rs = j.find("rope_scaling"); rs != j.end() && !rs->is_null())
    return makeError(path + ": rope_scaling " + rs->dump() + " is not supported (only null)");
  if (auto act = j.find("hidden_act"); act != j.end() && !(act->is_string() && act->get<std::string>() == "silu"))
    return makeError(path + ": hidden_act " + act->dump() + " is not supported (only silu)");
  for (const char* key : {"attention_bias", "mlp_bias"})
    if (auto b = j.find(key); b != j.end() && b->is_boolean() && b->get<bool>())
      return makeError(path + ": " + key + " = true is not supported");
  auto getInt = [&](const char* key, int* out, bool required) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return required ? Status(makeError(path + ": missing " + key)) : Status();
    if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > std::numeric_limits<int>::max())
      return makeError(path + ": " + key + " must be a positive integer (got " + it->dump() + ")");
    *out = int(it->get<int64_t>());
    return {};
  };
  auto getFloat = [&](const char* key, float* out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (!it->is_number()) return makeError(path + ": " + key + " must be a number (got " + it->dump() + ")");
    *out = it->get<float>();
    return {};
  };
  if (Status s = getInt("hidden_size", &c.dim, true); !s) return s;
  if (Status s = getInt("intermediate_size", &c.hidden_dim, true); !s) return s;
  if (Status s = getInt("num_hidden_layers", &c.n_layers, true); !s) return s;
  if (Status s = getInt("num_attention_heads", &c.n_heads, true); !s) return s;
  c.n_kv_heads = c.n_heads;
  if (Status s = getInt("num_key_value_heads", &c.n_kv_heads, false); !s) return s;
  if (Status s = getInt("vocab_size", &c.vocab_size, true); !s) return s;
  c.context_length = 2048;
  if (Status s = getInt("max_position_embeddings", &c.context_length, false); !s) return s;
  c.norm_eps = 1e-6f;  // transformers' LlamaConfig default
  if (Status s = getFloat("rms_norm_eps", &c.norm_eps); !s) return s;
  c.rope_theta = 10000.f;
  if (Status s = getFloat("rope_theta", &c.rope_theta); !s) return s;
  c.tied_classifier = false;
  if (auto t = j.find("tie_word_embeddings"); t != j.end() && !t->is_null()) {
    if (!t->is_boolean()) return makeError(path + ": tie_word_embeddings must be a bool");
    c.tied_classifier = t->get<bool>();
  }
  c.rope_style = RopeStyle::Half;
  if (Status s = c.validate(); !s) return makeError(path + ": " + s.error().message);
  if (int hd = 0; getInt("head_dim", &hd, false) && hd != 0 && hd != c.headDim())
    return makeError(path + ": head_dim " + std::to_string(hd) + " differs from hidden_size / num_attention_heads");
  for (const auto& [k, v] : j.items())
    if (!v.is_object() && !v.is_array()) m.metadata["hf." + k] = v.is_string() ? v.get<std::string>() : v.dump();
  return {};
}

// HF name -> GGUF name; "" for tensors that are ignored, nullopt-like "?" for unknown ones.
std::string mapName(const std::string& hf, int n_layers, std::string* err) {
  static const std::pair<const char*, const char*> kGlobal[] = {
      {"model.embed_tokens.weight", kTokenEmbd}, {"model.norm.weight", kOutputNorm}, {"lm_head.weight", kOutput}};
  for (const auto& [a, b] : kGlobal)
    if (hf == a) return b;
  static const std::pair<const char*, const char*> kLayer[] = {
      {"self_attn.q_proj.weight", "attn_q"},      {"self_attn.k_proj.weight", "attn_k"},
      {"self_attn.v_proj.weight", "attn_v"},      {"self_attn.o_proj.weight", "attn_output"},
      {"mlp.gate_proj.weight", "ffn_gate"},       {"mlp.up_proj.weight", "ffn_up"},
      {"mlp.down_proj.weight", "ffn_down"},       {"input_layernorm.weight", "attn_norm"},
      {"post_attention_layernorm.weight", "ffn_norm"}};
  const std::string prefix = "model.layers.";
  if (hf.rfind(prefix, 0) != 0) return "?";
  size_t p = prefix.size();
  int layer = 0, digits = 0;
  while (p < hf.size() && std::isdigit(static_cast<unsigned char>(hf[p])) && digits < 6) layer = layer * 10 + (hf[p++] - '0'), ++digits;
  if (digits == 0 || p >= hf.size() || hf[p] != '.') return "?";
  const std::string rest = hf.substr(p + 1);
  if (rest == "self_attn.rotary_emb.inv_freq") return "";
  for (const auto& [a, b] : kLayer)
    if (rest == a) {
      if (layer >= n_layers) {
        *err = "tensor " + hf + " belongs to layer " + std::to_string(layer) + " but num_hidden_layers is " + std::to_string(n_layers);
        return "?";
      }
      return layerTensorName(layer, b);
    }
  return "?";
}

}  // namespace

Result<Model> loadHuggingFace(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  fs::path dir = path;
  if (!fs::is_directory(dir, ec)) dir = dir.parent_path();
  if (dir.empty()) dir = ".";
  const std::string config_path = (dir / "config.json").string();
  Result<nlohmann::json> cfg = readJsonFile(config_path);
  if (!cfg) return cfg.error();
  Model m;
  m.path = dir.string();
  m.format = "safetensors";
  if (Status s = parseConfig(*cfg, config_path, m.config, m); !s) return s.error();

  std::vector<std::string> shards;
  const fs::path single = dir / "model.safetensors", index = dir / "model.safetensors.index.json";
  if (fs::exists(single, ec)) {
    shards.push_back(single.string());
  } else if (fs::exists(index, ec)) {
    Result<nlohmann::json> idx = readJsonFile(index.string());
    if (!idx) return idx.error();
    auto wm = idx->is_object() ? idx->find("weight_map") : idx->end();
    if (!idx->is_object() || wm == idx->end() || !wm->is_object())
      return makeError(index.string() + ": missing weight_map object");
    std::set<std::string> files;
    for (const auto& [name, file] : wm->items()) {
      if (!file.is_string()) return makeError(index.string() + ": weight_map entry " + name + " is not a file name");
      const std::string f = file.get<std::string>();
      if (f.empty() || f.find('/') != std::string::npos || f.find('\\') != std::string::npos || f == "." || f == "..")
        return makeError(index.string() + ": weight_map entry " + name + " names \"" + f + "\", not a file in the directory");
      files.insert(f);
    }
    for (const std::string& f : files) shards.push_back((dir / f).string());
  } else {
    return makeError(m.path + ": no model.safetensors or model.safetensors.index.json next to config.json");
  }

  std::set<std::string> seen;
  for (const std::string& shard : shards) {
    Result<FileBytes> fb = mapFile(shard);
    if (!fb) return fb.error();
    Result<SafetensorsFile> sf = parseSafetensors(*fb);
    if (!sf) return sf.error();
    for (const SafetensorsTensor& st : sf->tensors) {
      std::string err;
      const std::string name = mapName(st.name, m.config.n_layers, &err);
      if (!err.empty()) return makeError(shard + ": " + err);
      if (name.empty()) continue;
      if (name == "?") {
        addWarning(m, shard + ": ignored unexpected tensor " + st.name);
        continue;
      }
      if (name == kOutput && m.config.tied_classifier) continue;  // HF ties it to the embedding
      if (!seen.insert(name).second) return makeError(shard + ": tensor " + st.name + " appears more than once");
      WeightTensor t;
      t.name = name;
      t.type = st.type;
      t.shape = st.shape;
      t.data = st.data;
      t.bytes = st.bytes;
      t.owner = fb->owner;
      m.tensors.push_back(std::move(t));
    }
  }
  if (Status s = convertNormsToF32(m); !s) return s.error();
  if (Status s = finishModel(m, options); !s) return s.error();
  const fs::path tok = dir / "tokenizer.json";
  if (fs::exists(tok, ec)) {
    if (Status s = attachTokenizerJson(m, tok.string()); !s) return s.error();
  }
  return m;
}

}  // namespace precis
