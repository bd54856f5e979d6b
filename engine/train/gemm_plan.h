// The matrix products of training as column-major strided-batched SGEMM descriptors, exactly as the
// CUDA TrainBackend hands them to cuBLAS (engine/backend/cuda/cuda_train_gemm.cpp): the three
// products of a linear layer and the per-head products of causal GQA attention. Kept apart from
// the CUDA code so that a CPU test can run the very same descriptors through OpenBLAS's
// column-major sgemm and compare with the CPU twins (tests/train/test_gemm_plan.cpp): the operand
// pointers, leading dimensions, strides and transposes are checked without a GPU.
// Row-major C (m, n) = alpha op(A) op(B) + beta C is computed as column-major
// C^T (n, m) = alpha op(B)^T op(A)^T + beta C^T: swap the operands, keep the transposes.
// Header-only: the CUDA module and the engine both include it.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/cpu/train_ops.h"  // TrainAttnShape

namespace precis::gemm_plan {

// One cublasSgemmStridedBatched call (batch 1: cublasSgemm). Strides in elements.
struct ColMajorGemm {
  bool transa = false, transb = false;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1.f;
  const float* A = nullptr;
  int64_t lda = 0, strideA = 0;
  const float* B = nullptr;
  int64_t ldb = 0, strideB = 0;
  float beta = 0.f;
  float* C = nullptr;
  int64_t ldc = 0, strideC = 0;
  int64_t batch = 1;
};

// Row-major C (m, n) = alpha op(A) op(B) + beta C, `batch` times with element strides sA, sB, sC;
// op transposes when ta / tb. lda, ldb, ldc are the row-major row lengths in memory.
inline ColMajorGemm rowMajor(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                             const float* A, int64_t lda, int64_t sA, const float* B, int64_t ldb,
                             int64_t sB, float beta, float* C, int64_t ldc, int64_t sC,
                             int64_t batch = 1) {
  return ColMajorGemm{tb, ta, n, m, k, alpha, B, ldb, sB, A, lda, sA, beta, C, ldc, sC, batch};
}

// y (n, out) = x (n, in) W (out, in)^T
inline ColMajorGemm linearForward(const float* x, const float* w, float* y, int64_t n, int64_t in,
                                  int64_t out) {
  return rowMajor(false, true, n, out, in, 1.f, x, in, 0, w, in, 0, 0.f, y, out, 0);
}
// dx (n, in) += dy (n, out) W (out, in)
inline ColMajorGemm linearBackwardInput(const float* dy, const float* w, float* dx, int64_t n,
                                        int64_t in, int64_t out) {
  return rowMajor(false, false, n, in, out, 1.f, dy, out, 0, w, in, 0, 1.f, dx, in, 0);
}
// dW (out, in) += dy (n, out)^T x (n, in)
inline ColMajorGemm linearBackwardWeight(const float* dy, const float* x, float* dw, int64_t n,
                                         int64_t in, int64_t out) {
  return rowMajor(true, false, out, in, n, 1.f, dy, out, 0, x, in, 0, 1.f, dw, in, 0);
}

// Attention over B sequences of T tokens: q, out (B*T, H*hd); k, v (B*T, KV*hd); probs and the
// scratch dp (B, H, T, T). Query head h uses KV head h / (H / KV). Each list is batched over the
// sequences, one entry per head, in head order.
struct AttnDims {
  int64_t T, hd, H, qs, ks, group, B;
  explicit AttnDims(const cpu::TrainAttnShape& s)
      : T(s.T),
        hd(s.head_dim),
        H(s.n_heads),
        qs(int64_t(s.n_heads) * s.head_dim),
        ks(int64_t(s.n_kv_heads) * s.head_dim),
        group(s.n_heads / s.n_kv_heads),
        B(s.B) {}
};

// Forward, before the softmax: S_bh (T, T) = Q_bh (T, hd) K_bg (T, hd)^T into probs (unscaled).
inline std::vector<ColMajorGemm> attentionScores(const float* q, const float* k,
                                                 const cpu::TrainAttnShape& s, float* probs) {
  const AttnDims d(s);
  std::vector<ColMajorGemm> g;
  for (int64_t h = 0; h < d.H; ++h)
    g.push_back(rowMajor(false, true, d.T, d.T, d.hd, 1.f, q + h * d.hd, d.qs, d.T * d.qs,
                         k + h / d.group * d.hd, d.ks, d.T * d.ks, 0.f, probs + h * d.T * d.T, d.T,
                         d.H * d.T * d.T, d.B));
  return g;
}
// Forward, after the softmax: O_bh (T, hd) = P_bh (T, T) V_bg (T, hd).
inline std::vector<ColMajorGemm> attentionOutput(const float* probs, const float* v,
                                                 const cpu::TrainAttnShape& s, float* out) {
  const AttnDims d(s);
  std::vector<ColMajorGemm> g;
  for (int64_t h = 0; h < d.H; ++h)
    g.push_back(rowMajor(false, false, d.T, d.hd, d.T, 1.f, probs + h * d.T * d.T, d.T,
                         d.H * d.T * d.T, v + h / d.group * d.hd, d.ks, d.T * d.ks, 0.f,
                         out + h * d.hd, d.qs, d.T * d.qs, d.B));
  return g;
}
// Backward, before the softmax backward, per head: dP_bh = dO_bh V_bg^T; dV_bg (+)= P_bh^T dO_bh
// (the group's first head overwrites, the others add: they run in order, so no races).
inline std::vector<ColMajorGemm> attentionBackwardValues(const float* dout, const float* v,
                                                         const float* probs,
                                                         const cpu::TrainAttnShape& s, float* dp,
                                                         float* dv) {
  const AttnDims d(s);
  std::vector<ColMajorGemm> g;
  for (int64_t h = 0; h < d.H; ++h) {
    const float beta = h % d.group == 0 ? 0.f : 1.f;
    g.push_back(rowMajor(false, true, d.T, d.T, d.hd, 1.f, dout + h * d.hd, d.qs, d.T * d.qs,
                         v + h / d.group * d.hd, d.ks, d.T * d.ks, 0.f, dp + h * d.T * d.T, d.T,
                         d.H * d.T * d.T, d.B));
    g.push_back(rowMajor(true, false, d.T, d.hd, d.T, 1.f, probs + h * d.T * d.T, d.T,
                         d.H * d.T * d.T, dout + h * d.hd, d.qs, d.T * d.qs, beta,
                         dv + h / d.group * d.hd, d.ks, d.T * d.ks, d.B));
  }
  return g;
}
// Backward, after the softmax backward turned dp into dS (scaled): dQ_bh = dS_bh K_bg;
// dK_bg (+)= dS_bh^T Q_bh.
inline std::vector<ColMajorGemm> attentionBackwardQK(const float* ds, const float* q,
                                                     const float* k, const cpu::TrainAttnShape& s,
                                                     float* dq, float* dk) {
  const AttnDims d(s);
  std::vector<ColMajorGemm> g;
  for (int64_t h = 0; h < d.H; ++h) {
    const float beta = h % d.group == 0 ? 0.f : 1.f;
    g.push_back(rowMajor(false, false, d.T, d.hd, d.T, 1.f, ds + h * d.T * d.T, d.T,
                         d.H * d.T * d.T, k + h / d.group * d.hd, d.ks, d.T * d.ks, 0.f,
                         dq + h * d.hd, d.qs, d.T * d.qs, d.B));
    g.push_back(rowMajor(true, false, d.T, d.hd, d.T, 1.f, ds + h * d.T * d.T, d.T, d.H * d.T * d.T,
                         q + h * d.hd, d.qs, d.T * d.qs, beta, dk + h / d.group * d.hd, d.ks,
                         d.T * d.ks, d.B));
  }
  return g;
}

}  // namespace precis::gemm_plan
