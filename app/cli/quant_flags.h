// The quantization-lab flags shared by `eval` and `sweep` (--weights, --granularity, --activations,
// --act-granularity, --calibration, --override, --plan / --override-file, --quantize-embeddings,
// --calib-tokens, --plan) and the JSON of what a scheme's test model (engine/quant/scheme_run.h) ran.
// Tested by tests/cli/test_cli.cpp (the existing eval cases) and tests/quant/test_cli_quant.cpp.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/cli/args.h"
#include "engine/quant/calib_data.h"
#include "engine/quant/scheme_run.h"

namespace precis::cli {

// Option rows for a CommandSpec (the scheme flags); eval and sweep append them.
std::vector<OptionSpec> schemeOptionSpecs(bool lists);
// The --plan row (engine/quant/quant_plan.h), for commands that list their scheme flags by hand.
OptionSpec planOptionSpec();
// Scheme from the flags, with the first of any comma-separated list values. Error: usage message.
// "--weights stored" tests the model exactly as stored (scheme.stored; a `quantize` output).
Result<QuantScheme> schemeFromArgs(const ParsedArgs& args, const std::string& default_format);

// The test model for a scheme (SchemeRun, buildSchemeRun, activationsSimulated): engine/quant/scheme_run.h.

// Calibration tokens from --calib-data FILE (text or token file) and --calib-tokens N (default
// 128), else the first N of `fallback` (described as `fallback_what`). window: the runtime context.
Result<CalibrationData> calibrationFromArgs(const ParsedArgs& args, const Model& model, int window,
                                            const std::vector<std::vector<int32_t>>& fallback,
                                            const std::string& fallback_what);

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
