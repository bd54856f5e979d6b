// Fused dequantize GEMV for q8_0/q4_0 weights and a few tokens (n <= kFusedGemvMaxTokens):
// each weight block is read once, dequantized in registers with the shared numerics
// (q8_0Value / q4_0Value, exact in f32) and multiplied into up to 8 f32 accumulators per lane.
// One warp per output row. Decode is memory-bound, so the layout is chosen for bytes in flight:
// a warp covers 8 consecutive 32-element blocks per step (4 lanes per block, 8 elements per lane),
// and the step loop is unrolled so that several steps' loads are issued before their use. (The
// first version gave each lane one element of one block per step: 34 bytes in flight per warp,
// 0.15 TB/s on an H100, slower than cuBLAS on the f32 weights; docs/benchmarks.md.)
// Activations stay f32 (loaded as float4 when the rows are 16-byte aligned).
// Tested by tests/kernels/test_backend_ops.cpp (rows matmul/q8_0 and matmul/q4_0 with n <= 8,
// including rows of 1..9 groups of 8 blocks and unaligned, padded activations).
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/ops.cuh"

namespace precis::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kLanesPerQBlock = 4;                     // lanes sharing one 32-element block
constexpr int kElemsPerLane = kQK8_0 / kLanesPerQBlock;  // 8 consecutive elements per lane
constexpr int kQBlocksPerStep = kWarp / kLanesPerQBlock;  // 8 blocks per warp step
static_assert(kQK8_0 == 32 && kQK4_0 == 32, "32-element blocks");

template <DType T>
using QBlock = std::conditional_t<T == DType::Q8_0, BlockQ8_0, BlockQ4_0>;

template <DType T>
__device__ __forceinline__ float qValue(const QBlock<T>& b, int j) {
  if constexpr (T == DType::Q8_0) return q8_0Value(b, j);
  else return q4_0Value(b, j);
}

// Sum over k < 8 of w[k] * xr[k]; xr is 16-byte aligned when kVecX.
template <bool kVecX>
__device__ __forceinline__ float dot8(const float (&w)[kElemsPerLane], const float* xr) {
  if constexpr (kVecX) {
    const float4 a = reinterpret_cast<const float4*>(xr)[0];
    const float4 c = reinterpret_cast<const float4*>(xr)[1];
    return w[0] * a.x + w[1] * a.y + w[2] * a.z + w[3] * a.w + w[4] * c.x + w[5] * c.y + w[6] * c.z +
           w[7] * c.w;
  } else {
    float s = 0.f;
#pragma unroll
    for (int k = 0; k < kElemsPerLane; ++k) s += w[k] * xr[k];
    return s;
  }
}

// w (out, in) of T; x (n, in) f32; y (n, out) f32.
template <DType T, bool kVecX>
__global__ void quantGemvKernel(const void* w, size_t w_stride, const float* x, size_t x_stride,
                                float* y, size_t y_stride, int n, int64_t out, int64_t in) {
  const int lane = threadIdx.x % kWarp;
  const int64_t o = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  if (o >= out) return;  // whole warp leaves together: the shuffles below stay full-warp
  const QBlock<T>* wr = rowPtr<QBlock<T>>(w, o, w_stride);
  const int j0 = (lane % kLanesPerQBlock) * kElemsPerLane;
  float acc[kFusedGemvMaxTokens];
#pragma unroll
  for (int t = 0; t < kFusedGemvMaxTokens; ++t) acc[t] = 0.f;
  const int64_t blocks = in / kQK8_0;
#pragma unroll 4
  for (int64_t b = lane / kLanesPerQBlock; b < blocks; b += kQBlocksPerStep) {
    const QBlock<T>& blk = wr[b];
    float wv[kElemsPerLane];
#pragma unroll
    for (int k = 0; k < kElemsPerLane; ++k) wv[k] = qValue<T>(blk, j0 + k);
    const int64_t col = b * kQK8_0 + j0;
#pragma unroll
    for (int t = 0; t < kFusedGemvMaxTokens; ++t)
      if (t < n) acc[t] += dot8<kVecX>(wv, rowPtr<float>(x, t, x_stride) + col);
  }
#pragma unroll
  for (int t = 0; t < kFusedGemvMaxTokens; ++t) {
    if (t < n) {
      const float sum = warpSum(acc[t]);
      if (lane == 0) rowPtr<float>(y, t, y_stride)[o] = sum;
    }
  }
}

template <DType T>
cudaError_t launchTyped(cudaStream_t stream, unsigned grid, bool vec_x, const void* w, size_t w_stride,
                        const float* x, size_t x_stride, float* y, size_t y_stride, int n, int64_t out,
                        int64_t in) {
  constexpr int kThreads = kWarpsPerBlock * kWarp;
  if (vec_x)
    quantGemvKernel<T, true><<<grid, kThreads, 0, stream>>>(w, w_stride, x, x_stride, y, y_stride, n, out, in);
  else
    quantGemvKernel<T, false><<<grid, kThreads, 0, stream>>>(w, w_stride, x, x_stride, y, y_stride, n, out, in);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launchQuantGemv(cudaStream_t stream, const void* w, DType type, size_t w_stride,
                            const float* x, size_t x_stride, float* y, size_t y_stride,
                            int64_t n, int64_t out, int64_t in) {
  if (n <= 0 || out <= 0) return cudaSuccess;
  if (n > kFusedGemvMaxTokens || in % kWarp != 0) return cudaErrorInvalidValue;
  const int64_t grid = (out + kWarpsPerBlock - 1) / kWarpsPerBlock;
  if (grid > 0x7fffffff) return cudaErrorInvalidConfiguration;
  const unsigned g = static_cast<unsigned>(grid);
  // float4 loads of x need every row start 16-byte aligned (column offsets are multiples of 8).
  const bool vec_x = ((reinterpret_cast<uintptr_t>(x) | x_stride) & 15u) == 0;
  if (type == DType::Q8_0)
    return launchTyped<DType::Q8_0>(stream, g, vec_x, w, w_stride, x, x_stride, y, y_stride, int(n), out, in);
  if (type == DType::Q4_0)
    return launchTyped<DType::Q4_0>(stream, g, vec_x, w, w_stride, x, x_stride, y, y_stride, int(n), out, in);
  return cudaErrorInvalidValue;
}

}  // namespace precis::cuda
