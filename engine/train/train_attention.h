// Causal grouped-query attention of training on OpenBLAS sgemm: the maths of
// kernels/cpu/train_ops.h attentionForwardGroups / attentionBackwardGroups (the plain-loop CPU
// twins, which stay the reference), with the products Q K^T, P V and their backward (dO V^T, P^T
// dO, dS K, dS^T Q) done per (sequence, query head) as sgemm calls over causal blocks of rows: rows
// [r0, r1) of a head only see keys [0, r1), so the blocks above the diagonal are never computed.
// Softmax denominators and the softmax backward's row sums are accumulated in double, as the twins
// do. Tested by tests/train/test_train_ops.cpp (equal to the twins on several shapes, gradients
// against finite differences) and the whole-model checks (tests/train/test_train_torch.cpp).
#pragma once
#include <cstdint>

#include "kernels/cpu/train_ops.h"

namespace precis::train {

// Groups [g0, g1) (g = b * n_kv_heads + kvh, each with its n_heads / n_kv_heads query heads).
// q, out (B*T, n_heads*hd); k, v (B*T, n_kv_heads*hd); probs (B, n_heads, T, T), saved for the
// backward with zeros above the diagonal.
void attentionForward(const float* q, const float* k, const float* v, const cpu::TrainAttnShape& s,
                      float* probs, float* out, int64_t g0, int64_t g1);

// dq, dk, dv (shaped as q, k, v) are overwritten for the groups' rows and columns.
// dout like out; probs from attentionForward; dscores (B, n_heads, T, T) scratch (the softmax input
// gradient; only the groups' slabs are written).
void attentionBackward(const float* dout, const float* q, const float* k, const float* v,
                       const float* probs, const cpu::TrainAttnShape& s, float* dq, float* dk,
                       float* dv, float* dscores, int64_t g0, int64_t g1);

}  // namespace precis::train
