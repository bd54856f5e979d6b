// Preset shapes and the JSON configuration reader (see presets.h).
// Tested by tests/model/test_presets.cpp.
#include "engine/model/presets.h"

#include <limits>
#include <nlohmann/json.hpp>

namespace precis {
namespace {

struct Preset {
  const char* name;
  LlamaConfig config;
};

std::vector<Preset> presets() {
  // stories15M / stories110M share the classifier with the embedding (llama2.c exports);
  // TinyLlama-1.1B has a separate lm_head.
  return {{"15m", llamaShape(288, 768, 6, 6, 6, 32000, 256, true)},
          {"110m", llamaShape(768, 2048, 12, 12, 12, 32000, 1024, true)},
          {"1b", llamaShape(2048, 5632, 22, 32, 4, 32000, 2048, false)}};
}

}  // namespace

std::vector<std::string> presetNames() {
  std::vector<std::string> names;
  for (const Preset& p : presets()) names.push_back(p.name);
  return names;
}

LlamaConfig llamaShape(int dim, int hidden, int layers, int heads, int kv_heads, int vocab, int ctx,
                       bool tied_classifier) {
  LlamaConfig c;  // norm_eps, rope_theta and rope_style keep their defaults (model.h)
  c.dim = dim;
  c.hidden_dim = hidden;
  c.n_layers = layers;
  c.n_heads = heads;
  c.n_kv_heads = kv_heads;
  c.vocab_size = vocab;
  c.context_length = ctx;
  c.tied_classifier = tied_classifier;
  return c;
}

Result<LlamaConfig> presetConfig(const std::string& name) {
  std::string known;
  for (const Preset& p : presets()) {
    if (name == p.name) return p.config;
    known += (known.empty() ? "" : ", ") + std::string(p.name);
  }
  return makeError("unknown model preset \"" + name + "\" (known: " + known + ")");
}

Result<LlamaConfig> configFromJson(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return makeError("model configuration: not a JSON object");
  LlamaConfig c;
  c.rope_style = RopeStyle::Adjacent;
  bool have_kv = false;
  const std::pair<const char*, int*> ints[] = {{"dim", &c.dim},           {"hidden_dim", &c.hidden_dim},
                                               {"n_layers", &c.n_layers}, {"n_heads", &c.n_heads},
                                               {"n_kv_heads", &c.n_kv_heads}, {"vocab_size", &c.vocab_size},
                                               {"context_length", &c.context_length}};
  for (const auto& [key, v] : j.items()) {
    bool handled = false;
    for (const auto& [name, out] : ints) {
      if (key != name) continue;
      if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > std::numeric_limits<int>::max())
        return makeError("model configuration: " + key + " must be a positive integer (got " + v.dump() + ")");
      *out = int(v.get<int64_t>());
      have_kv = have_kv || key == "n_kv_heads";
      handled = true;
    }
    if (handled) continue;
    if (key == "norm_eps" || key == "rope_theta") {
      if (!v.is_number()) return makeError("model configuration: " + key + " must be a number (got " + v.dump() + ")");
      (key == "norm_eps" ? c.norm_eps : c.rope_theta) = v.get<float>();
    } else if (key == "tied_classifier") {
      if (!v.is_boolean()) return makeError("model configuration: tied_classifier must be true or false");
      c.tied_classifier = v.get<bool>();
    } else {
      return makeError("model configuration: unknown key \"" + key + "\"");
    }
  }
  for (const char* required : {"dim", "hidden_dim", "n_layers", "n_heads", "vocab_size", "context_length"})
    if (!j.contains(required)) return makeError(std::string("model configuration: missing key \"") + required + "\"");
  if (!have_kv) c.n_kv_heads = c.n_heads;
  if (Status s = c.validate(); !s) return makeError("model configuration: " + s.error().message);
  return c;
}

}  // namespace precis
