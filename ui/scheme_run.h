// The Quantize panel's engine steps, in plain C++ over engine/quant (no Qt): a QuantScheme from the
// panel's settings (the spellings and error messages of precis-cli eval's scheme flags), whole-model
// quantization that can be interrupted between tensors, and the test runtime for a scheme (the
// quantized weights, through the activation fake-quant decorator when activations are quantized,
// calibrated on the evaluation tokens when static), as precis-cli eval builds it.
// Interruptible quantization quantizes one tensor at a time with engine/quant's quantizeModel
// (whose decisions are per tensor) and sums the report as it does, so its result is the same
// model and report; `progress` is called after every tensor and returning false stops there, so
// Cancel waits for at most one tensor's conversion.
// Tested by tests/ui/test_scheme_run.cpp (stories260K: same tensors, bytes and bits as
// quantizeModel for several schemes; a cancel after tensor k converts exactly k tensors).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/eval/evaluator.h"
#include "engine/log/eval_metrics.h"
#include "engine/quant/act_quant_backend.h"
#include "engine/quant/packed_backend.h"
#include "engine/quant/convert.h"
#include "engine/quant/quantize_model.h"
#include "engine/runtime/llama_runtime.h"

namespace precis::ui {

struct SchemeSettings {
  std::string format = "q8_0";       // weightFormatName spellings
  std::string granularity = "channel";  // tensor, channel, group:N (formats with a scale choice)
  std::string activations = "none";  // none, int8, fp8-e4m3
  std::string act_granularity = "token";  // token (dynamic), tensor (static, calibrated)
  std::string calibration = "max";   // max, mse, percentile:P
  std::vector<std::string> overrides;  // PATTERN=FORMAT[@GRANULARITY] or PATTERN=keep
  bool include_embeddings = false;
};
Result<QuantScheme> schemeFromSettings(const SchemeSettings& s);

// Returns an error "quantization cancelled" when progress returns false.
Result<QuantizedModel> quantizeInterruptible(const Model& model, const QuantScheme& scheme,
                                             const std::function<bool(int done, int total)>& progress);

struct SchemeRuntime {
  QuantizedModel quantized;
  std::unique_ptr<ActQuantBackend> act;
  std::unique_ptr<PackedBackend> packed;  // real int8/int4 kernels for packed weights (CPU or CUDA)
  std::unique_ptr<LlamaRuntime> runtime;
};
Result<SchemeRuntime> buildSchemeRuntime(const Model& stored, const QuantScheme& scheme, Backend& backend,
                                         const RuntimeOptions& ro, const std::vector<int32_t>& calib_tokens,
                                         const std::function<bool(int done, int total)>& progress);


}  // namespace precis::ui
