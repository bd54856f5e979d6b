// The quantization-lab flags shared by `eval` and `sweep` (--weights, --granularity, --activations,
// --act-granularity, --calibration, --override, --override-file, --quantize-embeddings,
// --calib-tokens) and building a test runtime for a scheme: the quantized model, the activation
// fake-quant decorator (calibrated when static), and the JSON of what ran.
// Tested by tests/cli/test_cli.cpp (the existing eval cases) and tests/quant/test_cli_quant.cpp.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/cli/args.h"
#include "engine/quant/act_quant_backend.h"
#include "engine/quant/calib_act.h"
#include "engine/quant/calib_data.h"
#include "engine/quant/packed_backend.h"
#include "engine/quant/quantize_model.h"
#include "engine/runtime/llama_runtime.h"

namespace precis::cli {

// Option rows for a CommandSpec (the scheme flags); eval and sweep append them.
std::vector<OptionSpec> schemeOptionSpecs(bool lists);
// Scheme from the flags, with the first of any comma-separated list values. Error: usage message.
// "--weights stored" tests the model exactly as stored (scheme.stored; a `quantize` output).
Result<QuantScheme> schemeFromArgs(const ParsedArgs& args, const std::string& default_format);

// A test model ready to evaluate: the quantized weights on `backend`, through the activation
// decorator when the scheme quantizes activations (static scales calibrated on calib_tokens).
struct SchemeRun {
  QuantScheme scheme;  // what ran: the flags' scheme, or for --weights stored the file's own
  bool stored = false; // the model as stored (no conversion)
  QuantizedModel quantized;
  std::unique_ptr<ActQuantBackend> act;     // dynamic (per-token) activations
  std::unique_ptr<CalibActBackend> calib;   // static (per-tensor) activations, calibrated
  std::unique_ptr<PackedBackend> packed;    // real int8/int4 kernels for packed weights (CPU or CUDA)
  std::unique_ptr<LlamaRuntime> runtime;
  ActClipMap act_clip;                      // static ranges in use (calibrated or from the file)
  std::vector<ActTensorStats> act_stats;    // measured on the calibration data (stats)
  std::string calib_desc;                   // where the calibration tokens came from ("" if none ran)
};
// Static activation ranges are calibrated on `calib` (its windows run from position 0) with
// scheme.act_calibration; a stored quantize output uses its own ranges. With stats and calibration
// tokens, activation statistics are measured on them too (for any activation setting).
Result<SchemeRun> buildSchemeRun(const Model& stored, const QuantScheme& scheme, Backend& backend,
                                 const RuntimeOptions& ro, const CalibrationData& calib, bool stats);
// The same with one calibration sequence (windows of the runtime's context).
Result<SchemeRun> buildSchemeRun(const Model& stored, const QuantScheme& scheme, Backend& backend,
                                 const RuntimeOptions& ro, const std::vector<int32_t>& calib_tokens,
                                 bool stats);
// Calibration tokens from --calib-data FILE (text or token file) and --calib-tokens N (default
// 128), else the first N of `fallback` (described as `fallback_what`). window: the runtime context.
Result<CalibrationData> calibrationFromArgs(const ParsedArgs& args, const Model& model, int window,
                                            const std::vector<std::vector<int32_t>>& fallback,
                                            const std::string& fallback_what);

// Whether activation quantization ran simulated (fake-quant) anywhere: without the packed kernels
// any --activations; with them, fp8 activations or inputs of unpacked weights (ask after a forward).
bool activationsSimulated(const SchemeRun& run);
// [{op, types, kernel, simulated}] for the test model: real kernels per DType, and for lab-format
// weights "simulated: ... dequantized to f32" with the kernel that actually ran.
nlohmann::ordered_json schemeKernelsJson(const SchemeRun& run);
// {format, granularity, activations, act_granularity, calibration, bits_per_weight,
//  quantized_bits_per_weight, bytes, quantize_embeddings, simulated_tensors, kept [...], overrides}
nlohmann::ordered_json schemeWeightsJson(const SchemeRun& run, const QuantScheme& scheme);
// Per-tensor statistics rows (--stats).
nlohmann::ordered_json schemeStatsJson(const SchemeRun& run);

}  // namespace precis::cli

namespace precis::cli {
// The quantization-lab subcommands (cmd_sweep.cpp), registered in cli_common.cpp.
const CommandSpec& sweepSpec();
int runSweep(const ParsedArgs& args);
const CommandSpec& sensitivitySpec();
int runSensitivity(const ParsedArgs& args);
const CommandSpec& quantizeSpec();  // cmd_quantize.cpp
int runQuantize(const ParsedArgs& args);
}  // namespace precis::cli

#include "engine/quant/convert.h"
namespace precis::cli {
// Readable --stats table (one line per converted tensor) on stdout, and the activation table when
// activation statistics were measured.
void printSchemeStats(const SchemeRun& run);
// Activation statistics rows (--stats with calibration data).
nlohmann::ordered_json actStatsJson(const SchemeRun& run);
}  // namespace precis::cli
