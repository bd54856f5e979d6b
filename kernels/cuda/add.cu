// add on the GPU: y += x element by element (residual connections).
// Tested by tests/kernels/test_backend_ops.cpp (rows add/*).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/ops.cuh"

namespace precis::cuda {
namespace {

// y, x (n, cols) f32. Grid-stride over all elements.
__global__ void addKernel(float* y, size_t y_stride, const float* x, size_t x_stride, int64_t n,
                          int64_t cols) {
  const int64_t total = n * cols;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = idx / cols, c = idx % cols;
    rowPtr<float>(y, r, y_stride)[c] += rowPtr<float>(x, r, x_stride)[c];
  }
}

}  // namespace

cudaError_t launchAdd(cudaStream_t stream, float* y, size_t y_stride, const float* x,
                      size_t x_stride, int64_t n, int64_t cols) {
  if (n <= 0 || cols <= 0) return cudaSuccess;
  constexpr int kThreads = 256;
  addKernel<<<gridFor(n * cols, kThreads), kThreads, 0, stream>>>(y, y_stride, x, x_stride, n, cols);
  return cudaGetLastError();
}

}  // namespace precis::cuda
