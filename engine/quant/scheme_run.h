// A test model for a quantization scheme, ready to evaluate, shared by precis-cli (eval, sweep,
// sensitivity, quantize, serve-sim) and the workbench's Quantize panel: the quantized weights
// (or a `quantize` output as stored), the activation decorators the scheme needs (dynamic
// fake-quant, or static ranges calibrated on calibration data), the real packed low-bit kernels on
// the CPU backend (engine/quant/packed_backend.h) and the runtime over them.
// Static (per-tensor) activations: the calibration data runs the quantized model once in Observe
// mode (the packed decorator forwards to the f32 copy), each weight's clip is chosen by
// scheme.act_calibration, then both the fake-quant decorator and the packed kernels use it.
// Options: per-tensor statistics; a progress callback per converted tensor that may cancel
// (quantizeModel's own); and build_runtime = false for
// callers that make their own runtimes over the decorators (serve-sim).
// Tested by tests/quant/test_quant_scheme_run.cpp (static activations run the packed int8 kernels
// and match eval; no runtime when not asked; cancel), tests/ui/test_scheme_run.cpp,
// tests/ui/test_quantize_lab.cpp and the CLI suites (tests/quant/test_cli_quant.cpp, ...).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/quant/act_quant_backend.h"
#include "engine/quant/calib_act.h"
#include "engine/quant/calib_data.h"
#include "engine/quant/packed_backend.h"
#include "engine/quant/quantize_model.h"
#include "engine/runtime/llama_runtime.h"

namespace precis {

struct SchemeRun {
  QuantScheme scheme;   // what ran: the given scheme, or for a stored model the file's own
  bool stored = false;  // the model as stored (no conversion)
  QuantizedModel quantized;
  std::unique_ptr<ActQuantBackend> act;    // dynamic (per-token) activations, simulated
  std::unique_ptr<CalibActBackend> calib;  // static (per-tensor) activations, calibrated
  std::unique_ptr<PackedBackend> packed;   // real low-bit kernels for packed weights (CPU or CUDA)
  std::unique_ptr<LlamaRuntime> runtime;   // null when SchemeRunOptions::build_runtime is false
  ActClipMap act_clip;                     // static ranges in use (calibrated or from the file)
  std::vector<ActTensorStats> act_stats;   // measured on the calibration data (stats)
  std::string calib_desc;  // where the calibration tokens came from ("" if none ran)
  // The backend the decorators end in (packed, else act/calib, else the given backend): what a
  // caller's own runtime should run on.
  Backend* backend = nullptr;
};

struct SchemeRunOptions {
  bool stats = false;  // per-tensor weight statistics; activation statistics with calibration data
  bool build_runtime =
      true;  // false: run.runtime is null (it is still built, then dropped, when calibrating)
  // Called after each converted tensor; returning false cancels ("quantization cancelled after tensor K of N").
  std::function<bool(int done, int total)> progress;
};

// Static activation ranges are calibrated on `calib` (its windows run from position 0) with
// scheme.act_calibration; a stored quantize output uses its own ranges. With stats and calibration
// tokens, activation statistics are measured on them too (for any activation setting).
Result<SchemeRun> buildSchemeRun(const Model& stored, const QuantScheme& scheme, Backend& backend,
                                 const RuntimeOptions& ro, const CalibrationData& calib,
                                 const SchemeRunOptions& opt);
// The same with one calibration sequence (windows of the runtime's context).
Result<SchemeRun> buildSchemeRun(const Model& stored, const QuantScheme& scheme, Backend& backend,
                                 const RuntimeOptions& ro, const std::vector<int32_t>& calib_tokens,
                                 const SchemeRunOptions& opt);

// Whether activation quantization ran simulated (fake-quant) anywhere: without the packed kernels
// any activations; with them, fp8 activations, int8 activations of nf4/fp8 weights, or inputs of
// unpacked weights (ask after a forward).
bool activationsSimulated(const SchemeRun& run);

}  // namespace precis
