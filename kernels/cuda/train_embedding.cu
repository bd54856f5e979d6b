// Token embedding of training on the GPU: the forward gathers rows; the backward scatter-adds the
// rows' gradients deterministically: the host groups the positions by token id (CSR: distinct ids,
// offsets, positions in order), and one block per distinct id adds its positions in order, which
// is also the order of the CPU twin (engine/train/cpu_train_backend.cpp), so the sums are equal.
// Ids are checked by the host before upload. Tested by tests/train/test_train_backend_ops.cpp
// (rows embedding_fwd, embedding_bwd with repeated ids).
#include "kernels/cuda/train_common.cuh"
#include "kernels/cuda/train_ops.cuh"

namespace precis::cuda {
namespace {

// One block per row i.
__global__ void embeddingForwardKernel(const float* table, const int32_t* ids, float* out,
                                       int64_t dim) {
  const int64_t i = blockIdx.x;
  const float* src = table + int64_t(ids[i]) * dim;
  float* dst = out + i * dim;
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) dst[j] = src[j];
}

// One block per distinct id u.
__global__ void embeddingBackwardKernel(const float* dout, const int32_t* uniq,
                                        const int32_t* offsets, const int32_t* order, float* dtable,
                                        int64_t dim) {
  const int64_t u = blockIdx.x;
  float* row = dtable + int64_t(uniq[u]) * dim;
  const int32_t k0 = offsets[u], k1 = offsets[u + 1];
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) {
    float acc = row[j];
    for (int32_t k = k0; k < k1; ++k) acc += dout[int64_t(order[k]) * dim + j];
    row[j] = acc;
  }
}

}  // namespace

cudaError_t launchEmbeddingForward(cudaStream_t stream, const float* table, const int32_t* ids,
                                   float* out, int64_t n, int64_t dim) {
  if (n <= 0 || dim <= 0) return cudaSuccess;
  embeddingForwardKernel<<<rowGrid(n), kTrainThreads, 0, stream>>>(table, ids, out, dim);
  return cudaGetLastError();
}

cudaError_t launchEmbeddingBackward(cudaStream_t stream, const float* dout, const int32_t* uniq,
                                    const int32_t* offsets, const int32_t* order, int64_t n_uniq,
                                    float* dtable, int64_t dim) {
  if (n_uniq <= 0 || dim <= 0) return cudaSuccess;
  embeddingBackwardKernel<<<rowGrid(n_uniq), kTrainThreads, 0, stream>>>(dout, uniq, offsets, order,
                                                                         dtable, dim);
  return cudaGetLastError();
}

}  // namespace precis::cuda
