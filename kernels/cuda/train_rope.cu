// RoPE of training on the GPU, in place, forward (sign +1) or backward (sign -1: the transpose of a
// rotation turns by the opposite angle). Angle arithmetic as the CPU twin
// (kernels/cpu/train_ops.cpp ropeRotateRows): freq from ropeFreq (double, stored float), angle =
// float(pos) * freq in float. Tested by tests/train/test_train_backend_ops.cpp (rows rope_train/*,
// both styles and signs).
#include "kernels/cuda/train_common.cuh"
#include "kernels/cuda/train_ops.cuh"

namespace precis::cuda {
namespace {

// x (rows, heads * head_dim); pos (rows). One thread per (row, head, pair).
__global__ void trainRopeKernel(float* x, const int32_t* pos, int64_t rows, int64_t heads,
                                int head_dim, float theta, bool half_style, float sign) {
  const int half = head_dim / 2;
  const int64_t total = rows * heads * half;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int i = static_cast<int>(idx % half);
    const int64_t h = (idx / half) % heads;
    const int64_t r = idx / (int64_t(half) * heads);
    const float a = static_cast<float>(pos[r]) * ropeFreq(theta, i, head_dim);
    const float c = cosf(a), s = sign * sinf(a);
    float* v = x + (r * heads + h) * head_dim;
    const int i0 = half_style ? i : 2 * i, i1 = half_style ? i + half : 2 * i + 1;
    ropeRotatePair(&v[i0], &v[i1], c, s);
  }
}

}  // namespace

cudaError_t launchTrainRope(cudaStream_t stream, float* x, const int32_t* pos, int64_t rows,
                            int64_t heads, int head_dim, float theta, bool half_style, float sign) {
  const int64_t total = rows * heads * (head_dim / 2);
  if (total <= 0) return cudaSuccess;
  trainRopeKernel<<<gridFor(total, kTrainThreads), kTrainThreads, 0, stream>>>(
      x, pos, rows, heads, head_dim, theta, half_style, sign);
  return cudaGetLastError();
}

}  // namespace precis::cuda
