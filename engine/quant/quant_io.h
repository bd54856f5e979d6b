// Writing a quantized model to disk and reading it back.
// - GGUF (.gguf) for models whose tensors all have GGUF types (f32, f16, bf16, q8_0, q4_0).
// - Precis quantized safetensors (.safetensors) for everything, including the lab formats: packed
//   codes, scales and zero points as plain U8/F32 tensors, and a JSON quantization config (scheme,
//   per-tensor layout, static activation clipping ranges), the model configuration and the
//   tokenizer in the header's __metadata__. Layout: docs/quantization.md ("File layout").
// Reading back dequantizes the lab formats with the same code the quantizer's simulated run uses,
// so the loaded model computes exactly what `eval MODEL --same-flags` computed.
// Tested by tests/quant/test_quant_io.cpp (stories260K: every format round-trips bit-exactly,
// same bytes, same logits; damaged files are refused with the tensor named).
#pragma once
#include <functional>
#include <map>
#include <string>

#include "engine/core/result.h"
#include "engine/quant/quantize_model.h"
#include "engine/quant/scheme.h"

namespace precis {

// Static activation clipping: matmul weight name -> clip value (max |x| kept before saturation).
using ActClipMap = std::map<std::string, float>;

struct QuantFileOptions {
  std::string source;                         // recorded in the config ("source")
  ActClipMap act_clip;                        // static activation ranges (tensor granularity)
  std::function<bool(double)> progress;       // fraction written; false cancels
};

// "gguf" or "safetensors" from the file name; error for any other extension.
Result<std::string> quantFileKind(const std::string& path);

// Writes q to path (kind from the extension). GGUF refuses a model holding lab-format tensors or
// activation quantization (naming the first tensor and pointing to .safetensors).
Status writeQuantizedModel(const QuantizedModel& q, const QuantScheme& scheme, const std::string& path,
                           const QuantFileOptions& options);

// What a model's file says about its quantization. For a Precis quantized file: the report as
// written (packed bytes, formats), the scheme that made it and the static activation ranges.
// Otherwise: each tensor's stored type and bytes, and from_file false.
struct StoredQuantization {
  ModelQuantReport report;
  QuantScheme scheme;
  ActClipMap act_clip;
  bool from_file = false;
};
Result<StoredQuantization> storedQuantization(const Model& model);

// A Precis quantized safetensors file loaded back: the runnable model (lab formats dequantized to
// f32, GGUF block formats as stored; metadata["precis.quantization"] holds the config) with the
// packed matrices and the report (same bytes as when written), and what storedQuantization says.
struct LoadedQuantFile {
  QuantizedModel quantized;
  StoredQuantization stored;
};
// Whether path is a safetensors file carrying a Precis quantization config (cheap: reads the header).
bool isPrecisQuantFile(const std::string& path);
// progress (may be empty) is called after each tensor is read (and its packed matrix decoded) with
// (done, total); returning false stops with "<path>: loading cancelled after tensor K of N".
Result<LoadedQuantFile> loadQuantizedSafetensors(const std::string& path,
                                                 const std::function<bool(int done, int total)>& progress = {});

}  // namespace precis
