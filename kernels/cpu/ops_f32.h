// CPU kernels of the f32 ops of the Llama forward (everything but the weight matmuls), working on
// a range of rows [r0, r1) so the CPU backend can split them across threads. They are also the
// CPU reference the CUDA kernels are compared with (tests/kernels/test_backend_ops.cpp).
#pragma once
#include <cstddef>
#include <cstdint>

namespace precis::cpu {

// y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w          x, y (rows, dim); w (dim)
void rmsNormRows(const float* x, size_t x_stride, const float* w, float eps, float* y,
                 size_t y_stride, int64_t dim, int64_t r0, int64_t r1);

// In-place RoPE of each head of rows [r0, r1).       x (rows, n_heads * head_dim); pos (rows)
// half_style = false: pairs (2i, 2i+1); true: pairs (i, i + head_dim/2).
// angle = pos * theta^(-2i/head_dim), i in [0, head_dim/2).
void ropeRows(float* x, size_t x_stride, const int32_t* pos, int64_t n_heads, int head_dim,
              float theta, bool half_style, int64_t r0, int64_t r1);

// Causal grouped-query attention for query rows [r0, r1) over a paged KV cache.
// q, out (rows, n_heads * head_dim); k, v caches (blocks * block_size, n_kv_heads * head_dim);
// block_table: row s (table_stride bytes apart) lists the blocks of sequence s, so position p of
// s is cache row table[s][p / block_size] * block_size + p % block_size; token r of sequence
// seq[r] attends to positions 0..pos[r]. The arithmetic does not depend on where the rows are, so
// a paged cache gives bit-identical results to a contiguous one.
// scratch: at least pos[r] + 1 floats per call (per thread).
struct AttentionShape {
  int n_heads, n_kv_heads, head_dim, block_size;
  float scale;
};
void attentionRows(const float* q, size_t q_stride, const float* k_cache, const float* v_cache,
                   size_t kv_stride, const int32_t* block_table, size_t table_stride,
                   const int32_t* seq, const int32_t* pos, const AttentionShape& shape, float* out,
                   size_t out_stride, float* scratch, int64_t r0, int64_t r1);

// a[r] = silu(a[r]) * b[r]                           a, b (rows, n)
void siluMulRows(float* a, size_t a_stride, const float* b, size_t b_stride, int64_t n,
                 int64_t r0, int64_t r1);
// y[r] += x[r]                                       x, y (rows, n)
void addRows(float* y, size_t y_stride, const float* x, size_t x_stride, int64_t n, int64_t r0,
             int64_t r1);

}  // namespace precis::cpu
