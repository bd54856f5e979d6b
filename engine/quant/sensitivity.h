// Sensitivity analysis: quantize one tensor (or one layer's tensors) at a time, everything else at
// the stored precision, and measure the mean KL against the reference; then a mixed-precision
// assignment (a low and a high weight spec) under a bits-per-weight budget, greedily giving the high
// spec to the most sensitive tensors while the budget holds.
// Tested by tests/quant/test_sensitivity.cpp (stories260K: a deliberately damaged tensor ranks
// first; the assignment stays within its budget).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/eval/evaluator.h"
#include "engine/model/model.h"
#include "engine/quant/scheme.h"
#include "engine/runtime/llama_runtime.h"

namespace precis {

struct SensitivityRow {
  std::string name;      // tensor name, or "blk.N" per layer
  double kl_mean = 0;    // mean KL(ref || model with only this quantized), nats
  double top1 = 0;       // top-1 agreement
  int64_t elements = 0;
};

struct SensitivityOptions {
  WeightSpec spec;           // what each tensor is quantized to
  Calibration calibration;
  bool per_layer = false;    // one row per layer (all its matrices at once)
  bool include_embeddings = false;
  EvalOptions eval;
  std::function<bool(double)> progress;  // fraction done; return false to cancel
};

// Rows sorted by kl_mean, largest first. reference: the runtime of `model` itself.
Result<std::vector<SensitivityRow>> tensorSensitivity(const Model& model, LlamaRuntime& reference, Backend& backend,
                                                      const RuntimeOptions& ro,
                                                      const std::vector<std::vector<int32_t>>& sequences,
                                                      const SensitivityOptions& options);

struct MixedAssignment {
  std::vector<OverrideRule> overrides;  // "name=high" for the upgraded tensors
  std::vector<std::string> high;        // upgraded tensor names, most sensitive first
  double quantized_bits_per_weight = 0; // over the quantizable matrices
};

// Greedy: all ranked tensors start at `low`; in ranking order each is upgraded to `high` if the
// bits per weight over the ranked tensors stays <= budget. bytes_low/bytes_high: per tensor name.
MixedAssignment assignMixedPrecision(const std::vector<SensitivityRow>& ranked, const WeightSpec& high,
                                     const std::vector<std::pair<std::string, uint64_t>>& bytes_low,
                                     const std::vector<std::pair<std::string, uint64_t>>& bytes_high, double budget_bits);

}  // namespace precis
