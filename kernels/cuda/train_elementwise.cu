// Elementwise ops of training on the GPU: SwiGLU forward and backward (train_numerics.h, shared
// with the CPU twins in kernels/cpu/train_ops.cpp), y += x and x *= s. Grid-stride loops. Tested by
// tests/train/test_train_backend_ops.cpp (rows swiglu_fwd, swiglu_bwd, add, scale).
#include "kernels/cuda/train_common.cuh"
#include "kernels/cuda/train_ops.cuh"

namespace precis::cuda {
namespace {

#define PRECIS_GRID_STRIDE(i, n)                                            \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); \
       i += int64_t(gridDim.x) * blockDim.x)

__global__ void swigluForwardKernel(const float* g, const float* u, float* h, int64_t n) {
  PRECIS_GRID_STRIDE(i, n) h[i] = swigluValue(g[i], u[i]);
}
__global__ void swigluBackwardKernel(const float* dh, const float* g, const float* u, float* dg,
                                     float* du, int64_t n) {
  PRECIS_GRID_STRIDE(i, n) swigluGrad(dh[i], g[i], u[i], &dg[i], &du[i]);
}
__global__ void addKernel(float* y, const float* x, int64_t n) {
  PRECIS_GRID_STRIDE(i, n) y[i] += x[i];
}
__global__ void scaleKernel(float* x, float s, int64_t n) {
  PRECIS_GRID_STRIDE(i, n) x[i] *= s;
}

#undef PRECIS_GRID_STRIDE

}  // namespace

cudaError_t launchSwigluForward(cudaStream_t stream, const float* g, const float* u, float* h,
                                int64_t n) {
  if (n <= 0) return cudaSuccess;
  swigluForwardKernel<<<gridFor(n, kTrainThreads), kTrainThreads, 0, stream>>>(g, u, h, n);
  return cudaGetLastError();
}
cudaError_t launchSwigluBackward(cudaStream_t stream, const float* dh, const float* g,
                                 const float* u, float* dg, float* du, int64_t n) {
  if (n <= 0) return cudaSuccess;
  swigluBackwardKernel<<<gridFor(n, kTrainThreads), kTrainThreads, 0, stream>>>(dh, g, u, dg, du,
                                                                                n);
  return cudaGetLastError();
}
cudaError_t launchTrainAdd(cudaStream_t stream, float* y, const float* x, int64_t n) {
  if (n <= 0) return cudaSuccess;
  addKernel<<<gridFor(n, kTrainThreads), kTrainThreads, 0, stream>>>(y, x, n);
  return cudaGetLastError();
}
cudaError_t launchTrainScale(cudaStream_t stream, float* x, float s, int64_t n) {
  if (n <= 0) return cudaSuccess;
  scaleKernel<<<gridFor(n, kTrainThreads), kTrainThreads, 0, stream>>>(x, s, n);
  return cudaGetLastError();
}

}  // namespace precis::cuda
