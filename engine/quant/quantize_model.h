// Whole-model quantization for a QuantScheme: per-tensor decisions (the scheme, an override, or
// keep with a reason), real packed storage for the lab formats (QuantizedMatrix), the GGUF/float
// formats as DType tensors, and the model that runs: DType tensors run on their real kernels;
// lab-format tensors are dequantized to f32 and run "simulated" (the report says so per tensor).
// Tested by tests/quant/test_quantize_model.cpp (stories260K: decisions, byte counts, overrides,
// kept tensors, simulated flags, the runtime runs).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/model/model.h"
#include "engine/quant/convert.h"
#include "engine/quant/quant_tensor.h"
#include "engine/quant/scheme.h"

namespace precis {

struct TensorQuantReport {
  std::string name;
  std::string from;       // stored type name ("f32", "q8_0")
  std::string to;         // what it became: "int4 group:32", "q4_0", "f32"
  WeightSpec spec;        // valid when quantized is true
  bool quantized = false; // converted to a lower precision than f32 (false: kept)
  bool simulated = false; // stored packed, runs dequantized to f32
  int64_t elements = 0;
  uint64_t bytes = 0;     // real storage bytes (packed codes + scales + zero points)
  std::string reason;     // non-empty when the scheme was not applied as given (kept, override, fallback)
  bool has_stats = false;
  QuantStats stats;       // weight statistics (lab formats and, with stats, GGUF/float formats too)
};

struct ModelQuantReport {
  std::vector<TensorQuantReport> tensors;  // model order
  uint64_t bytes = 0;                      // all tensors
  double bits_per_weight = 0;              // 8 * bytes / elements over all tensors
  double quantized_bits_per_weight = 0;    // over the converted tensors only
  int simulated_tensors = 0;
};

struct QuantizedModel {
  Model model;                                    // what the runtime runs
  std::map<std::string, QuantizedMatrix> packed;  // real storage of the lab-format tensors
  ModelQuantReport report;
};

struct QuantizeModelOptions {
  bool stats = false;  // compute QuantStats for every converted tensor (costs a dequantize pass)
  // Called after every tensor; false stops with an error "quantization cancelled after tensor K of N"
  // (convert.h). Empty: not called.
  TensorProgress progress;
};

// Decisions, in order: non-float tensors and 1-D tensors (norms) are kept (f32); the first
// override whose pattern matches decides ("keep" keeps the stored precision, a quantized tensor
// dequantized to f32); token_embd/output are kept unless scheme.include_embeddings; a GGUF block
// format whose block does not divide the row keeps f32; a group size that does not divide the row
// falls back to channel scales of the same format. Every deviation is reported with its reason.
Result<QuantizedModel> quantizeModel(const Model& model, const QuantScheme& scheme,
                                     const QuantizeModelOptions& options = {});

// DType of a plain format (F32/F16/BF16/Q8_0/Q4_0); Count for the lab formats.
DType plainDType(WeightFormat f);

// The report in convertWeights' shape (for code that takes a ConvertReport, and what eval records):
// simulated tensors appear as f32 (what runs) with their real packed bytes and "stored as ..." reasons.
ConvertReport toConvertReport(const ModelQuantReport& r);

}  // namespace precis
