// Packed int8 / int4 / nf4 / fp8 weights times several tokens (kernels/common/packed_quant.h), for
// every view the fused GEMV does not take (more than 8 tokens, unaligned rows, groups not a
// multiple of 16):
//  - launchPackedGemmTiled (W8A16 / W4A16, every code book): 64 output rows x 64 tokens per block,
//    inputs in steps of 32; each step dequantizes its weight tile into shared memory with the CPU
//    twin's exact weight values (packedWeightValue; for nf4 / fp8 code books the same
//    mulRn(table[code], scale) read from a 256-entry table that the block fills once with
//    packedTableValue, instead of decoding each fp8 byte with the branchy exact decode) and stages
//    the f32 activations; 16x16 threads each own 4x4 outputs, f32 fused multiply-adds. Simple and
//    bounds-checked rather than tensor-core fast. (The table's bank conflicts matter little here:
//    each dequantized weight serves up to 64 tokens.)
//  - launchPackedInt8Act (W8A8 / W4A8): one warp per (output row, token); per scale group the lanes
//    form exact int32 sums of (code - zero) * q, a warp reduction gives the group's exact sum, and
//    acc = acc + float(sum) * w_scale in group order, y = acc * x_scale: the CPU portable kernel's
//    arithmetic, so results agree to the last bit up to fused multiply-add contraction there.
// Tested by tests/kernels/test_backend_lowp.cpp (matmul_packed rows with n > 8, odd shapes, int8
// activations per token and static, every format and granularity).
#include <cstdint>

#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/lowp_ops.cuh"

namespace precis::cuda {
namespace {

constexpr int kTile = 64;   // output rows and tokens per block
constexpr int kStepK = 32;  // inputs per shared-memory step
constexpr int kSide = 16;   // threads per side: 256 threads, 4x4 outputs each

// packedWeightValue(w, r, k), with code-book entries read from `table` (filled by the caller).
__device__ __forceinline__ float tileWeight(const PackedWeightsView& w, const float* table,
                                            int64_t r, int64_t k) {
  if (w.codebook == PackedCodebook::Int) return packedWeightValue(w, r, k);
  return mulRn(table[packedRawCode(w, r, k)], packedScale(w, r, k / w.group));
}

// w (rows, cols) packed; x (n, cols) f32; y (n, rows) f32. grid (row tiles, token tiles).
__global__ void packedGemmTiledKernel(PackedWeightsView w, const float* x, size_t x_stride,
                                      float* y, size_t y_stride, int64_t n) {
  __shared__ float ws[kStepK][kTile + 1];
  __shared__ float xs[kStepK][kTile + 1];
  __shared__ float table[256];  // code-book values (nf4: 16 entries repeated; int: unused)
  if (w.codebook != PackedCodebook::Int)
    for (int c = threadIdx.x; c < 256; c += blockDim.x) table[c] = packedTableValue(w.codebook, c);
  __syncthreads();
  const int tx = threadIdx.x % kSide, ty = threadIdx.x / kSide;
  const int64_t row0 = int64_t(blockIdx.x) * kTile, tok0 = int64_t(blockIdx.y) * kTile;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < w.cols; k0 += kStepK) {
    for (int e = threadIdx.x; e < kTile * kStepK; e += kSide * kSide) {
      const int i = e / kStepK, kk = e % kStepK;
      const int64_t r = row0 + i, t = tok0 + i, k = k0 + kk;
      ws[kk][i] = (r < w.rows && k < w.cols) ? tileWeight(w, table, r, k) : 0.f;
      xs[kk][i] = (t < n && k < w.cols) ? rowPtr<float>(x, t, x_stride)[k] : 0.f;
    }
    __syncthreads();
#pragma unroll 8
    for (int kk = 0; kk < kStepK; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        a[i] = xs[kk][ty + kSide * i];
        b[i] = ws[kk][tx + kSide * i];
      }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t t = tok0 + ty + kSide * i;
    if (t >= n) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t r = row0 + tx + kSide * j;
      if (r < w.rows) rowPtr<float>(y, t, y_stride)[r] = acc[i][j];
    }
  }
}

__device__ __forceinline__ int warpSumInt(int v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

constexpr int kInt8WarpsPerBlock = 4;

// One warp per (row, token): blockIdx.x * 4 + warp = row, blockIdx.y = token.
__global__ void packedInt8ActKernel(PackedWeightsView w, const int8_t* q, size_t q_stride,
                                    const float* x_scales, float* y, size_t y_stride) {
  const int lane = threadIdx.x % kWarp;
  const int64_t r = int64_t(blockIdx.x) * kInt8WarpsPerBlock + threadIdx.x / kWarp;
  const int64_t t = blockIdx.y;
  if (r >= w.rows) return;  // warp-uniform
  const int8_t* qr = rowPtr<int8_t>(q, t, q_stride);
  float acc = 0.f;
  const int64_t groups = w.cols / w.group;
  for (int64_t g = 0; g < groups; ++g) {
    int isum = 0;  // |sum| <= group * 255 * 127: fits for groups below 66,000 inputs
    for (int64_t k = g * w.group + lane; k < (g + 1) * w.group; k += kWarp)
      isum += packedInt(w, r, k) * int(qr[k]);
    isum = warpSumInt(isum);
    acc = addRn(acc, mulRn(float(isum), packedScale(w, r, g)));
  }
  if (lane == 0) rowPtr<float>(y, t, y_stride)[r] = mulRn(acc, x_scales[t]);
}

}  // namespace

cudaError_t launchPackedGemmTiled(cudaStream_t stream, const PackedWeightsView& w, const float* x,
                                  size_t x_stride, float* y, size_t y_stride, int64_t n) {
  if (n <= 0 || w.rows <= 0) return cudaSuccess;
  const int64_t gx = (w.rows + kTile - 1) / kTile, gy = (n + kTile - 1) / kTile;
  if (gx > 0x7fffffff || gy > 65535) return cudaErrorInvalidConfiguration;
  packedGemmTiledKernel<<<dim3(unsigned(gx), unsigned(gy)), kSide * kSide, 0, stream>>>(
      w, x, x_stride, y, y_stride, n);
  return cudaGetLastError();
}

cudaError_t launchPackedInt8Act(cudaStream_t stream, const PackedWeightsView& w, const int8_t* q,
                                size_t q_stride, const float* x_scales, float* y, size_t y_stride,
                                int64_t n) {
  if (n <= 0 || w.rows <= 0) return cudaSuccess;
  if (w.group > 66000) return cudaErrorInvalidValue;  // int32 group sums could overflow
  if (w.codebook != PackedCodebook::Int) return cudaErrorInvalidValue;  // table codes: no integers
  const int64_t gx = (w.rows + kInt8WarpsPerBlock - 1) / kInt8WarpsPerBlock;
  if (gx > 0x7fffffff || n > 65535) return cudaErrorInvalidConfiguration;
  packedInt8ActKernel<<<dim3(unsigned(gx), unsigned(n)), kInt8WarpsPerBlock * kWarp, 0, stream>>>(
      w, q, q_stride, x_scales, y, y_stride);
  return cudaGetLastError();
}

}  // namespace precis::cuda
