// CPU matmul of packed int8 / int4 / nf4 / fp8 weights (kernels/common/packed_quant.h) on a range
// of output rows, y = x W^T, with the weights read packed and dequantized inside the dot product:
//  - W8A16 / W4A16 (PackedActKind::F32): f32 activations; a weight's value is (code - zero) *
//    scale, or table[code] * scale for nf4 (16 entries) and fp8 (256 entries), the dequantized
//    value of the simulated path; accumulated in fp32 (portable: per weight; AVX2: the unscaled
//    values per scale group, then the group's sums times its scale).
//  - W8A8 / W4A8 (PackedActKind::Int8, integer code books only): int8 activations with one scale
//    per token; exact int32
//    sums of (code - zero) * x_code per 16/32-input chunk, scaled by the weight scale in fp32,
//    then by the token's scale.
// AVX2+FMA kernels when the CPU has them, portable C++ otherwise, and a plain scalar reference
// (double accumulation) that both are compared with.
// Tested by tests/kernels/test_quant_kernels.cpp (every format x granularity x activation kind,
// AVX2 and portable against the reference, stated tolerances).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/common/packed_quant.h"
#include "kernels/cpu/matmul_quant.h"

namespace precis::cpu {

enum class PackedActKind : uint8_t { F32, Int8 };

// Activations of one packed matmul: (n, in) f32 rows, or (n, in) int8 codes and (n,) scales.
struct PackedActs {
  PackedActKind kind = PackedActKind::F32;
  int64_t n = 0, in = 0;
  const float* x = nullptr;     // F32: (n, in) contiguous
  const int8_t* q = nullptr;    // Int8: (n, in) contiguous codes
  const float* scale = nullptr; // Int8: (n,) scale of each token
};

// "" when the kernels can run w with activations `a`, else why not (4-bit rows not starting on a
// byte, a group that does not divide the row, a bit width other than 4 or 8, int8 activations
// with a lookup-table code book: nf4/fp8 weights have no integer kernel).
std::string packedProblem(const PackedWeightsView& w, PackedActKind a);

// Quantizes x: (n, in) to int8 codes q: (n, in) and scales: (n,), one scale per token:
// amax = static_amax when it is > 0 (static, calibrated; values beyond it saturate), else the
// token's max |x| (dynamic). Returns the number of values with |x| > amax (clipped).
int64_t quantizeActsInt8(const float* x, int64_t n, int64_t in, float static_amax, int8_t* q, float* scales);

// y[t * y_stride + r] for r in [row_begin, row_end), t in [0, n). Rows are tiled so that weights
// are read once for n == 1 and reused from cache for larger n.
void matmulPackedRows(CpuIsa isa, const PackedWeightsView& w, const PackedActs& x, float* y,
                      int64_t y_stride, int64_t row_begin, int64_t row_end);

// Scalar reference, all rows: F32 sums packedWeightValue * x in double; Int8 sums exact integer
// products per scale group and accumulates isum * scale_w * scale_x in double. Leaves y alone for
// a combination packedProblem refuses.
void matmulPackedReference(const PackedWeightsView& w, const PackedActs& x, float* y, int64_t y_stride);

// What matmulPackedRows runs, e.g. "int4 x f32 packed dot (dequantized in registers), group:32
// scales (avx2)", "nf4 x f32 packed dot (16-entry table in registers), channel scales (avx2)",
// "fp8-e4m3 x f32 packed dot (decoded via fp16 in registers), tensor scale (avx2)",
// "int8-asym x int8 packed int32 dot, channel scales (portable)".
std::string packedKernelName(const PackedWeightsView& w, PackedActKind a, CpuIsa isa = CpuIsa::Best);

}  // namespace precis::cpu
