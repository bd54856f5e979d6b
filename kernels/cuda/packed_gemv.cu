// Fused dequantize GEMV for packed int8 / int4 / nf4 / fp8 weights (kernels/common/packed_quant.h)
// and a few f32 tokens (decode, n <= kPackedGemvMaxTokens): W8A16 / W4A16 with tensor, channel or
// group scales, symmetric or with zero points (integer code books). Decode is memory-bound, so the
// weights are read once with vector loads and each warp serves kRows rows: one lane takes 16
// consecutive inputs of every row (4-bit: one 8-byte load per row, 8-bit: one 16-byte load), loads
// those 16 activations once per token (four float4) and reuses them for the kRows rows, which keeps
// activation traffic from L1 at a quarter of the per-row cost (at 4 bits a row's activations are
// 8x its weight bytes).
// How a code becomes a number (loadChunk), chosen for a kernel that must decode a weight in the few
// instructions per weight that the memory bandwidth leaves (~5 at 4 bits, ~10 at 8 bits on an
// H100 at n = 1):
//  - int8 / int4: (code - zero) formed exactly in f32 with the 2^23 magic-number trick (integers
//    below 2^24, no int->float conversion).
//  - nf4: a 16-entry table in shared memory filled with packedTableValue (the shared numerics'
//    NF4 values; there is no formula). 16 words sit in 16 different banks, so a warp's lookups
//    never conflict (equal codes broadcast): one shared load per weight, as cheap as int4's trick.
//  - fp8-e4m3 / e5m2: the bits themselves, not a table: fp8E4M3FiniteToFp32 / fp8E5M2FiniteToFp32
//    (kernels/common/fp8.h: sign and magnitude shifted into place, one exact multiply by
//    2^(127 - bias); about four instructions). A 256-entry shared table would cost one load per
//    weight too, but random codes over 256 words collide in the 32 banks (several-way conflicts
//    for typical weights), which at one byte per weight would make shared memory, not HBM, the
//    limit. Words holding a NaN (or e5m2 inf) code, found with fp8SpecialMask, take the exact
//    packedTableValue decode, so every code decodes bit for bit as on the CPU.
//    (Needs fp32 denormals: the module is not built with -ftz=true; test_fp8_numerics checks the
//    fast decode against the exact one for every code.)
// Numerics: a 16-element chunk lies inside one scale group; the chunk's dot with the activations is
// summed in f32, then multiplied by the group's scale and added to the lane's sum; lanes are
// combined by a warp reduction. This is the CPU twin's value (packedWeightValue * x summed in f32)
// up to summation order and the scale being applied per chunk rather than per weight: both are
// within the conformance budget (f32 dot, 1e-5 relative to sum |w x|). Views that do not fit the
// vector loads take the tiled kernel (packed_gemm.cu).
// Tested by tests/kernels/test_backend_lowp.cpp (rows matmul_packed/* with n <= 8, every format,
// code book, granularity and zero-point mode, plus unaligned shapes that take the tiled path).
// Not yet run on a GPU (the nf4 / fp8 variants were only compiled).
#include <cstdint>

#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/lowp_ops.cuh"

namespace precis::cuda {
namespace {

constexpr int kRows = 4;           // rows per warp
constexpr int kWarpsPerBlock = 4;  // 16 rows per block
constexpr int kChunk = 16;         // inputs per lane per step

// 2^23 + v as a float for 0 <= v < 2^23: subtracting (2^23 + zero) gives v - zero exactly.
__device__ __forceinline__ float magic(uint32_t v) {
  return __uint_as_float(0x4B000000u | v);
}

// The 16 codes of row `row` starting at input k0, as numbers before scaling, in out[0..15]:
// (code - offset) for integer code books (int8 symmetric codes are two's complement: flipping the
// sign bit makes them unsigned, +128), the table entry for nf4 (nf4: the 16-entry shared table).
template <int Bits, PackedCodebook CB>
__device__ __forceinline__ void loadChunk(const PackedWeightsView& w, int64_t row, int64_t k0,
                                          float zf, const float* nf4, float (&out)[kChunk]) {
  const uint8_t* base = w.codes + size_t(row) * w.code_stride;
  if constexpr (Bits == 4) {
    const uint2 v = *reinterpret_cast<const uint2*>(base + k0 / 2);
    const uint32_t words[2] = {v.x, v.y};
#pragma unroll
    for (int q = 0; q < 2; ++q)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const uint32_t c = (words[q] >> (4 * j)) & 15u;
        if constexpr (CB == PackedCodebook::Nf4)
          out[8 * q + j] = nf4[c];
        else
          out[8 * q + j] = magic(c) - zf;
      }
  } else {
    const uint4 v = *reinterpret_cast<const uint4*>(base + k0);
    const uint32_t words[4] = {v.x, v.y, v.z, v.w};
    if constexpr (CB == PackedCodebook::Int) {
      const uint32_t flip = w.asym ? 0u : 0x80808080u;
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const uint32_t u = words[q] ^ flip;
#pragma unroll
        for (int j = 0; j < 4; ++j) out[4 * q + j] = magic((u >> (8 * j)) & 255u) - zf;
      }
    } else {
      constexpr bool kE5M2 = CB == PackedCodebook::Fp8E5M2;
      const uint32_t special = fp8SpecialMask(words[0], kE5M2) | fp8SpecialMask(words[1], kE5M2) |
                               fp8SpecialMask(words[2], kE5M2) | fp8SpecialMask(words[3], kE5M2);
      if (special == 0) {
#pragma unroll
        for (int q = 0; q < 4; ++q)
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            const uint32_t c = words[q] >> (8 * j);
            out[4 * q + j] = kE5M2 ? fp8E5M2FiniteToFp32(c) : fp8E4M3FiniteToFp32(c);
          }
      } else {  // a NaN / inf code in the chunk: the exact decode (rare)
#pragma unroll
        for (int q = 0; q < 4; ++q)
#pragma unroll
          for (int j = 0; j < 4; ++j)
            out[4 * q + j] = packedTableValue(CB, int((words[q] >> (8 * j)) & 255u));
      }
    }
  }
}

// w (rows, cols) packed; x (n, cols) f32; y (n, rows) f32.
template <int Bits, PackedCodebook CB, int NT>
__global__ void packedGemvKernel(PackedWeightsView w, const float* x, size_t x_stride, float* y,
                                 size_t y_stride, int n) {
  __shared__ float nf4[16];
  if constexpr (CB == PackedCodebook::Nf4) {
    if (threadIdx.x < 16) nf4[threadIdx.x] = packedTableValue(CB, int(threadIdx.x));
    __syncthreads();
  }
  const int lane = threadIdx.x % kWarp;
  const int64_t r0 = (int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp) * kRows;
  if (r0 >= w.rows) return;  // the whole warp leaves together: the shuffles below stay full-warp
  // Offset subtracted from the unsigned code (integer code books): the zero point (asymmetric), 8
  // (int4 symmetric, stored code + 8) or 128 (int8 symmetric after the sign flip).
  const int sym_off = Bits == 4 ? 8 : 128;
  float acc[kRows][NT];
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int t = 0; t < NT; ++t) acc[r][t] = 0.f;
  const int64_t chunks = w.cols / kChunk;
  for (int64_t c = lane; c < chunks; c += kWarp) {
    const int64_t k0 = c * kChunk;
    const int64_t g = k0 / w.group;
    float wv[kRows][kChunk];
    float sc[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int64_t row =
          r0 + r < w.rows ? r0 + r : w.rows - 1;  // tail rows repeat the last (not stored)
      const int64_t si = row * w.scale_stride + g;
      sc[r] = w.scales[si];
      float zf = 0.f;
      if constexpr (CB == PackedCodebook::Int)
        zf = 8388608.0f + float(w.asym ? int(w.zeros[si]) : sym_off);
      loadChunk<Bits, CB>(w, row, k0, zf, nf4, wv[r]);
    }
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      if (t >= n) break;
      const float4* xp =
          reinterpret_cast<const float4*>(reinterpret_cast<const char*>(x) + size_t(t) * x_stride) +
          k0 / 4;
      const float4 a = xp[0], b = xp[1], cc = xp[2], d = xp[3];
      const float xv[kChunk] = {a.x,  a.y,  a.z,  a.w,  b.x, b.y, b.z, b.w,
                                cc.x, cc.y, cc.z, cc.w, d.x, d.y, d.z, d.w};
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        float s = 0.f;
#pragma unroll
        for (int j = 0; j < kChunk; ++j) s = fmaf(wv[r][j], xv[j], s);
        acc[r][t] = fmaf(s, sc[r], acc[r][t]);
      }
    }
  }
#pragma unroll
  for (int t = 0; t < NT; ++t) {
    if (t >= n) break;
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const float sum = warpSum(acc[r][t]);
      if (lane == 0 && r0 + r < w.rows) rowPtr<float>(y, t, y_stride)[r0 + r] = sum;
    }
  }
}

template <int Bits, PackedCodebook CB>
cudaError_t launchBits(cudaStream_t stream, unsigned grid, const PackedWeightsView& w,
                       const float* x, size_t x_stride, float* y, size_t y_stride, int n) {
  constexpr int kThreads = kWarpsPerBlock * kWarp;
  if (n == 1)
    packedGemvKernel<Bits, CB, 1><<<grid, kThreads, 0, stream>>>(w, x, x_stride, y, y_stride, n);
  else
    packedGemvKernel<Bits, CB, kPackedGemvMaxTokens>
        <<<grid, kThreads, 0, stream>>>(w, x, x_stride, y, y_stride, n);
  return cudaGetLastError();
}

}  // namespace

bool packedGemvFits(const PackedWeightsView& w, const float* x, size_t x_stride) {
  const size_t code_align = w.bits == 4 ? 8 : 16;
  return (w.bits == 4 || w.bits == 8) && w.cols % kChunk == 0 && w.group % kChunk == 0 &&
         w.code_stride % code_align == 0 &&
         reinterpret_cast<uintptr_t>(w.codes) % code_align == 0 && x_stride % 16 == 0 &&
         reinterpret_cast<uintptr_t>(x) % 16 == 0;
}

cudaError_t launchPackedGemv(cudaStream_t stream, const PackedWeightsView& w, const float* x,
                             size_t x_stride, float* y, size_t y_stride, int64_t n) {
  if (n <= 0 || w.rows <= 0) return cudaSuccess;
  if (n > kPackedGemvMaxTokens || !packedGemvFits(w, x, x_stride)) return cudaErrorInvalidValue;
  constexpr int64_t kRowsPerBlock = int64_t(kRows) * kWarpsPerBlock;
  const int64_t grid = (w.rows + kRowsPerBlock - 1) / kRowsPerBlock;
  if (grid > 0x7fffffff) return cudaErrorInvalidConfiguration;
  const unsigned g = unsigned(grid);
  switch (w.codebook) {
    case PackedCodebook::Int:
      if (w.bits == 4)
        return launchBits<4, PackedCodebook::Int>(stream, g, w, x, x_stride, y, y_stride, int(n));
      return launchBits<8, PackedCodebook::Int>(stream, g, w, x, x_stride, y, y_stride, int(n));
    case PackedCodebook::Nf4:
      if (w.bits != 4 || w.asym) return cudaErrorInvalidValue;
      return launchBits<4, PackedCodebook::Nf4>(stream, g, w, x, x_stride, y, y_stride, int(n));
    case PackedCodebook::Fp8E4M3:
      if (w.bits != 8 || w.asym) return cudaErrorInvalidValue;
      return launchBits<8, PackedCodebook::Fp8E4M3>(stream, g, w, x, x_stride, y, y_stride, int(n));
    case PackedCodebook::Fp8E5M2:
      if (w.bits != 8 || w.asym) return cudaErrorInvalidValue;
      return launchBits<8, PackedCodebook::Fp8E5M2>(stream, g, w, x, x_stride, y, y_stride, int(n));
  }
  return cudaErrorInvalidValue;
}

}  // namespace precis::cuda
