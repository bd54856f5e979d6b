// Calibration tokens for static activation ranges: a token file (every non-blank line only ids
// separated by spaces, tabs or commas; '#' lines skipped) or a text file encoded with the model's
// tokenizer (BOS first), cut into windows of at most `window` tokens, the first `max_tokens` kept.
// Tested by tests/quant/test_calib_act.cpp (token and text files, errors name the file).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/model/model.h"

namespace precis {

struct CalibrationData {
  std::vector<std::vector<int32_t>> windows;  // each runs from position 0
  int64_t tokens = 0;                         // total over the windows
  std::string description;                    // "token file F: 512 tokens in 2 windows"
};

// `window`: positions per window (the runtime's context); `max_tokens` >= 1.
Result<CalibrationData> loadCalibrationData(const std::string& path, const Model& model, int64_t max_tokens, int window);
// Windows of already-known tokens (eval's own data, or tokens sampled from the model).
CalibrationData calibrationFromTokens(const std::vector<std::vector<int32_t>>& sequences, int64_t max_tokens, int window,
                                      const std::string& what);

}  // namespace precis
