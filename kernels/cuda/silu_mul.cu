// siluMul on the GPU: a = silu(a) * b = a / (1 + exp(-a)) * b, element by element (SwiGLU).
// Tested by tests/kernels/test_backend_ops.cpp (rows silu_mul/*).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/ops.cuh"

namespace precis::cuda {
namespace {

// a, b (n, cols) f32. Grid-stride over all elements.
__global__ void siluMulKernel(float* a, size_t a_stride, const float* b, size_t b_stride, int64_t n,
                              int64_t cols) {
  const int64_t total = n * cols;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = idx / cols, c = idx % cols;
    float* ar = rowPtr<float>(a, r, a_stride);
    const float v = ar[c];
    // expf(-v) overflows to inf for v < -88: v / inf = -0, the right limit of silu.
    ar[c] = v / (1.0f + expf(-v)) * rowPtr<float>(b, r, b_stride)[c];
  }
}

}  // namespace

cudaError_t launchSiluMul(cudaStream_t stream, float* a, size_t a_stride, const float* b,
                          size_t b_stride, int64_t n, int64_t cols) {
  if (n <= 0 || cols <= 0) return cudaSuccess;
  constexpr int kThreads = 256;
  siluMulKernel<<<gridFor(n * cols, kThreads), kThreads, 0, stream>>>(a, a_stride, b, b_stride, n, cols);
  return cudaGetLastError();
}

}  // namespace precis::cuda
