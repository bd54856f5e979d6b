// getRows on the GPU: out[i] = float(table[ids[i]]) for tables of every format, dequantized per
// element with the shared numerics. An id outside [0, vocab) gives a NaN row and a status bit.
// Tested by tests/kernels/test_backend_ops.cpp (rows get_rows/*).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/ops.cuh"

namespace precis::cuda {
namespace {

// table (vocab, dim) of T; ids (n, 1) i32; out (n, dim) f32. One block per output row.
template <DType T>
__global__ void getRowsKernel(const void* table, size_t table_stride, int64_t vocab, const void* ids,
                              size_t ids_stride, float* out, size_t out_stride, int64_t dim,
                              unsigned* status) {
  const int64_t i = blockIdx.x;
  const int32_t id = *rowPtr<int32_t>(ids, i, ids_stride);
  float* dst = rowPtr<float>(out, i, out_stride);
  if (id < 0 || id >= vocab) {
    for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) dst[j] = NAN;
    if (threadIdx.x == 0) atomicOr(status, kStatusGetRowsBadId);
    return;
  }
  const void* src = rowPtr<char>(table, id, table_stride);
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) dst[j] = loadElement<T>(src, j);
}

template <DType T>
void launch(cudaStream_t stream, const void* table, size_t table_stride, int64_t vocab,
            const void* ids, size_t ids_stride, float* out, size_t out_stride, int64_t n,
            int64_t dim, unsigned* status) {
  getRowsKernel<T><<<rowGrid(n), 256, 0, stream>>>(table, table_stride, vocab, ids, ids_stride,
                                                   out, out_stride, dim, status);
}

}  // namespace

cudaError_t launchGetRows(cudaStream_t stream, const void* table, DType type, size_t table_stride,
                          int64_t vocab, const void* ids, size_t ids_stride, float* out,
                          size_t out_stride, int64_t n, int64_t dim, unsigned* status) {
  if (n <= 0 || dim <= 0) return cudaSuccess;
  switch (type) {
    case DType::F32: launch<DType::F32>(stream, table, table_stride, vocab, ids, ids_stride, out, out_stride, n, dim, status); break;
    case DType::F16: launch<DType::F16>(stream, table, table_stride, vocab, ids, ids_stride, out, out_stride, n, dim, status); break;
    case DType::BF16: launch<DType::BF16>(stream, table, table_stride, vocab, ids, ids_stride, out, out_stride, n, dim, status); break;
    case DType::Q8_0: launch<DType::Q8_0>(stream, table, table_stride, vocab, ids, ids_stride, out, out_stride, n, dim, status); break;
    case DType::Q4_0: launch<DType::Q4_0>(stream, table, table_stride, vocab, ids, ids_stride, out, out_stride, n, dim, status); break;
    default: return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace precis::cuda
