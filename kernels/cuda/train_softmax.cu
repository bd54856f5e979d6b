// The softmax parts of causal attention in training, on the GPU (the products Q K^T, P V and their
// backward are cuBLAS batched GEMMs in engine/backend/cuda/cuda_train_attention.cpp): a causal
// softmax of score rows (saved as the probabilities the backward needs) and the softmax backward.
// One block per row; exp in float and sums in double. CPU twins: kernels/cpu/train_softmax.h (same
// arithmetic as kernels/cpu/train_ops.cpp attention*Groups). Tested by
// tests/train/test_train_backend_ops.cpp (attention rows) and, for the twins with the GEMM plan,
// tests/train/test_gemm_plan.cpp.
#include "kernels/cuda/train_common.cuh"
#include "kernels/cuda/train_ops.cuh"

namespace precis::cuda {
namespace {

// scores (rows, T) in place; row r is query position t = r % T. One block per row.
__global__ void causalSoftmaxKernel(float* scores, int64_t T, float scale) {
  __shared__ float fscratch[kWarp];
  __shared__ double dscratch[kWarp];
  const int64_t r = blockIdx.x, t = r % T;
  float* pr = scores + r * T;
  float mx = -INFINITY;
  for (int64_t u = threadIdx.x; u <= t; u += blockDim.x) {
    pr[u] = pr[u] * scale;
    mx = fmaxf(mx, pr[u]);
  }
  mx = blockMax(mx, fscratch);
  double sum = 0.0;
  for (int64_t u = threadIdx.x; u <= t; u += blockDim.x) {
    pr[u] = expf(pr[u] - mx);
    sum += pr[u];
  }
  sum = blockSum<double>(sum, dscratch);
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t u = threadIdx.x; u < T; u += blockDim.x) pr[u] = u <= t ? pr[u] * inv : 0.f;
}

// dp (rows, T) in place: dS = P (dP - sum P dP) * scale on u <= t, 0 above. One block per row.
__global__ void causalSoftmaxBackwardKernel(const float* probs, float* dp, int64_t T, float scale) {
  __shared__ double scratch[kWarp];
  const int64_t r = blockIdx.x, t = r % T;
  const float* pr = probs + r * T;
  float* dr = dp + r * T;
  double pdp = 0.0;
  for (int64_t u = threadIdx.x; u <= t; u += blockDim.x) pdp += double(pr[u]) * dr[u];
  pdp = blockSum<double>(pdp, scratch);
  const float c = static_cast<float>(pdp);
  for (int64_t u = threadIdx.x; u < T; u += blockDim.x)
    dr[u] = u <= t ? pr[u] * (dr[u] - c) * scale : 0.f;
}

}  // namespace

cudaError_t launchCausalSoftmax(cudaStream_t stream, float* scores, int64_t rows, int64_t T,
                                float scale) {
  if (rows <= 0 || T <= 0) return cudaSuccess;
  causalSoftmaxKernel<<<rowGrid(rows), kTrainThreads, 0, stream>>>(scores, T, scale);
  return cudaGetLastError();
}

cudaError_t launchCausalSoftmaxBackward(cudaStream_t stream, const float* probs, float* dp,
                                        int64_t rows, int64_t T, float scale) {
  if (rows <= 0 || T <= 0) return cudaSuccess;
  causalSoftmaxBackwardKernel<<<rowGrid(rows), kTrainThreads, 0, stream>>>(probs, dp, T, scale);
  return cudaGetLastError();
}

}  // namespace precis::cuda
