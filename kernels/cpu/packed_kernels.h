// Internal to kernels/cpu: the row-tile kernels behind matmulPackedRows, one set per ISA, chosen
// by (bits, asym, code book, activation kind). Each computes y[t * y_stride + r] for rows [r0, r1) and tokens
// [t0, t1) (one tile; matmul_packed.cpp tiles). Tested through tests/kernels/test_quant_kernels.cpp.
#pragma once
#include <cstdint>

#include "kernels/cpu/matmul_packed.h"

namespace precis::cpu {

using PackedTileFn = void (*)(const PackedWeightsView& w, const PackedActs& x, float* y, int64_t y_stride,
                              int64_t r0, int64_t r1, int64_t t0, int64_t t1, const float* table);

// table: packedTable(w.codebook) for lookup code books (nf4, fp8), unused for integer codes.
// nullptr for a combination without a kernel (int8 activations with a lookup code book).
PackedTileFn packedPortableTile(const PackedWeightsView& w, PackedActKind a);
PackedTileFn packedAvx2Tile(const PackedWeightsView& w, PackedActKind a);  // requires cpuHasAvx2Kernels()

}  // namespace precis::cpu
