// RMSNorm of training on the GPU: the forward saves rstd per row; the backward adds dx (one block
// per row) and dw (one thread per column summing the rows in order, so it is deterministic and
// adds in the order of the CPU twin, kernels/cpu/train_ops.cpp rmsNorm*Rows). Sums in double.
// Tested by tests/train/test_train_backend_ops.cpp (rows rms_norm_fwd/*, rms_norm_bwd/*).
#include "kernels/cuda/train_common.cuh"
#include "kernels/cuda/train_ops.cuh"

namespace precis::cuda {
namespace {

// x, y (rows, dim); w (dim); rstd (rows). One block per row.
__global__ void rmsNormForwardKernel(const float* x, const float* w, float eps, float* y, float* rstd, int64_t dim) {
  __shared__ double scratch[kWarp];
  const int64_t r = blockIdx.x;
  const float* xr = x + r * dim;
  float* yr = y + r * dim;
  double ss = 0.0;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) ss += double(xr[i]) * xr[i];
  ss = blockSumD(ss, scratch);
  const float inv = static_cast<float>(1.0 / sqrt(ss / double(dim) + double(eps)));
  if (threadIdx.x == 0) rstd[r] = inv;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = xr[i] * inv * w[i];
}

// dx += r w dy - c x, c = r^3 sum(dy w x) / dim. One block per row.
__global__ void rmsNormBackwardDxKernel(const float* dy, const float* x, const float* w, const float* rstd, float* dx,
                                        int64_t dim) {
  __shared__ double scratch[kWarp];
  const int64_t row = blockIdx.x;
  const float* dyr = dy + row * dim;
  const float* xr = x + row * dim;
  float* dxr = dx + row * dim;
  const double r = rstd[row];
  double dot = 0.0;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) dot += double(dyr[i]) * w[i] * xr[i];
  dot = blockSumD(dot, scratch);
  const double c = r * r * r * dot / double(dim);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) dxr[i] += rmsNormDx(r, w[i], dyr[i], c, xr[i]);
}

// dw[i] += sum over rows of dy x r, rows in order. One thread per column.
__global__ void rmsNormBackwardDwKernel(const float* dy, const float* x, const float* rstd, float* dw, int64_t rows,
                                        int64_t dim) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= dim) return;
  float acc = dw[i];
  for (int64_t row = 0; row < rows; ++row) acc += rmsNormDw(rstd[row], dy[row * dim + i], x[row * dim + i]);
  dw[i] = acc;
}

}  // namespace

cudaError_t launchTrainRmsNormForward(cudaStream_t stream, const float* x, const float* w, float eps, float* y,
                                      float* rstd, int64_t rows, int64_t dim) {
  if (rows <= 0 || dim <= 0) return cudaSuccess;
  rmsNormForwardKernel<<<rowGrid(rows), kTrainThreads, 0, stream>>>(x, w, eps, y, rstd, dim);
  return cudaGetLastError();
}

cudaError_t launchTrainRmsNormBackward(cudaStream_t stream, const float* dy, const float* x, const float* w,
                                       const float* rstd, float* dx, float* dw, int64_t rows, int64_t dim) {
  if (rows <= 0 || dim <= 0) return cudaSuccess;
  // dw first: both kernels only read dy, x and rstd.
  rmsNormBackwardDwKernel<<<unsigned((dim + kTrainThreads - 1) / kTrainThreads), kTrainThreads, 0, stream>>>(
      dy, x, rstd, dw, rows, dim);
  rmsNormBackwardDxKernel<<<rowGrid(rows), kTrainThreads, 0, stream>>>(dy, x, w, rstd, dx, dim);
  return cudaGetLastError();
}

}  // namespace precis::cuda
