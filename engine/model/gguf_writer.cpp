// GGUF v3 writer (see gguf_writer.h): metadata serialisation, tensor infos with aligned offsets,
// streamed tensor data through a buffered sink, temporary file + rename.
// Tested by tests/model/test_gguf.cpp.
#include "engine/model/gguf_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace precis {
namespace {

class FileSink : public GgufDataSink {
 public:
  FileSink(std::FILE* f, const std::string& path, uint64_t total, const GgufProgress& progress)
      : f_(f), path_(path), total_(total), progress_(progress) {}

  Status write(const void* data, size_t bytes) override {
    if (bytes && std::fwrite(data, 1, bytes, f_) != bytes)
      return makeError(path_ + ": write failed (" + std::strerror(errno) + ")");
    written_ += bytes;
    tensor_written_ += bytes;
    if (progress_ && total_ && (written_ - last_report_ >= (uint64_t(16) << 20) || written_ == total_)) {
      last_report_ = written_;
      if (!progress_(double(written_) / double(total_))) return makeError(path_ + ": writing cancelled");
    }
    return {};
  }
  Status pad(uint32_t alignment) {
    static const char zeros[256] = {};
    const uint64_t rem = written_ % alignment;
    if (rem == 0) return {};
    const size_t n = size_t(alignment - rem);
    for (size_t done = 0; done < n;) {
      const size_t k = std::min(n - done, sizeof zeros);
      if (std::fwrite(zeros, 1, k, f_) != k) return makeError(path_ + ": write failed (" + std::strerror(errno) + ")");
      done += k;
    }
    written_ += n;
    return {};
  }
  uint64_t written() const { return written_; }
  uint64_t tensorWritten() const { return tensor_written_; }
  void startTensor() { tensor_written_ = 0; }

 private:
  std::FILE* f_;
  const std::string& path_;
  uint64_t total_;
  const GgufProgress& progress_;
  uint64_t written_ = 0;
  uint64_t tensor_written_ = 0;
  uint64_t last_report_ = 0;
};

void put(std::string& out, const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
template <class T>
void putv(std::string& out, T v) { put(out, &v, sizeof v); }
void putStr(std::string& out, const std::string& s) {
  putv<uint64_t>(out, s.size());
  out += s;
}

void putValue(std::string& out, const GgufValue& v) {
  switch (v.type) {
    case GgufType::Uint8: putv<uint8_t>(out, uint8_t(v.u)); break;
    case GgufType::Int8: putv<int8_t>(out, int8_t(v.i)); break;
    case GgufType::Uint16: putv<uint16_t>(out, uint16_t(v.u)); break;
    case GgufType::Int16: putv<int16_t>(out, int16_t(v.i)); break;
    case GgufType::Uint32: putv<uint32_t>(out, uint32_t(v.u)); break;
    case GgufType::Int32: putv<int32_t>(out, int32_t(v.i)); break;
    case GgufType::Uint64: putv<uint64_t>(out, v.u); break;
    case GgufType::Int64: putv<int64_t>(out, v.i); break;
    case GgufType::Float32: putv<float>(out, float(v.f)); break;
    case GgufType::Float64: putv<double>(out, v.f); break;
    case GgufType::Bool: putv<uint8_t>(out, v.b ? 1 : 0); break;
    case GgufType::String: putStr(out, v.s); break;
    case GgufType::Array:
      putv<uint32_t>(out, uint32_t(v.elem));
      putv<uint64_t>(out, v.arr.size());
      for (const GgufValue& e : v.arr) putValue(out, e);
      break;
  }
}

uint64_t alignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// Rows of a (n_head * head_dim, cols) matrix reordered from rotate-half to adjacent pairs:
// new row h*hd + 2i + s = old row h*hd + s*hd/2 + i (llama.cpp convert_hf_to_gguf permute).
std::vector<std::byte> permuteRowsToAdjacent(const WeightTensor& t, int n_head) {
  std::vector<std::byte> out(t.bytes);
  const int64_t rows = t.rows();
  const size_t row_bytes = t.bytes / size_t(rows);
  const int64_t hd = rows / n_head;
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t i = 0; i < hd / 2; ++i)
      for (int s = 0; s < 2; ++s) {
        const int64_t dst = h * hd + 2 * i + s, src = h * hd + s * (hd / 2) + i;
        std::memcpy(out.data() + size_t(dst) * row_bytes, t.data + size_t(src) * row_bytes, row_bytes);
      }
  return out;
}

}  // namespace

Status writeGgufStream(const std::string& path, const GgufKv& kv, const std::vector<GgufTensorSpec>& tensors,
                       const GgufTensorProducer& produce, const GgufProgress& progress, uint32_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) return makeError(path + ": alignment must be a power of two");
  std::string head;
  putv<uint32_t>(head, kGgufMagic);
  putv<uint32_t>(head, kGgufVersion);
  putv<uint64_t>(head, tensors.size());
  putv<uint64_t>(head, kv.size());
  for (const auto& [key, value] : kv) {
    putStr(head, key);
    putv<uint32_t>(head, uint32_t(value.type));
    putValue(head, value);
  }
  std::vector<uint64_t> sizes;
  uint64_t offset = 0;
  for (const GgufTensorSpec& t : tensors) {
    if (t.shape.empty()) return makeError(path + ": tensor " + t.name + " has no shape");
    const DTypeTraits& tr = dtypeTraits(t.type);
    if (t.shape.back() % tr.block_size != 0)
      return makeError(path + ": tensor " + t.name + " row length is not a multiple of the " + tr.name + " block size");
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    const uint64_t bytes = uint64_t(n / tr.block_size) * tr.block_bytes;
    putStr(head, t.name);
    putv<uint32_t>(head, uint32_t(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) putv<uint64_t>(head, uint64_t(*it));
    putv<uint32_t>(head, dtypeToGgmlType(t.type));
    putv<uint64_t>(head, offset);
    sizes.push_back(bytes);
    offset = alignUp(offset + bytes, alignment);
  }
  head.resize(size_t(alignUp(head.size(), alignment)), '\0');
  const uint64_t total = head.size() + offset;

  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return makeError(path + ": cannot create " + tmp + " (" + std::strerror(errno) + ")");
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  std::setvbuf(f, buf.get(), _IOFBF, 1 << 20);
  FileSink sink(f, path, total, progress);
  Status st = sink.write(head.data(), head.size());
  for (size_t k = 0; st && k < tensors.size(); ++k) {
    sink.startTensor();
    st = produce(k, sink);
    if (st && sink.tensorWritten() != sizes[k])
      st = makeError(path + ": tensor " + tensors[k].name + " produced " + std::to_string(sink.tensorWritten()) +
                     " bytes, expected " + std::to_string(sizes[k]));
    if (st) st = sink.pad(alignment);
  }
  const bool flushed = std::fflush(f) == 0;
  const bool closed = std::fclose(f) == 0;
  if (st && (!flushed || !closed)) st = makeError(path + ": write failed (" + std::strerror(errno) + ")");
  if (st && std::rename(tmp.c_str(), path.c_str()) != 0)
    st = makeError(path + ": cannot rename " + tmp + " into place (" + std::strerror(errno) + ")");
  if (!st) std::remove(tmp.c_str());
  return st;
}

GgufKv ggufLlamaMetadata(const LlamaConfig& c, const std::string& name, const TokenizerData* tok) {
  GgufKv kv;
  kv.emplace_back("general.architecture", GgufValue::str("llama"));
  kv.emplace_back("general.name", GgufValue::str(name));
  kv.emplace_back("general.alignment", GgufValue::u32(kGgufDefaultAlignment));
  kv.emplace_back("llama.context_length", GgufValue::u32(uint32_t(c.context_length)));
  kv.emplace_back("llama.embedding_length", GgufValue::u32(uint32_t(c.dim)));
  kv.emplace_back("llama.block_count", GgufValue::u32(uint32_t(c.n_layers)));
  kv.emplace_back("llama.feed_forward_length", GgufValue::u32(uint32_t(c.hidden_dim)));
  kv.emplace_back("llama.rope.dimension_count", GgufValue::u32(uint32_t(c.headDim())));
  kv.emplace_back("llama.attention.head_count", GgufValue::u32(uint32_t(c.n_heads)));
  kv.emplace_back("llama.attention.head_count_kv", GgufValue::u32(uint32_t(c.n_kv_heads)));
  kv.emplace_back("llama.attention.layer_norm_rms_epsilon", GgufValue::f32(c.norm_eps));
  kv.emplace_back("llama.rope.freq_base", GgufValue::f32(c.rope_theta));
  kv.emplace_back("llama.vocab_size", GgufValue::u32(uint32_t(c.vocab_size)));
  if (!tok || tok->kind == TokenizerKind::None) return kv;
  kv.emplace_back("tokenizer.ggml.model", GgufValue::str(tok->kind == TokenizerKind::SentencePiece ? "llama" : "gpt2"));
  if (!tok->pre_tokenizer.empty()) kv.emplace_back("tokenizer.ggml.pre", GgufValue::str(tok->pre_tokenizer));
  std::vector<GgufValue> items;
  for (const std::string& p : tok->pieces) items.push_back(GgufValue::str(p));
  kv.emplace_back("tokenizer.ggml.tokens", GgufValue::array(GgufType::String, std::move(items)));
  if (!tok->scores.empty()) {
    items.clear();
    for (float s : tok->scores) items.push_back(GgufValue::f32(s));
    kv.emplace_back("tokenizer.ggml.scores", GgufValue::array(GgufType::Float32, std::move(items)));
  }
  if (!tok->types.empty()) {
    items.clear();
    for (TokenType t : tok->types) items.push_back(GgufValue::i32(int32_t(t)));
    kv.emplace_back("tokenizer.ggml.token_type", GgufValue::array(GgufType::Int32, std::move(items)));
  }
  if (!tok->merges.empty()) {
    items.clear();
    for (const std::string& m : tok->merges) items.push_back(GgufValue::str(m));
    kv.emplace_back("tokenizer.ggml.merges", GgufValue::array(GgufType::String, std::move(items)));
  }
  const std::pair<const char*, int32_t> ids[] = {{"tokenizer.ggml.bos_token_id", tok->bos_id},
                                                 {"tokenizer.ggml.eos_token_id", tok->eos_id},
                                                 {"tokenizer.ggml.unknown_token_id", tok->unk_id},
                                                 {"tokenizer.ggml.padding_token_id", tok->pad_id}};
  for (const auto& [key, id] : ids)
    if (id >= 0) kv.emplace_back(key, GgufValue::u32(uint32_t(id)));
  kv.emplace_back("tokenizer.ggml.add_bos_token", GgufValue::boolean(tok->add_bos));
  if (tok->kind == TokenizerKind::SentencePiece)
    kv.emplace_back("tokenizer.ggml.add_space_prefix", GgufValue::boolean(tok->add_space_prefix));
  return kv;
}

std::vector<GgufTensorSpec> canonicalTensorSpecs(const LlamaConfig& c, DType matrix_type) {
  const int64_t d = c.dim, h = c.hidden_dim, kv = c.kvDim(), V = c.vocab_size;
  std::vector<GgufTensorSpec> specs;
  specs.push_back({kTokenEmbd, matrix_type, {V, d}});
  for (int l = 0; l < c.n_layers; ++l) {
    specs.push_back({layerTensorName(l, "attn_norm"), DType::F32, {d}});
    specs.push_back({layerTensorName(l, "attn_q"), matrix_type, {d, d}});
    specs.push_back({layerTensorName(l, "attn_k"), matrix_type, {kv, d}});
    specs.push_back({layerTensorName(l, "attn_v"), matrix_type, {kv, d}});
    specs.push_back({layerTensorName(l, "attn_output"), matrix_type, {d, d}});
    specs.push_back({layerTensorName(l, "ffn_norm"), DType::F32, {d}});
    specs.push_back({layerTensorName(l, "ffn_gate"), matrix_type, {h, d}});
    specs.push_back({layerTensorName(l, "ffn_up"), matrix_type, {h, d}});
    specs.push_back({layerTensorName(l, "ffn_down"), matrix_type, {d, h}});
  }
  specs.push_back({kOutputNorm, DType::F32, {d}});
  if (!c.tied_classifier) specs.push_back({kOutput, matrix_type, {V, d}});
  return specs;
}

Status writeGguf(const Model& model, const std::string& path) {
  if (Status s = model.validate(); !s) return makeError(path + ": cannot write an invalid model: " + s.error().message);
  const LlamaConfig& c = model.config;
  // Canonical tensors first (in their stored types), then any extra tensors in model order.
  std::vector<const WeightTensor*> order;
  for (const GgufTensorSpec& s : canonicalTensorSpecs(c)) order.push_back(model.find(s.name));
  for (const WeightTensor& t : model.tensors)
    if (std::find(order.begin(), order.end(), &t) == order.end()) order.push_back(&t);
  std::vector<GgufTensorSpec> specs;
  for (const WeightTensor* t : order) specs.push_back({t->name, t->type, t->shape});

  std::string name;
  if (auto it = model.metadata.find("general.name"); it != model.metadata.end()) name = it->second;
  if (name.empty() && !model.path.empty()) name = std::filesystem::path(model.path).filename().stem().string();
  if (name.empty()) name = "precis";
  GgufKv kv = ggufLlamaMetadata(c, name, &model.tokenizer);

  const bool permute = c.rope_style == RopeStyle::Half;
  const std::string q0 = "attn_q.weight", k0 = "attn_k.weight";
  auto endsWith = [](const std::string& s, const std::string& suf) {
    return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
  };
  return writeGgufStream(path, kv, specs, [&](size_t k, GgufDataSink& sink) -> Status {
    const WeightTensor& t = *order[k];
    if (permute && (endsWith(t.name, q0) || endsWith(t.name, k0))) {
      const std::vector<std::byte> p = permuteRowsToAdjacent(t, endsWith(t.name, q0) ? c.n_heads : c.n_kv_heads);
      return sink.write(p.data(), p.size());
    }
    return sink.write(t.data, t.bytes);
  });
}

}  // namespace precis
