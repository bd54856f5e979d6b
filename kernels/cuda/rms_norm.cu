// rmsNorm on the GPU: y = x / sqrt(mean(x^2) + eps) * w, one block per row, f32 block reduction.
// x and y may be the same rows (each thread reads x[j] before writing y[j]).
// Tested by tests/kernels/test_backend_ops.cpp (rows rms_norm/*).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/ops.cuh"

namespace precis::cuda {
namespace {

constexpr int kThreads = 256;

// x, y (n, dim) f32; w (dim) f32. One block per row.
__global__ void rmsNormKernel(const float* x, size_t x_stride, const float* w, float eps, float* y,
                              size_t y_stride, int64_t dim) {
  __shared__ float scratch[kWarp];
  const int64_t i = blockIdx.x;
  const float* xr = rowPtr<float>(x, i, x_stride);
  float* yr = rowPtr<float>(y, i, y_stride);
  float ss = 0.f;
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) ss += xr[j] * xr[j];
  ss = blockSum(ss, scratch);
  const float inv = 1.0f / sqrtf(ss / static_cast<float>(dim) + eps);
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) yr[j] = xr[j] * inv * w[j];
}

}  // namespace

cudaError_t launchRmsNorm(cudaStream_t stream, const float* x, size_t x_stride, const float* w,
                          float eps, float* y, size_t y_stride, int64_t n, int64_t dim) {
  if (n <= 0 || dim <= 0) return cudaSuccess;
  rmsNormKernel<<<rowGrid(n), kThreads, 0, stream>>>(x, x_stride, w, eps, y, y_stride, dim);
  return cudaGetLastError();
}

}  // namespace precis::cuda
