// Host launchers of the CUDA kernels, one per op, each defined beside its kernel in <op>.cu.
// Plain C++ (no CUDA syntax): included by the backend (engine/backend/cuda), compiled by g++.
// Matrices are row-major; every `*_stride` is the distance between rows in BYTES.
// Launchers only queue work on `stream` and return the launch error (cudaGetLastError);
// bad indices found on the device set a bit of *status (see StatusBit) instead of writing out of
// bounds. Tested by tests/kernels/test_backend_ops.cpp on a GPU machine (scripts/gpu-check.sh).
#pragma once
#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

#include "kernels/common/dtype.h"

namespace precis::cuda {

// Bits a kernel ORs into the device status word when it meets an index it must not follow.
enum StatusBit : unsigned {
  kStatusGetRowsBadId = 1u << 0,      // an id outside [0, vocab): the row is written as NaN
  kStatusStoreRowsBadRow = 1u << 1,   // a destination row outside [0, R): that row is skipped
  kStatusAttentionBadRow = 1u << 2,   // seq/pos/block outside the table or cache: the output is written as NaN
};

// out[i, :] = float(table[ids[i], :])     table (vocab, dim) of `type`; ids (n, 1) i32; out (n, dim) f32
cudaError_t launchGetRows(cudaStream_t stream, const void* table, DType type, size_t table_stride,
                          int64_t vocab, const void* ids, size_t ids_stride, float* out,
                          size_t out_stride, int64_t n, int64_t dim, unsigned* status);

// y = x / sqrt(mean(x^2) + eps) * w       x, y (n, dim) f32 (may alias); w (dim) f32
cudaError_t launchRmsNorm(cudaStream_t stream, const float* x, size_t x_stride, const float* w,
                          float eps, float* y, size_t y_stride, int64_t n, int64_t dim);

// In-place RoPE of every head            x (n, heads * head_dim) f32; pos (n, 1) i32
// half_pairs false: pairs (2i, 2i+1); true: pairs (i, i + head_dim/2). angle = pos * theta^(-2i/head_dim)
cudaError_t launchRope(cudaStream_t stream, float* x, size_t x_stride, const void* pos,
                       size_t pos_stride, int64_t n, int64_t heads, int head_dim, float theta,
                       bool half_pairs);

// dst[rows[i], :] = src[i, :]             src (n, w) f32; dst (R, w) f32; rows (n, 1) i32
cudaError_t launchStoreRows(cudaStream_t stream, const float* src, size_t src_stride, float* dst,
                            size_t dst_stride, int64_t dst_rows, const void* rows,
                            size_t rows_stride, int64_t n, int64_t width, unsigned* status);

struct AttentionShape {
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int block_size = 0;      // cache rows per KV block
  int64_t cache_rows = 0;  // rows of k_cache / v_cache (blocks * block_size)
  int64_t table_rows = 0;  // sequences in the block table
  int64_t table_cols = 0;  // blocks per sequence in the block table
  float scale = 0.f;
};
// Causal grouped-query attention over a paged cache: token i attends to positions 0..pos[i] of
// sequence seq[i], position p at cache row table[seq[i]][p / block_size] * block_size + p % block_size.
// q, out (n, n_heads*head_dim) f32; k, v (cache_rows, >= n_kv_heads*head_dim) f32;
// table (table_rows, table_cols) i32; seq, pos (n, 1) i32
cudaError_t launchAttention(cudaStream_t stream, const float* q, size_t q_stride, const float* k,
                            size_t k_stride, const float* v, size_t v_stride, const void* table,
                            size_t table_stride, const void* seq, size_t seq_stride, const void* pos,
                            size_t pos_stride, const AttentionShape& shape, float* out,
                            size_t out_stride, int64_t n, float* scratch, unsigned* status);
// Device scratch launchAttention needs for n tokens (0 when it needs none; then scratch may be null):
// few tokens (decode) take a split path that writes per-split partial sums there.
size_t attentionScratchBytes(const AttentionShape& shape, int64_t n);

// a = silu(a) * b                         a, b (n, cols) f32
cudaError_t launchSiluMul(cudaStream_t stream, float* a, size_t a_stride, const float* b,
                          size_t b_stride, int64_t n, int64_t cols);

// y += x                                  x, y (n, cols) f32
cudaError_t launchAdd(cudaStream_t stream, float* y, size_t y_stride, const float* x,
                      size_t x_stride, int64_t n, int64_t cols);

// dst = half/bfloat16(src), contiguous    src (n, cols) f32 strided; dst (n, cols) 16-bit packed
// dst_type is F16 or BF16.
cudaError_t launchConvertF32To16(cudaStream_t stream, const float* src, size_t src_stride,
                                 void* dst, DType dst_type, int64_t n, int64_t cols);

// dst = f16(dequantize(w)), contiguous     w (rows, cols) q8_0 or q4_0; dst (rows, cols) f16 packed
cudaError_t launchDequantToF16(cudaStream_t stream, const void* w, DType type, size_t w_stride,
                               void* dst, int64_t rows, int64_t cols);

// Largest n the fused dequantize GEMV handles.
constexpr int kFusedGemvMaxTokens = 8;
// y = x * dequantize(w)^T with f32 accumulation, weights read once.
// w (out, in) q8_0 or q4_0; x (n, in) f32; y (n, out) f32; n <= kFusedGemvMaxTokens; in % 32 == 0.
cudaError_t launchQuantGemv(cudaStream_t stream, const void* w, DType type, size_t w_stride,
                            const float* x, size_t x_stride, float* y, size_t y_stride,
                            int64_t n, int64_t out, int64_t in);

// Writes 0x5eed to *word: a one-thread kernel the backend runs once at creation to prove that
// this module holds code the device can run.
cudaError_t launchSmokeTest(cudaStream_t stream, unsigned* word);

}  // namespace precis::cuda
