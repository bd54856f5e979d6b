// storeRows on the GPU: dst[rows[i]] = src[i] (writes new K/V rows into the cache).
// A destination row outside [0, R) is skipped and sets a status bit: never an out-of-bounds write.
// Tested by tests/kernels/test_backend_ops.cpp (rows store_rows/*).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/ops.cuh"

namespace precis::cuda {
namespace {

// src (n, width) f32; dst (dst_rows, width) f32; rows (n, 1) i32. One block per source row.
__global__ void storeRowsKernel(const float* src, size_t src_stride, float* dst, size_t dst_stride,
                                int64_t dst_rows, const void* rows, size_t rows_stride,
                                int64_t width, unsigned* status) {
  const int64_t i = blockIdx.x;
  const int32_t r = *rowPtr<int32_t>(rows, i, rows_stride);
  if (r < 0 || r >= dst_rows) {
    if (threadIdx.x == 0) atomicOr(status, kStatusStoreRowsBadRow);
    return;
  }
  const float* s = rowPtr<float>(src, i, src_stride);
  float* d = rowPtr<float>(dst, r, dst_stride);
  for (int64_t j = threadIdx.x; j < width; j += blockDim.x) d[j] = s[j];
}

}  // namespace

cudaError_t launchStoreRows(cudaStream_t stream, const float* src, size_t src_stride, float* dst,
                            size_t dst_stride, int64_t dst_rows, const void* rows,
                            size_t rows_stride, int64_t n, int64_t width, unsigned* status) {
  if (n <= 0 || width <= 0) return cudaSuccess;
  storeRowsKernel<<<rowGrid(n), 256, 0, stream>>>(src, src_stride, dst, dst_stride, dst_rows, rows,
                                                  rows_stride, width, status);
  return cudaGetLastError();
}

}  // namespace precis::cuda
