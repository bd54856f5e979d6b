// Mixed precision under a bits-per-weight budget. Each decided tensor (the 2-D matrices a
// sensitivity run ranks) gets one of several candidate weight specs; the cost of a choice is the
// measured mean KL when that tensor alone is quantized to it (tensorSensitivity), summed over the
// tensors (the usual additive approximation). solveMixedPrecision minimises the summed cost with
// the decided tensors' bits per weight <= budget, exactly: a dynamic programme over bytes rounded
// UP to a resolution (so every plan it finds truly fits), then a fill pass that spends the bytes
// left on the upgrades that lower the cost most per byte (so the plan lands as close to the budget
// as the candidates allow). nearestUniform picks, from a list of uniform specs, the one with the
// largest bits per weight not above the budget: the fair comparison at equal budget.
// Bits per weight = 8 * bytes / elements over the decided tensors, bytes as quantizeModel stores
// them (codes + scales + zero points; a group size that does not divide a row falls back to
// channel scales, a GGUF block that does not divide it keeps f32).
// Tested by tests/quant/test_mixed_precision.cpp (specBytes equals quantizeModel's bytes; the plan
// never exceeds the budget and matches brute force on small cases; stories260K: mixed KL <=
// uniform KL at equal budget, measured).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/quant/scheme.h"

namespace precis {

// Storage bytes of a (rows, cols) matrix in `spec`, as quantizeModel would store it.
uint64_t specBytes(const WeightSpec& spec, int64_t rows, int64_t cols);

struct MixedTensor {
  std::string name;
  int64_t rows = 0, cols = 0;
  std::vector<double> cost;  // per candidate: mean KL with only this tensor at that candidate
};

struct MixedPlan {
  std::vector<int> choice;          // per tensor: index into the candidates
  uint64_t bytes = 0;               // over the decided tensors
  double bits_per_weight = 0;       // 8 * bytes / elements over the decided tensors
  double predicted_cost = 0;        // sum of the chosen costs
  std::vector<OverrideRule> overrides;  // "name=spec" for every decided tensor
};

// Error when even the smallest candidate of every tensor exceeds the budget (the message gives the
// smallest achievable bits per weight). resolution: DP cells (more: closer to the exact optimum).
Result<MixedPlan> solveMixedPrecision(const std::vector<MixedTensor>& tensors, const std::vector<WeightSpec>& candidates,
                                      double budget_bits, int resolution = 20000);

struct UniformChoice {
  WeightSpec spec;
  double bits_per_weight = 0;  // over the decided tensors
};
// From `specs`, the one with the largest bits per weight <= budget (ties: the earlier one).
// Error when none fits.
Result<UniformChoice> nearestUniform(const std::vector<MixedTensor>& tensors, const std::vector<WeightSpec>& specs,
                                     double budget_bits);
// The uniform specs compared by default: int4, int4-asym, nf4, int8, fp8-e4m3 at channel and
// group:16..256, q4_0, q8_0, fp16.
std::vector<WeightSpec> defaultUniformSpecs();

}  // namespace precis
