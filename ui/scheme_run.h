// The Quantize panel's scheme settings in plain C++ (no Qt): a QuantScheme from the panel's
// settings (the spellings and error messages of precis-cli eval's scheme flags). The test model
// itself is engine/quant/scheme_run.h's buildSchemeRun (interruptible quantization, packed
// kernels, static activations calibrated on the evaluation tokens), shared with precis-cli.
// Tested by tests/ui/test_scheme_run.cpp (settings errors; stories260K: interruptible
// quantization gives the same tensors, bytes and bits as quantizeModel; a cancel after tensor k
// converts exactly k tensors).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/eval/evaluator.h"
#include "engine/log/eval_metrics.h"
#include "engine/quant/convert.h"
#include "engine/quant/quantize_model.h"
#include "engine/quant/scheme_run.h"

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

// The test runtime for a scheme, interruptible quantization included, is the engine's
// buildSchemeRun (engine/quant/scheme_run.h), as precis-cli eval builds it.

}  // namespace precis::ui
