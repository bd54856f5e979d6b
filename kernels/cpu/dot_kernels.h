// Internal to kernels/cpu: the row-tile kernels behind matmulQuantRows, one set per ISA.
// Each computes y[t * y_stride + r] for rows [r0, r1) and tokens [t0, t1) (one tile; the caller
// tiles). Weights w are rows of w_stride bytes. Activations are q8_0 blocks (xq, in/32 blocks per
// token) for q8_0/q4_0 weights, or f32 rows (x, in floats per token) otherwise.
// Tested through tests/kernels/test_matmul_cpu.cpp.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/dtype.h"

namespace precis::cpu {

struct TileArgs {
  const void* w;
  size_t w_stride;
  int64_t in;
  const float* x;           // (n, in) f32 activations
  const BlockQ8_0* xq;      // (n, in / 32) q8_0 activations
  const float* xd;          // (n, in / 32) their scales d as floats
  float* y;
  int64_t y_stride;
};

using TileFn = void (*)(const TileArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);

// Returns the tile kernel for wtype (F32, F16, BF16, Q8_0, Q4_0); null for I32.
TileFn portableTile(DType wtype);
TileFn avx2Tile(DType wtype);  // requires cpuHasAvx2Kernels()

void quantizeRowQ8_0Avx2(const float* x, BlockQ8_0* y, int64_t n);

}  // namespace precis::cpu
