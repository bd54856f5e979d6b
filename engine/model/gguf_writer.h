// GGUF v3 writer: a Model (any stored types) or a stream of tensors produced on the fly (random
// models too large for memory). Output goes to "<path>.tmp-<pid>" and is renamed into place only
// when complete, so a failed or cancelled write never leaves a half file under the target name.
// Tested by tests/model/test_gguf.cpp (llama2.c -> GGUF -> load is byte-identical; HF -> GGUF
// permutes q/k to the adjacent RoPE convention; output is byte-identical to the committed fixture).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/model/gguf_format.h"
#include "engine/model/model.h"

namespace precis {

struct GgufTensorSpec {
  std::string name;
  DType type = DType::F32;
  std::vector<int64_t> shape;  // row-major, outermost first (written to GGUF reversed)
};

// Where a tensor producer writes its bytes (exactly the tensor's byte size, in order).
class GgufDataSink {
 public:
  virtual ~GgufDataSink() = default;
  virtual Status write(const void* data, size_t bytes) = 0;
};

// Called once per tensor, in order, to write tensor `index`'s bytes.
using GgufTensorProducer = std::function<Status(size_t index, GgufDataSink& sink)>;
// Fraction of the data written so far; return false to cancel (the partial file is removed).
using GgufProgress = std::function<bool(double fraction)>;

// Streams a GGUF file: metadata `kv`, then the tensors' data (each aligned to `alignment`).
Status writeGgufStream(const std::string& path, const GgufKv& kv, const std::vector<GgufTensorSpec>& tensors,
                       const GgufTensorProducer& produce, const GgufProgress& progress = {},
                       uint32_t alignment = kGgufDefaultAlignment);

// general.* and llama.* metadata of a configuration (plus tokenizer.ggml.* when `tokenizer`
// is given and has a kind), in the order llama.cpp's converter writes them.
GgufKv ggufLlamaMetadata(const LlamaConfig& config, const std::string& name, const TokenizerData* tokenizer);

// The tensors of `config` in canonical GGUF order (token_embd, blk.N.*, output_norm, output).
std::vector<GgufTensorSpec> canonicalTensorSpecs(const LlamaConfig& config, DType matrix_type = DType::F32);

// Writes `model` as a GGUF llama file. A model with RopeStyle::Half (Hugging Face) has its
// attn_q/attn_k rows permuted to the adjacent convention, as llama.cpp's converter does.
Status writeGguf(const Model& model, const std::string& path);

}  // namespace precis
