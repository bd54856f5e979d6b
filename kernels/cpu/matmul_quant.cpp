// Dispatch and cache tiling of the CPU weight matmul (see matmul_quant.h), activation quantization,
// and the names of the kernels that run. Tested by tests/kernels/test_matmul_cpu.cpp.
#include "kernels/cpu/matmul_quant.h"

#include <algorithm>

#include "kernels/common/numerics.h"
#include "kernels/cpu/dot_kernels.h"

namespace precis::cpu {
namespace {

bool quantizedWeights(DType t) { return t == DType::Q8_0 || t == DType::Q4_0; }

// Cache budgets of one tile: the weight rows of a tile stay in L2 while every token of the tile
// passes over them; a token tile's activations stay in L1/L2 while the rows pass over them.
constexpr size_t kWeightTileBytes = 192 * 1024;
constexpr size_t kActTileBytes = 96 * 1024;

}  // namespace

bool cpuHasAvx2Kernels() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

void quantizeRowQ8_0(const float* x, BlockQ8_0* y, int64_t n) {
  if (cpuHasAvx2Kernels()) {
    quantizeRowQ8_0Avx2(x, y, n);
    return;
  }
  for (int64_t b = 0; b < n / kQK8_0; ++b) quantizeBlockQ8_0(x + b * kQK8_0, y + b);
}

size_t matmulScratchBytes(DType wtype, int64_t in, int64_t n) {
  if (!quantizedWeights(wtype)) return 0;
  // Scales of every token's q8_0 blocks as floats (so kernels skip the fp16 decode), then the blocks.
  return size_t(n) * size_t(in / kQK8_0) * (sizeof(BlockQ8_0) + sizeof(float));
}

void prepareActivations(DType wtype, const float* x, int64_t n, int64_t in, void* scratch) {
  if (!quantizedWeights(wtype)) return;
  const int64_t nb = in / kQK8_0;
  float* xd = static_cast<float*>(scratch);
  BlockQ8_0* xq = reinterpret_cast<BlockQ8_0*>(xd + n * nb);
  for (int64_t t = 0; t < n; ++t) quantizeRowQ8_0(x + t * in, xq + t * nb, in);
  for (int64_t i = 0; i < n * nb; ++i) xd[i] = fp16ToFp32(xq[i].d);
}

void matmulQuantRowsIsa(CpuIsa isa, DType wtype, const void* w, size_t w_stride, int64_t in,
                        const float* x, int64_t n, const void* xq, float* y, int64_t y_stride,
                        int64_t row_begin, int64_t row_end) {
  const bool avx2 = isa == CpuIsa::Best && cpuHasAvx2Kernels();
  const TileFn fn = avx2 ? avx2Tile(wtype) : portableTile(wtype);
  if (fn == nullptr || row_end <= row_begin || n <= 0) return;
  const bool quant = quantizedWeights(wtype);
  const float* xd = quant ? static_cast<const float*>(xq) : nullptr;
  const BlockQ8_0* xblocks = quant ? reinterpret_cast<const BlockQ8_0*>(xd + n * (in / kQK8_0)) : nullptr;
  const TileArgs args{w, w_stride, in, x, xblocks, xd, y, y_stride};
  const size_t act_bytes = quantizedWeights(wtype) ? size_t(in / kQK8_0) * sizeof(BlockQ8_0)
                                                   : size_t(in) * sizeof(float);
  const int64_t row_tile = std::max<int64_t>(1, int64_t(kWeightTileBytes / std::max<size_t>(1, w_stride)));
  const int64_t tok_tile = std::max<int64_t>(4, int64_t(kActTileBytes / std::max<size_t>(1, act_bytes)) & ~int64_t(3));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += row_tile) {
    const int64_t r1 = std::min(row_end, r0 + row_tile);
    for (int64_t t0 = 0; t0 < n; t0 += tok_tile) fn(args, r0, r1, t0, std::min(n, t0 + tok_tile));
  }
}

void matmulQuantRows(DType wtype, const void* w, size_t w_stride, int64_t in, const float* x,
                     int64_t n, const void* xq, float* y, int64_t y_stride, int64_t row_begin,
                     int64_t row_end) {
  matmulQuantRowsIsa(CpuIsa::Best, wtype, w, w_stride, in, x, n, xq, y, y_stride, row_begin, row_end);
}

std::string matmulKernelName(DType wtype, CpuIsa isa) {
  const char* suffix = isa == CpuIsa::Best && cpuHasAvx2Kernels() ? " (avx2)" : " (portable)";
  switch (wtype) {
    case DType::F32: return std::string("f32 x f32 fp32 dot") + suffix;
    case DType::F16: return std::string("f16 x f32 fp32 dot") + suffix;
    case DType::BF16: return std::string("bf16 x f32 fp32 dot") + suffix;
    case DType::Q8_0: return std::string("q8_0 x q8_0 int8 dot") + suffix;
    case DType::Q4_0: return std::string("q4_0 x q8_0 int8 dot") + suffix;
    default: return std::string("no matmul kernel for ") + dtypeName(wtype);
  }
}

std::string matmulKernelName(DType wtype) { return matmulKernelName(wtype, CpuIsa::Best); }

}  // namespace precis::cpu
