// Weight conversion of a loaded model to another number format (f32, f16, bf16, q8_0, q4_0), with a
// per-tensor report of what was converted, what was kept and why.
// Tested by tests/kernels/test_convert.cpp (stories260K: kept tensors and reasons, byte counts,
// bits per weight, dequantized values within each format's error budget).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/model/model.h"
#include "kernels/common/dtype.h"

namespace precis {

// Progress of a whole-model conversion: called after each tensor with (tensors done, total);
// returning false stops the conversion there with an error "... cancelled after tensor K of N".
// Cancel therefore waits for at most one tensor's conversion. Empty: not called.
using TensorProgress = std::function<bool(int done, int total)>;

struct WeightPlan {
  DType format = DType::F32;        // target format of the weight matrices
  bool include_embeddings = false;  // also convert token_embd.weight and output.weight
};

struct TensorDecision {
  std::string name;
  DType from = DType::F32;  // stored type in the source model
  DType to = DType::F32;    // type in the converted model
  int64_t elements = 0;
  uint64_t bytes = 0;       // bytes in the converted model
  std::string reason;       // empty when converted as asked; else why `to` differs from the plan
};

struct ConvertReport {
  std::vector<TensorDecision> tensors;  // one per tensor, in model order
  uint64_t bytes = 0;                   // total bytes of all tensors after conversion
  double bits_per_weight = 0;           // 8 * bytes / elements, over all weight tensors
};

// Converts every 2-D weight matrix to plan.format: each row is decoded to f32 (to_float) and encoded
// with from_float into a new owned buffer (a quantized source converted to f32 is dequantized).
// Kept in their stored type, with a reason: 1-D tensors (norms stay f32; a quantized one is
// dequantized), token_embd.weight / output.weight unless include_embeddings, and matrices whose row
// length is not a multiple of the format's block size (dequantized to f32 if stored quantized).
// Unchanged tensors share the source's data. The result shares config, tokenizer and metadata.
// report may be null; `progress` (may be empty) is called after every tensor and can cancel.
Result<Model> convertWeights(const Model& model, const WeightPlan& plan, ConvertReport* report,
                             const TensorProgress& progress = {});

}  // namespace precis
