// RMSNorm of training on the GPU: the forward saves rstd per row; the backward adds dx (one block
// per row, double sums) and dw (partial sums over chunks of 32 rows, then the partials added in
// chunk order: deterministic, though in another order than the CPU twin's row-by-row sum,
// kernels/cpu/train_ops.cpp rmsNorm*Rows).
// Tested by tests/train/test_train_backend_ops.cpp (rows rms_norm_fwd/*, rms_norm_bwd/*).
#include "kernels/cuda/train_common.cuh"
#include "kernels/cuda/train_ops.cuh"

namespace precis::cuda {
namespace {

// x, y (rows, dim); w (dim); rstd (rows). One block per row.
__global__ void rmsNormForwardKernel(const float* x, const float* w, float eps, float* y,
                                     float* rstd, int64_t dim) {
  __shared__ double scratch[kWarp];
  const int64_t r = blockIdx.x;
  const float* xr = x + r * dim;
  float* yr = y + r * dim;
  double ss = 0.0;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) ss += double(xr[i]) * xr[i];
  ss = blockSum<double>(ss, scratch);
  const float inv = static_cast<float>(1.0 / sqrt(ss / double(dim) + double(eps)));
  if (threadIdx.x == 0) rstd[r] = inv;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = xr[i] * inv * w[i];
}

// dx += r w dy - c x, c = r^3 sum(dy w x) / dim. One block per row.
__global__ void rmsNormBackwardDxKernel(const float* dy, const float* x, const float* w,
                                        const float* rstd, float* dx, int64_t dim) {
  __shared__ double scratch[kWarp];
  const int64_t row = blockIdx.x;
  const float* dyr = dy + row * dim;
  const float* xr = x + row * dim;
  float* dxr = dx + row * dim;
  const double r = rstd[row];
  double dot = 0.0;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) dot += double(dyr[i]) * w[i] * xr[i];
  dot = blockSum<double>(dot, scratch);
  const double c = r * r * r * dot / double(dim);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
    dxr[i] += rmsNormDx(r, w[i], dyr[i], c, xr[i]);
}

// Partial dw over chunks of kRowsPerChunk rows: partial[c][i] = sum of dy x r over the chunk's
// rows, in order. grid (column blocks, chunks).
constexpr int64_t kRowsPerChunk = 32;
__global__ void rmsNormDwPartialKernel(const float* dy, const float* x, const float* rstd,
                                       float* partial, int64_t rows, int64_t dim) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= dim) return;
  const int64_t r0 = int64_t(blockIdx.y) * kRowsPerChunk, r1 = min(rows, r0 + kRowsPerChunk);
  float acc = 0.f;
  for (int64_t row = r0; row < r1; ++row)
    acc += rmsNormDw(rstd[row], dy[row * dim + i], x[row * dim + i]);
  partial[int64_t(blockIdx.y) * dim + i] = acc;
}
// dw[i] += the chunks' partials, in chunk order (deterministic). One thread per column.
__global__ void rmsNormDwReduceKernel(const float* partial, int64_t chunks, float* dw,
                                      int64_t dim) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= dim) return;
  float acc = 0.f;
  for (int64_t c = 0; c < chunks; ++c) acc += partial[c * dim + i];
  dw[i] += acc;
}

}  // namespace

cudaError_t launchTrainRmsNormForward(cudaStream_t stream, const float* x, const float* w,
                                      float eps, float* y, float* rstd, int64_t rows, int64_t dim) {
  if (rows <= 0 || dim <= 0) return cudaSuccess;
  rmsNormForwardKernel<<<rowGrid(rows), kTrainThreads, 0, stream>>>(x, w, eps, y, rstd, dim);
  return cudaGetLastError();
}

size_t rmsNormBackwardScratchFloats(int64_t rows, int64_t dim) {
  return size_t((rows + kRowsPerChunk - 1) / kRowsPerChunk) * size_t(dim);
}

cudaError_t launchTrainRmsNormBackward(cudaStream_t stream, const float* dy, const float* x,
                                       const float* w, const float* rstd, float* dx, float* dw,
                                       int64_t rows, int64_t dim, float* scratch) {
  if (rows <= 0 || dim <= 0) return cudaSuccess;
  // dw first (partials per chunk of rows, then their sum): these kernels only read dy, x and rstd.
  const int64_t chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
  const unsigned col_blocks = unsigned((dim + kTrainThreads - 1) / kTrainThreads);
  for (int64_t c0 = 0; c0 < chunks; c0 += 65535) {  // grid.y is at most 65535
    const int64_t nc = min(chunks - c0, int64_t(65535));
    rmsNormDwPartialKernel<<<dim3(col_blocks, unsigned(nc)), kTrainThreads, 0, stream>>>(
        dy + c0 * kRowsPerChunk * dim, x + c0 * kRowsPerChunk * dim, rstd + c0 * kRowsPerChunk,
        scratch + c0 * dim, rows - c0 * kRowsPerChunk, dim);
  }
  rmsNormDwReduceKernel<<<col_blocks, kTrainThreads, 0, stream>>>(scratch, chunks, dw, dim);
  rmsNormBackwardDxKernel<<<rowGrid(rows), kTrainThreads, 0, stream>>>(dy, x, w, rstd, dx, dim);
  return cudaGetLastError();
}

}  // namespace precis::cuda
