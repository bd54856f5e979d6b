// Weight dequantization for the cuBLAS path of quantized matmuls (n > kFusedGemvMaxTokens):
// q8_0/q4_0 rows -> packed f16 with the shared numerics. q*d is exact in f32 and then rounded
// once to f16 (relative error <= 2^-11), which the matmul's kernelName states.
// Tested by tests/kernels/test_backend_ops.cpp (rows matmul/q8_0 and matmul/q4_0 with n > 8).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/ops.cuh"

namespace precis::cuda {
namespace {

// w (rows, cols) of T, strided -> dst (rows, cols) f16 packed.
template <DType T>
__global__ void dequantKernel(const void* w, size_t w_stride, uint16_t* dst, int64_t rows,
                              int64_t cols) {
  const int64_t total = rows * cols;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = idx / cols;
    dst[idx] = fp32ToFp16(loadElement<T>(rowPtr<char>(w, r, w_stride), idx % cols));
  }
}

}  // namespace

cudaError_t launchDequantToF16(cudaStream_t stream, const void* w, DType type, size_t w_stride,
                               void* dst, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return cudaSuccess;
  constexpr int kThreads = 256;
  const unsigned grid = gridFor(rows * cols, kThreads);
  auto* d = static_cast<uint16_t*>(dst);
  if (type == DType::Q8_0)
    dequantKernel<DType::Q8_0><<<grid, kThreads, 0, stream>>>(w, w_stride, d, rows, cols);
  else if (type == DType::Q4_0)
    dequantKernel<DType::Q4_0><<<grid, kThreads, 0, stream>>>(w, w_stride, d, rows, cols);
  else
    return cudaErrorInvalidValue;
  return cudaGetLastError();
}

}  // namespace precis::cuda
