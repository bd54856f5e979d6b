// Checks and conversions shared by the loaders: finiteness of weights (by bit pattern, for f32,
// f16, bf16 and the scales of q8_0/q4_0), norm weights converted to f32, and the final
// validation every loader ends with.
// Tested by tests/model/test_loader_reject.cpp (NaN weights are rejected naming the tensor).
#pragma once
#include <cstdint>
#include <string>

#include "engine/core/result.h"
#include "engine/model/loader.h"
#include "engine/model/model.h"

namespace precis {

// Index of the first non-finite element of `t` (for block formats: first element of the block
// whose scale is non-finite), or -1 when all are finite.
int64_t firstNonFinite(const WeightTensor& t);

// Converts norm vectors stored as f16/bf16 to f32 (a heap copy owned by the tensor).
Status convertNormsToF32(Model& model);

// Runs Model::validate, then the finiteness scan. With options.allow_nonfinite a non-finite
// tensor adds a line to model.metadata["warnings"] instead of failing.
Status finishModel(Model& model, const LoadOptions& options);

// Appends `line` to model.metadata["warnings"] (newline separated).
void addWarning(Model& model, const std::string& line);

}  // namespace precis
