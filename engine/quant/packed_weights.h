// Which lab-format matrices the real low-bit CPU kernels run, and the kernel view of their packed
// storage: a QuantizedMatrix (engine/quant/quant_tensor.h) is read in place, no copy.
// int8, int8-asym, int4, int4-asym, nf4, fp8-e4m3 and fp8-e5m2 with tensor, channel or group:N
// scales have kernels (kernels/cpu/matmul_packed.h; nf4/fp8 with f32 activations only).
// Tested by tests/kernels/test_quant_kernels.cpp (views of real quantizeMatrix output decode to
// exactly dequantizeMatrix's values) and tests/kernels/test_packed_backend.cpp.
#pragma once
#include <string>

#include "engine/core/result.h"
#include "engine/quant/quant_tensor.h"
#include "kernels/common/packed_quant.h"

namespace precis {

// The kernel view of q, or why no real kernel runs it (e.g. "no real CPU kernel for q4_0").
// q must outlive the view.
Result<PackedWeightsView> packedWeightsView(const QuantizedMatrix& q);

}  // namespace precis
