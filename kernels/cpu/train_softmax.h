// CPU twins of the softmax kernels of the CUDA attention in training
// (kernels/cuda/train_softmax.cu), which run between cuBLAS products (engine/train/gemm_plan.h): a
// causal softmax of score rows in place, and the softmax backward in place. Same arithmetic as the
// whole-attention CPU twin (train_ops.h attention*Groups): exp in float, sums in double. Tested by
// tests/train/test_gemm_plan.cpp (the GEMM plan + these == attention*Groups).
#pragma once
#include <cstdint>

namespace precis::cpu {

// One score row of query position t, in place: u <= t becomes softmax(scale * s) (exp in float,
// the sum in double), u > t 0. The row arithmetic of every causal softmax in training (the
// attention twins in train_ops.cpp, engine/train/train_attention.cpp, causalSoftmaxRows).
void causalSoftmaxRow(float* row, int64_t t, int64_t T, float scale);
// scores (rows, T): row r is query position t = r % T; u <= t becomes softmax(scale * s), u > t 0.
void causalSoftmaxRows(float* scores, int64_t rows, int64_t T, float scale);
// dp (rows, T) <- P (dp - sum_u P dp) * scale for u <= t, 0 above.     probs (rows, T)
void causalSoftmaxBackwardRows(const float* probs, float* dp, int64_t rows, int64_t T, float scale);

}  // namespace precis::cpu
