// Legacy llama2.c "version 0" checkpoint loader: 7 int32 header (negative vocab_size = untied
// classifier), then f32 tensors (layout in shared/models/README.md). Tensors are mapped to the
// GGUF llama names with (out, in) shapes and reference a read-only mmap of the file.
// Tested by tests/model/test_loaders.cpp (stories260K) and test_loader_reject.cpp.
#include <cstdlib>

#include "engine/model/load_checks.h"
#include "engine/model/loader.h"
#include "engine/model/tokenizer_hooks.h"

namespace precis {

Result<Model> loadLlama2cBytes(const FileBytes& fb, const LoadOptions& options) {
  const std::string& path = fb.path;
  ByteReader r(fb.data, fb.size);
  int32_t h[7];
  for (int32_t& v : h) v = r.read<int32_t>();
  if (!r.ok())
    return makeError(path + ": truncated llama2.c header (" + std::to_string(fb.size) + " bytes, need 28)");
  Model m;
  m.path = path;
  m.format = "llama2c";
  LlamaConfig& c = m.config;
  c.dim = h[0];
  c.hidden_dim = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  c.tied_classifier = h[5] > 0;
  c.vocab_size = h[5] == INT32_MIN ? 0 : std::abs(h[5]);
  c.context_length = h[6];
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.f;
  c.rope_style = RopeStyle::Adjacent;
  if (Status s = c.validate(); !s)
    return makeError(path + ": not a valid llama2.c checkpoint: " + s.error().message);

  // All counts below are bounded by validate() (each dimension < 2^24), but the products can
  // still exceed 64 bits in principle: use checked arithmetic throughout.
  const uint64_t d = uint64_t(c.dim), hd = uint64_t(c.hidden_dim), L = uint64_t(c.n_layers),
                 kv = uint64_t(c.kvDim()), V = uint64_t(c.vocab_size), head = uint64_t(c.headDim()),
                 ctx = uint64_t(c.context_length);
  struct Part {
    const char* part;  // layer part name, or nullptr for a global tensor
    const char* global;
    uint64_t rows, cols;
    bool per_layer;
  };
  const Part parts[] = {
      {nullptr, kTokenEmbd, V, d, false},       {"attn_norm", nullptr, 1, d, true},
      {"attn_q", nullptr, d, d, true},          {"attn_k", nullptr, kv, d, true},
      {"attn_v", nullptr, kv, d, true},         {"attn_output", nullptr, d, d, true},
      {"ffn_norm", nullptr, 1, d, true},        {"ffn_gate", nullptr, hd, d, true},
      {"ffn_down", nullptr, d, hd, true},       {"ffn_up", nullptr, hd, d, true},
      {nullptr, kOutputNorm, 1, d, false},
  };
  // Expected file size, checked before anything is referenced.
  uint64_t floats = 0;
  auto add = [&](uint64_t a, uint64_t b, uint64_t k) {
    uint64_t x, y;
    return checkedMul(a, b, &x) && checkedMul(x, k, &y) && checkedAdd(floats, y, &floats);
  };
  bool fine = true;
  for (const Part& p : parts) fine = fine && add(p.rows, p.cols, p.per_layer ? L : 1);
  const uint64_t rope_floats = ctx * head;  // freq_cis_real + freq_cis_imag: 2 * ctx * head/2
  fine = fine && checkedAdd(floats, rope_floats, &floats);
  if (!c.tied_classifier) fine = fine && add(V, d, 1);
  uint64_t expected = 0;
  fine = fine && checkedMul(floats, 4, &expected) && checkedAdd(expected, 28, &expected);
  if (!fine) return makeError(path + ": llama2.c header describes an impossibly large model");
  if (fb.size < expected)
    return makeError(path + ": truncated llama2.c checkpoint: " + std::to_string(fb.size) + " bytes, the header (dim=" +
                     std::to_string(c.dim) + " layers=" + std::to_string(c.n_layers) + " vocab=" +
                     std::to_string(c.vocab_size) + ") needs " + std::to_string(expected));
  if (fb.size > expected)
    return makeError(path + ": llama2.c checkpoint has " + std::to_string(fb.size - expected) +
                     " unexpected trailing bytes (file " + std::to_string(fb.size) + " bytes, header implies " +
                     std::to_string(expected) + "); not a version-0 llama2.c file?");

  size_t offset = 28;
  auto take = [&](const std::string& name, std::vector<int64_t> shape, uint64_t n) {
    WeightTensor t;
    t.name = name;
    t.type = DType::F32;
    t.shape = std::move(shape);
    t.data = fb.data + offset;
    t.bytes = size_t(n) * 4;
    t.owner = fb.owner;
    offset += t.bytes;
    m.tensors.push_back(std::move(t));
  };
  for (const Part& p : parts) {
    std::vector<int64_t> shape = p.rows == 1 && p.cols == d && (p.global == kOutputNorm || (p.part && std::string(p.part).find("norm") != std::string::npos))
                                     ? std::vector<int64_t>{int64_t(d)}
                                     : std::vector<int64_t>{int64_t(p.rows), int64_t(p.cols)};
    if (!p.per_layer) {
      take(p.global, shape, p.rows * p.cols);
      continue;
    }
    for (uint64_t l = 0; l < L; ++l) take(layerTensorName(int(l), p.part), shape, p.rows * p.cols);
  }
  offset += size_t(rope_floats) * 4;  // obsolete RoPE tables
  if (!c.tied_classifier) take(kOutput, {int64_t(V), int64_t(d)}, V * d);

  m.metadata["format"] = "llama2c version 0";
  m.metadata["shared_classifier"] = c.tied_classifier ? "true" : "false";
  if (Status s = finishModel(m, options); !s) return s.error();
  return m;
}

Result<Model> loadLlama2c(const std::string& path, const LoadOptions& options) {
  Result<FileBytes> fb = mapFile(path);
  if (!fb) return fb.error();
  Result<Model> m = loadLlama2cBytes(*fb, options);
  if (!m) return m;
  if (Status s = attachLlama2cTokenizer(*m, options.tokenizer_path); !s) return s.error();
  return m;
}

}  // namespace precis
