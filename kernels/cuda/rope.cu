// RoPE on the GPU, in place: each pair (a, b) of a head turns by angle = pos * theta^(-2i/head_dim).
// Adjacent pairs are (2i, 2i+1) (llama2.c, GGUF); half pairs are (i, i + head_dim/2) (Hugging Face).
// The angle and its sine/cosine are computed in double: at positions in the thousands an f32 angle
// is off by ~1e-4 rad, more than the f32 tolerance of the conformance test.
// Tested by tests/kernels/test_backend_ops.cpp (rows rope/*, both styles).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/ops.cuh"

namespace precis::cuda {
namespace {

// x (n, heads * head_dim) f32; pos (n, 1) i32. One thread per (token, head, pair).
__global__ void ropeKernel(float* x, size_t x_stride, const void* pos, size_t pos_stride, int64_t n,
                           int64_t heads, int head_dim, float theta, bool half_pairs) {
  const int half = head_dim / 2;
  const int64_t total = n * heads * half;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int i = static_cast<int>(idx % half);
    const int64_t h = (idx / half) % heads;
    const int64_t t = idx / (int64_t(half) * heads);
    const int32_t p = *rowPtr<int32_t>(pos, t, pos_stride);
    const double freq = pow(static_cast<double>(theta), -2.0 * i / head_dim);
    double s, c;
    sincos(static_cast<double>(p) * freq, &s, &c);
    float* head = rowPtr<float>(x, t, x_stride) + h * head_dim;
    const int ia = half_pairs ? i : 2 * i;
    const int ib = half_pairs ? i + half : 2 * i + 1;
    const double a = head[ia], b = head[ib];
    head[ia] = static_cast<float>(a * c - b * s);
    head[ib] = static_cast<float>(a * s + b * c);
  }
}

}  // namespace

cudaError_t launchRope(cudaStream_t stream, float* x, size_t x_stride, const void* pos,
                       size_t pos_stride, int64_t n, int64_t heads, int head_dim, float theta,
                       bool half_pairs) {
  const int64_t total = n * heads * (head_dim / 2);
  if (total <= 0) return cudaSuccess;
  constexpr int kThreads = 256;
  ropeKernel<<<gridFor(total, kThreads), kThreads, 0, stream>>>(x, x_stride, pos, pos_stride, n,
                                                                heads, head_dim, theta, half_pairs);
  return cudaGetLastError();
}

}  // namespace precis::cuda
