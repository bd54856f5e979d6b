// Fused dequantize GEMV for q8_0/q4_0 weights and a few tokens (n <= kFusedGemvMaxTokens):
// each weight block is read once, dequantized in registers with the shared numerics
// (q8_0Value / q4_0Value, exact in f32) and multiplied into up to 8 f32 accumulators per lane.
// One warp per output row; lane j handles element j of every 32-element block, so the reads of a
// block's quants and of the activations are coalesced. Activations stay f32.
// Tested by tests/kernels/test_backend_ops.cpp (rows matmul/q8_0 and matmul/q4_0 with n <= 8).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/ops.cuh"

namespace precis::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;
static_assert(kQK8_0 == kWarp && kQK4_0 == kWarp, "one lane per element of a block");

// w (out, in) of T; x (n, in) f32; y (n, out) f32.
template <DType T>
__global__ void quantGemvKernel(const void* w, size_t w_stride, const float* x, size_t x_stride,
                                float* y, size_t y_stride, int n, int64_t out, int64_t in) {
  const int lane = threadIdx.x % kWarp;
  const int64_t o = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  if (o >= out) return;  // whole warp leaves together: the shuffles below stay full-warp
  const char* wr = rowPtr<char>(w, o, w_stride);
  float acc[kFusedGemvMaxTokens];
#pragma unroll
  for (int t = 0; t < kFusedGemvMaxTokens; ++t) acc[t] = 0.f;
  const int64_t blocks = in / kWarp;
  for (int64_t b = 0; b < blocks; ++b) {
    const float wv = loadElement<T>(wr, b * kWarp + lane);
#pragma unroll
    for (int t = 0; t < kFusedGemvMaxTokens; ++t)
      if (t < n) acc[t] += wv * rowPtr<float>(x, t, x_stride)[b * kWarp + lane];
  }
#pragma unroll
  for (int t = 0; t < kFusedGemvMaxTokens; ++t) {
    if (t < n) {
      const float sum = warpSum(acc[t]);
      if (lane == 0) rowPtr<float>(y, t, y_stride)[o] = sum;
    }
  }
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
  constexpr int kThreads = kWarpsPerBlock * kWarp;
  if (type == DType::Q8_0)
    quantGemvKernel<DType::Q8_0><<<g, kThreads, 0, stream>>>(w, w_stride, x, x_stride, y, y_stride,
                                                             int(n), out, in);
  else if (type == DType::Q4_0)
    quantGemvKernel<DType::Q4_0><<<g, kThreads, 0, stream>>>(w, w_stride, x, x_stride, y, y_stride,
                                                             int(n), out, in);
  else
    return cudaErrorInvalidValue;
  return cudaGetLastError();
}

}  // namespace precis::cuda
