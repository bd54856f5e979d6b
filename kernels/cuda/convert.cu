// Activation conversion for the cuBLAS half-precision matmuls: f32 rows -> packed f16 or bf16,
// rounded to nearest even by the shared numerics (fp32ToFp16 / fp32ToBf16).
// Tested by tests/kernels/test_backend_ops.cpp (rows matmul/f16*, matmul/bf16*).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/ops.cuh"

namespace precis::cuda {
namespace {

// src (n, cols) f32 strided -> dst (n, cols) 16-bit packed.
template <bool kBf16>
__global__ void convertKernel(const float* src, size_t src_stride, uint16_t* dst, int64_t n,
                              int64_t cols) {
  const int64_t total = n * cols;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const float v = rowPtr<float>(src, idx / cols, src_stride)[idx % cols];
    dst[idx] = kBf16 ? fp32ToBf16(v) : fp32ToFp16(v);
  }
}

}  // namespace

cudaError_t launchConvertF32To16(cudaStream_t stream, const float* src, size_t src_stride,
                                 void* dst, DType dst_type, int64_t n, int64_t cols) {
  if (n <= 0 || cols <= 0) return cudaSuccess;
  constexpr int kThreads = 256;
  const unsigned grid = gridFor(n * cols, kThreads);
  auto* d = static_cast<uint16_t*>(dst);
  if (dst_type == DType::F16)
    convertKernel<false><<<grid, kThreads, 0, stream>>>(src, src_stride, d, n, cols);
  else if (dst_type == DType::BF16)
    convertKernel<true><<<grid, kThreads, 0, stream>>>(src, src_stride, d, n, cols);
  else
    return cudaErrorInvalidValue;
  return cudaGetLastError();
}

}  // namespace precis::cuda
