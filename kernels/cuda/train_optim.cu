// The optimizer's kernels on the GPU: partial sums of squares for the global gradient norm (double,
// one partial per block; the host adds the partials) and the AdamW update (adamwElement of
// kernels/common/train_numerics.h, the same function the CPU's AdamW::step calls).
// Tested by tests/train/test_train_backend_ops.cpp (rows sum_squares, adamw).
#include "kernels/cuda/train_common.cuh"
#include "kernels/cuda/train_ops.cuh"

namespace precis::cuda {
namespace {

constexpr int kMaxPartials = 1024;

__global__ void sumSquaresKernel(const float* x, int64_t n, double* partials) {
  __shared__ double scratch[kWarp];
  double s = 0.0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    s += double(x[i]) * x[i];
  s = blockSum<double>(s, scratch);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

__global__ void adamwKernel(float* p, const float* g, float* m, float* v, int64_t n,
                            AdamWElementParams a) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    adamwElement(&p[i], &m[i], &v[i], g[i], a);
}

}  // namespace

int sumSquaresBlocks(int64_t n) {
  const int64_t b = (n + kTrainThreads - 1) / kTrainThreads;
  return int(b < 1 ? 1 : (b > kMaxPartials ? kMaxPartials : b));
}

cudaError_t launchSumSquares(cudaStream_t stream, const float* x, int64_t n, double* partials) {
  sumSquaresKernel<<<unsigned(sumSquaresBlocks(n)), kTrainThreads, 0, stream>>>(x, n, partials);
  return cudaGetLastError();
}

cudaError_t launchAdamW(cudaStream_t stream, float* p, const float* g, float* m, float* v,
                        int64_t n, const AdamWElementParams& a) {
  if (n <= 0) return cudaSuccess;
  adamwKernel<<<gridFor(n, kTrainThreads), kTrainThreads, 0, stream>>>(p, g, m, v, n, a);
  return cudaGetLastError();
}

}  // namespace precis::cuda
