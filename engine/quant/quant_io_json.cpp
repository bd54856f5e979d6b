// JSON of the quantized safetensors header (see quant_io_json.h). Tested through
// tests/quant/test_quant_io.cpp.
#include "engine/quant/quant_io_json.h"

namespace precis::quantio {
namespace {

template <class T>
Result<T> field(const nlohmann::json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) return makeError(where + ": missing \"" + key + "\"");
  try {
    return it->get<T>();
  } catch (const std::exception&) {
    return makeError(where + ": \"" + key + "\" has the wrong type (" + it->dump() + ")");
  }
}

}  // namespace

nlohmann::ordered_json configToJson(const LlamaConfig& c) {
  return {{"dim", c.dim}, {"hidden_dim", c.hidden_dim}, {"n_layers", c.n_layers}, {"n_heads", c.n_heads},
          {"n_kv_heads", c.n_kv_heads}, {"vocab_size", c.vocab_size}, {"context_length", c.context_length},
          {"norm_eps", c.norm_eps}, {"rope_theta", c.rope_theta},
          {"rope_style", c.rope_style == RopeStyle::Half ? "half" : "adjacent"}, {"tied_classifier", c.tied_classifier}};
}

Result<LlamaConfig> configFromJson(const nlohmann::json& j) {
  const std::string w = std::string(kConfigKey);
  if (!j.is_object()) return makeError(w + " is not a JSON object");
  LlamaConfig c;
  int* ints[] = {&c.dim, &c.hidden_dim, &c.n_layers, &c.n_heads, &c.n_kv_heads, &c.vocab_size, &c.context_length};
  const char* names[] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "context_length"};
  for (size_t i = 0; i < 7; ++i) {
    Result<int> v = field<int>(j, names[i], w);
    if (!v) return v.error();
    *ints[i] = *v;
  }
  Result<float> eps = field<float>(j, "norm_eps", w), theta = field<float>(j, "rope_theta", w);
  Result<std::string> rs = field<std::string>(j, "rope_style", w);
  Result<bool> tied = field<bool>(j, "tied_classifier", w);
  if (!eps) return eps.error();
  if (!theta) return theta.error();
  if (!rs) return rs.error();
  if (!tied) return tied.error();
  if (*rs != "half" && *rs != "adjacent") return makeError(w + ": rope_style '" + *rs + "' is not half or adjacent");
  c.norm_eps = *eps;
  c.rope_theta = *theta;
  c.rope_style = *rs == "half" ? RopeStyle::Half : RopeStyle::Adjacent;
  c.tied_classifier = *tied;
  if (Status s = c.validate(); !s) return makeError(w + ": " + s.error().message);
  return c;
}

nlohmann::ordered_json tokenizerToJson(const TokenizerData& t, std::vector<uint8_t>& blob) {
  std::vector<size_t> lengths;
  blob.clear();
  for (const std::string& p : t.pieces) {
    lengths.push_back(p.size());
    blob.insert(blob.end(), p.begin(), p.end());
  }
  std::vector<int> types;
  for (TokenType ty : t.types) types.push_back(int(ty));
  return {{"kind", int(t.kind)}, {"piece_lengths", lengths}, {"scores", t.scores}, {"types", types},
          {"merges", t.merges}, {"bos_id", t.bos_id}, {"eos_id", t.eos_id}, {"unk_id", t.unk_id},
          {"pad_id", t.pad_id}, {"add_bos", t.add_bos}, {"add_space_prefix", t.add_space_prefix},
          {"pre_tokenizer", t.pre_tokenizer}, {"ignore_merges", t.ignore_merges}, {"source", t.source}};
}

Result<TokenizerData> tokenizerFromJson(const nlohmann::json& j, const uint8_t* blob, size_t blob_bytes) {
  const std::string w = kTokenizerKey;
  if (!j.is_object()) return makeError(w + " is not a JSON object");
  TokenizerData t;
  try {
    const int kind = j.at("kind").get<int>();
    if (kind < 0 || kind > int(TokenizerKind::ByteLevelBpe)) return makeError(w + ": unknown kind " + std::to_string(kind));
    t.kind = TokenizerKind(kind);
    const std::vector<size_t> lengths = j.at("piece_lengths").get<std::vector<size_t>>();
    size_t off = 0;
    for (size_t len : lengths) {
      if (len > blob_bytes - off) return makeError(w + ": piece lengths exceed the " + std::string(kPiecesTensor) + " tensor");
      t.pieces.emplace_back(reinterpret_cast<const char*>(blob) + off, len);
      off += len;
    }
    if (off != blob_bytes) return makeError(w + ": piece lengths do not cover the " + std::string(kPiecesTensor) + " tensor");
    t.scores = j.at("scores").get<std::vector<float>>();
    for (int ty : j.at("types").get<std::vector<int>>()) t.types.push_back(TokenType(ty));
    t.merges = j.at("merges").get<std::vector<std::string>>();
    t.bos_id = j.at("bos_id").get<int32_t>();
    t.eos_id = j.at("eos_id").get<int32_t>();
    t.unk_id = j.at("unk_id").get<int32_t>();
    t.pad_id = j.at("pad_id").get<int32_t>();
    t.add_bos = j.at("add_bos").get<bool>();
    t.add_space_prefix = j.at("add_space_prefix").get<bool>();
    t.pre_tokenizer = j.at("pre_tokenizer").get<std::string>();
    t.ignore_merges = j.at("ignore_merges").get<bool>();
    t.source = j.at("source").get<std::string>();
  } catch (const std::exception& e) {
    return makeError(w + ": " + e.what());
  }
  if (!t.scores.empty() && t.scores.size() != t.pieces.size())
    return makeError(w + ": " + std::to_string(t.scores.size()) + " scores for " + std::to_string(t.pieces.size()) + " pieces");
  return t;
}

nlohmann::ordered_json schemeToJson(const QuantScheme& s) {
  nlohmann::ordered_json ov = nlohmann::ordered_json::array();
  for (const OverrideRule& o : s.overrides)
    ov.push_back({{"pattern", o.pattern}, {"to", o.keep ? std::string("keep") :
                                                 std::string(weightFormatName(o.spec.format)) +
                                                     (o.spec.granularity == Granularity::None ? "" : "@" + granularityName(o.spec))}});
  return {{"weights", weightFormatName(s.weights.format)},
          {"granularity", granularityName(s.weights)},
          {"calibration", calibrationName(s.calibration)},
          {"activations", actFormatName(s.activations)},
          {"act_granularity", actGranularityName(s.act_granularity)},
          {"act_calibration", calibrationName(s.act_calibration)},
          {"quantize_embeddings", s.include_embeddings},
          {"overrides", ov}};
}

Result<QuantScheme> schemeFromJson(const nlohmann::json& j) {
  const std::string w = std::string(kQuantKey) + ": scheme";
  if (!j.is_object()) return makeError(w + " is not a JSON object");
  QuantScheme s;
  try {
    Result<WeightFormat> f = parseWeightFormat(j.at("weights").get<std::string>());
    if (!f) return makeError(w + ": " + f.error().message);
    const std::string g = j.at("granularity").get<std::string>();
    Result<WeightSpec> spec = parseGranularity(g == "-" ? "channel" : g, *f);
    if (!spec) return makeError(w + ": " + spec.error().message);
    s.weights = *spec;
    Result<Calibration> c = parseCalibration(j.at("calibration").get<std::string>());
    if (!c) return makeError(w + ": " + c.error().message);
    s.calibration = *c;
    Result<ActFormat> a = parseActFormat(j.at("activations").get<std::string>());
    if (!a) return makeError(w + ": " + a.error().message);
    s.activations = *a;
    Result<ActGranularity> ag = parseActGranularity(j.at("act_granularity").get<std::string>());
    if (!ag) return makeError(w + ": " + ag.error().message);
    s.act_granularity = *ag;
    Result<Calibration> ac = parseCalibration(j.at("act_calibration").get<std::string>());
    if (!ac) return makeError(w + ": " + ac.error().message);
    s.act_calibration = *ac;
    s.include_embeddings = j.at("quantize_embeddings").get<bool>();
    for (const auto& o : j.at("overrides")) {
      Result<OverrideRule> r = parseOverride(o.at("pattern").get<std::string>() + "=" + o.at("to").get<std::string>());
      if (!r) return makeError(w + ": " + r.error().message);
      s.overrides.push_back(*r);
    }
  } catch (const std::exception& e) {
    return makeError(w + ": " + e.what());
  }
  return s;
}

}  // namespace precis::quantio
