// A quantization scheme: weight format, scale granularity, activation precision, calibration, plus
// per-tensor overrides; parsing from and printing to the command-line spellings.
// Tested by tests/quant/test_scheme.cpp (every spelling round-trips, errors name the setting).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/result.h"

namespace precis {

enum class WeightFormat : uint8_t {
  F32, F16, BF16,          // plain casts (real kernels)
  Fp8E4M3, Fp8E5M2,        // OCP FP8, saturating, with a scale per tensor/channel/group
  Int8, Int8Asym,          // int8 symmetric (code in [-127, 127]) / asymmetric (uint8 + zero point)
  Int4, Int4Asym,          // int4 symmetric ([-7, 7]) / asymmetric ([0, 15] + zero point)
  Nf4,                     // QLoRA NF4 codes scaled by absmax
  Q8_0, Q4_0,              // GGUF block formats (bit-exact, real kernels)
  Count
};

enum class Granularity : uint8_t { None, Tensor, Channel, Group };
enum class ActFormat : uint8_t { None, Int8, Fp8E4M3 };
enum class ActGranularity : uint8_t { Tensor, Token };  // static (calibrated) or dynamic per token
enum class CalibMethod : uint8_t { Max, Percentile, Mse };

struct Calibration {
  CalibMethod method = CalibMethod::Max;
  double percentile = 99.99;  // for Percentile: the |x| percentile used as the clipping range
};

// The weight side of a scheme: what one tensor becomes.
struct WeightSpec {
  WeightFormat format = WeightFormat::Int8;
  Granularity granularity = Granularity::Channel;  // None for formats without a scale choice
  int group = 0;                                   // N of group:N (16..256, a power of two)
};

struct OverrideRule {
  std::string pattern;  // glob over tensor names: '*' any run of characters, '?' one character
  bool keep = false;    // keep the tensor at its stored precision
  WeightSpec spec;      // otherwise: its weight spec
};

struct QuantScheme {
  WeightSpec weights;
  ActFormat activations = ActFormat::None;
  ActGranularity act_granularity = ActGranularity::Token;
  Calibration calibration;         // weight clipping ranges
  Calibration act_calibration;     // static (tensor) activation clipping ranges, on calibration data
  bool include_embeddings = false;  // also quantize token_embd / output
  std::vector<OverrideRule> overrides;  // the first matching rule wins
  bool stored = false;  // test the model exactly as stored (a file written by `precis-cli quantize`)
};

const char* weightFormatName(WeightFormat f);  // "fp8-e4m3", "int4-asym", "q4_0", ...
bool formatHasGranularity(WeightFormat f);     // int*, nf4, fp8*: true
// Bits of one code (32, 16, 8, 4); for q8_0/q4_0 the code bits without the block scale.
int formatCodeBits(WeightFormat f);
Result<WeightFormat> parseWeightFormat(const std::string& s);
// "tensor", "channel", "group:N"; error names the value.
Result<WeightSpec> parseGranularity(const std::string& s, WeightFormat f);
std::string granularityName(const WeightSpec& w);  // "tensor", "channel", "group:32", "-" (none)
Result<ActFormat> parseActFormat(const std::string& s);     // "none", "int8", "fp8-e4m3"
const char* actFormatName(ActFormat a);
Result<ActGranularity> parseActGranularity(const std::string& s);  // "tensor", "token"
const char* actGranularityName(ActGranularity g);
Result<Calibration> parseCalibration(const std::string& s);  // "max", "mse", "percentile:99.9"
std::string calibrationName(const Calibration& c);
// "PATTERN=keep" or "PATTERN=FORMAT[@GRANULARITY]" (e.g. "blk.*.ffn_down.weight=int8@channel").
Result<OverrideRule> parseOverride(const std::string& s);
// A JSON file: {"overrides": [{"pattern": "...", "format": "int8", "granularity": "channel"} |
// {"pattern": "...", "keep": true}]}; a plan file (engine/quant/quant_plan.h) is one too.
Result<std::vector<OverrideRule>> loadOverrideFile(const std::string& path);
bool globMatch(const std::string& pattern, const std::string& name);
// Short label of a weight spec: "int4 group:32", "fp16", "q4_0".
std::string weightSpecName(const WeightSpec& w);

}  // namespace precis
