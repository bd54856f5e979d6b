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
#include "engine/quant/packed_backend.h"
#include "engine/quant/quantize_model.h"
#include "engine/runtime/llama_runtime.h"

namespace precis::cli {

// Option rows for a CommandSpec (the scheme flags); eval and sweep append them.
std::vector<OptionSpec> schemeOptionSpecs(bool lists);
// Scheme from the flags, with the first of any comma-separated list values. Error: usage message.
Result<QuantScheme> schemeFromArgs(const ParsedArgs& args, const std::string& default_format);

// A test model ready to evaluate: the quantized weights on `backend`, through the activation
// decorator when the scheme quantizes activations (static scales calibrated on calib_tokens).
struct SchemeRun {
  QuantizedModel quantized;
  std::unique_ptr<ActQuantBackend> act;
  std::unique_ptr<PackedBackend> packed;    // real int8/int4 kernels for packed weights (CPU backend)
  std::unique_ptr<LlamaRuntime> runtime;
};
Result<SchemeRun> buildSchemeRun(const Model& stored, const QuantScheme& scheme, Backend& backend,
                                 const RuntimeOptions& ro, const std::vector<int32_t>& calib_tokens,
                                 bool stats);

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
}  // namespace precis::cli

#include "engine/quant/convert.h"
namespace precis::cli {
// The scheme's report in convertWeights' shape (for code that takes a ConvertReport): simulated
// tensors appear as f32 (what runs) with their real packed bytes and "stored as ..." reasons.
ConvertReport toConvertReport(const ModelQuantReport& r);
// Readable --stats table (one line per converted tensor) on stdout.
void printSchemeStats(const SchemeRun& run);
}  // namespace precis::cli
