// GGUF llama models -> Model: llama.* hyper-parameters, tensors (GGUF ne[] order reversed to
// row-major shapes), tokenizer.ggml.* vocabulary. Tensors reference the mmap of the file.
// Tested by tests/model/test_gguf.cpp (round trips, the gguf-package fixture) and
// tests/model/test_loader_reject.cpp.
#include <cmath>
#include <limits>

#include "engine/model/gguf_format.h"
#include "engine/model/load_checks.h"
#include "engine/model/loader.h"

namespace precis {
namespace {

struct KvReader {
  const GgufFile& f;
  const std::string& path;

  Status getInt(const std::string& key, int* out, bool required) const {
    const GgufValue* v = f.find(key);
    if (!v) return required ? Status(makeError(path + ": missing GGUF metadata " + key)) : Status();
    int64_t x = 0;
    if (!v->asInt(&x)) return makeError(path + ": GGUF metadata " + key + " must be an integer (it is " + ggufTypeName(v->type) + ")");
    if (x < 0 || x > std::numeric_limits<int>::max())
      return makeError(path + ": GGUF metadata " + key + " = " + std::to_string(x) + " is out of range");
    *out = int(x);
    return {};
  }
  Status getFloat(const std::string& key, float* out) const {
    const GgufValue* v = f.find(key);
    if (!v) return {};
    double x = 0;
    if (!v->asDouble(&x)) return makeError(path + ": GGUF metadata " + key + " must be a number");
    *out = float(x);
    return {};
  }
  Status getBool(const std::string& key, bool* out) const {
    const GgufValue* v = f.find(key);
    if (!v) return {};
    if (v->type != GgufType::Bool) return makeError(path + ": GGUF metadata " + key + " must be a bool");
    *out = v->b;
    return {};
  }
  Status getId(const std::string& key, int32_t* out) const {
    int x = -1;
    if (Status s = getInt(key, &x, false); !s) return s;
    if (f.find(key)) *out = x;
    return {};
  }
  // Array of `elem` (or any integer type when elem is Int32) of exactly `n` items when n >= 0.
  Result<const GgufValue*> getArray(const std::string& key, GgufType elem, int64_t n) const {
    const GgufValue* v = f.find(key);
    if (!v) return static_cast<const GgufValue*>(nullptr);
    const bool int_ok = elem == GgufType::Int32 && v->type == GgufType::Array && [&] { GgufValue e; e.type = v->elem; return e.isInteger(); }();
    if (v->type != GgufType::Array || (v->elem != elem && !int_ok))
      return makeError(path + ": GGUF metadata " + key + " must be an array of " + ggufTypeName(elem));
    if (n >= 0 && int64_t(v->arr.size()) != n)
      return makeError(path + ": GGUF metadata " + key + " has " + std::to_string(v->arr.size()) + " items, expected " +
                       std::to_string(n) + " (one per token)");
    return v;
  }
};

Status readTokenizer(const GgufFile& f, Model& m) {
  const KvReader kv{f, m.path};
  const GgufValue* model = f.find("tokenizer.ggml.model");
  if (!model) return {};
  if (model->type != GgufType::String) return makeError(m.path + ": GGUF metadata tokenizer.ggml.model must be a string");
  TokenizerData& t = m.tokenizer;
  if (model->s == "llama") {
    t.kind = TokenizerKind::SentencePiece;
  } else if (model->s == "gpt2") {
    t.kind = TokenizerKind::ByteLevelBpe;
  } else {
    addWarning(m, m.path + ": tokenizer model \"" + model->s + "\" is not supported; the model is usable with token ids only");
    return {};
  }
  Result<const GgufValue*> tokens = kv.getArray("tokenizer.ggml.tokens", GgufType::String, -1);
  if (!tokens) return tokens.error();
  if (!*tokens) return makeError(m.path + ": GGUF metadata tokenizer.ggml.tokens is missing");
  const int64_t n = int64_t((*tokens)->arr.size());
  t.pieces.reserve(size_t(n));
  for (const GgufValue& v : (*tokens)->arr) t.pieces.push_back(v.s);
  Result<const GgufValue*> scores = kv.getArray("tokenizer.ggml.scores", GgufType::Float32, n);
  if (!scores) return scores.error();
  if (*scores)
    for (const GgufValue& v : (*scores)->arr) t.scores.push_back(float(v.f));
  Result<const GgufValue*> types = kv.getArray("tokenizer.ggml.token_type", GgufType::Int32, n);
  if (!types) return types.error();
  if (*types)
    for (const GgufValue& v : (*types)->arr) {
      int64_t x = 0;
      v.asInt(&x);
      if (x < 1 || x > 6) return makeError(m.path + ": GGUF metadata tokenizer.ggml.token_type has invalid type " + std::to_string(x));
      t.types.push_back(TokenType(x));
    }
  Result<const GgufValue*> merges = kv.getArray("tokenizer.ggml.merges", GgufType::String, -1);
  if (!merges) return merges.error();
  if (*merges)
    for (const GgufValue& v : (*merges)->arr) t.merges.push_back(v.s);
  for (auto [key, out] : {std::pair{"tokenizer.ggml.bos_token_id", &t.bos_id}, std::pair{"tokenizer.ggml.eos_token_id", &t.eos_id},
                          std::pair{"tokenizer.ggml.unknown_token_id", &t.unk_id},
                          std::pair{"tokenizer.ggml.padding_token_id", &t.pad_id}}) {
    if (Status s = kv.getId(key, out); !s) return s;
    if (*out >= n) return makeError(m.path + ": GGUF metadata " + key + " = " + std::to_string(*out) + " is not a token id (vocabulary " + std::to_string(n) + ")");
  }
  if (Status s = kv.getBool("tokenizer.ggml.add_bos_token", &t.add_bos); !s) return s;
  if (Status s = kv.getBool("tokenizer.ggml.add_space_prefix", &t.add_space_prefix); !s) return s;
  if (const GgufValue* pre = f.find("tokenizer.ggml.pre"); pre && pre->type == GgufType::String) t.pre_tokenizer = pre->s;
  t.source = "gguf";
  return {};
}

}  // namespace

Result<Model> loadGgufBytes(const FileBytes& fb, const LoadOptions& options) {
  Result<GgufFile> parsed = readGguf(fb);
  if (!parsed) return parsed.error();
  const GgufFile& f = *parsed;
  Model m;
  m.path = fb.path;
  m.format = "gguf";
  const GgufValue* arch = f.find("general.architecture");
  if (!arch || arch->type != GgufType::String) return makeError(fb.path + ": GGUF metadata general.architecture is missing");
  if (arch->s != "llama")
    return makeError(fb.path + ": unsupported architecture \"" + arch->s + "\" (only llama is supported)");
  const KvReader kv{f, fb.path};
  LlamaConfig& c = m.config;
  const std::pair<const char*, int*> ints[] = {
      {"llama.embedding_length", &c.dim},         {"llama.feed_forward_length", &c.hidden_dim},
      {"llama.block_count", &c.n_layers},         {"llama.attention.head_count", &c.n_heads},
      {"llama.context_length", &c.context_length}};
  for (auto [key, out] : ints)
    if (Status s = kv.getInt(key, out, true); !s) return s.error();
  c.n_kv_heads = c.n_heads;
  if (Status s = kv.getInt("llama.attention.head_count_kv", &c.n_kv_heads, false); !s) return s.error();
  if (Status s = kv.getFloat("llama.rope.freq_base", &c.rope_theta); !s) return s.error();
  if (Status s = kv.getFloat("llama.attention.layer_norm_rms_epsilon", &c.norm_eps); !s) return s.error();
  c.rope_style = RopeStyle::Adjacent;
  if (const GgufValue* sc = f.find("llama.rope.scaling.type"); sc && sc->type == GgufType::String && sc->s != "none")
    return makeError(fb.path + ": RoPE scaling \"" + sc->s + "\" is not supported");

  for (const GgufTensorInfo& ti : f.tensors) {
    WeightTensor t;
    t.name = ti.name;
    t.type = ti.type;
    t.shape = ti.shape();
    t.data = fb.data + f.data_offset + ti.offset;
    t.bytes = size_t(ti.bytes);
    t.owner = fb.owner;
    m.tensors.push_back(std::move(t));
  }
  const WeightTensor* emb = m.find(kTokenEmbd);
  if (!emb) return makeError(fb.path + ": missing tensor " + std::string(kTokenEmbd));
  if (emb->shape.size() != 2 || emb->shape[0] > std::numeric_limits<int>::max())
    return makeError(fb.path + ": tensor token_embd.weight must be 2-D (vocab, dim)");
  c.vocab_size = int(emb->shape[0]);
  if (int vs = 0; f.find("llama.vocab_size") && kv.getInt("llama.vocab_size", &vs, false) && vs != c.vocab_size)
    return makeError(fb.path + ": llama.vocab_size " + std::to_string(vs) + " disagrees with token_embd.weight (" +
                     std::to_string(c.vocab_size) + " rows)");
  c.tied_classifier = m.find(kOutput) == nullptr;
  if (Status s = c.validate(); !s) return makeError(fb.path + ": " + s.error().message);
  int rope_dims = c.headDim();
  if (Status s = kv.getInt("llama.rope.dimension_count", &rope_dims, false); !s) return s.error();
  if (rope_dims != c.headDim())
    return makeError(fb.path + ": llama.rope.dimension_count " + std::to_string(rope_dims) +
                     " differs from the head dimension " + std::to_string(c.headDim()) + " (partial RoPE is not supported)");

  if (Status s = readTokenizer(f, m); !s) return s.error();
  if (m.tokenizer.kind != TokenizerKind::None && int64_t(m.tokenizer.pieces.size()) > c.vocab_size)
    return makeError(fb.path + ": tokenizer has " + std::to_string(m.tokenizer.pieces.size()) +
                     " tokens but token_embd.weight only " + std::to_string(c.vocab_size) + " rows");
  for (const auto& [k, v] : f.kv) {
    if (k.rfind("tokenizer.ggml.", 0) == 0 && v.type == GgufType::Array) continue;
    m.metadata[k] = v.toString();
  }
  m.metadata["gguf.version"] = std::to_string(f.version);
  if (Status s = convertNormsToF32(m); !s) return s.error();
  if (Status s = finishModel(m, options); !s) return s.error();
  return m;
}

Result<Model> loadGguf(const std::string& path, const LoadOptions& options) {
  Result<FileBytes> fb = mapFile(path);
  if (!fb) return fb.error();
  return loadGgufBytes(*fb, options);
}

}  // namespace precis
