// CudaTrainBackend's matrix products on cuBLAS (see cuda_train_backend.h): the three products of a
// linear layer, and causal GQA attention as per-head strided-batched GEMMs (batched over the B
// sequences) around the softmax kernels of kernels/cuda/train_softmax.cu:
//   forward  S = Q K^T (scaled in the softmax), P = causal_softmax(S) (saved), O = P V
//   backward dP = dO V^T, dV += P^T dO, dS = P (dP - rowsum(P dP)) scale, dQ = dS K, dK += dS^T Q
// Query head h reads KV head h / (n_heads / n_kv_heads); the heads of one KV group are processed
// one after another, so their dK/dV sums need no atomics. Full T x T products are computed and the
// softmax masks the upper triangle (simple, twice the minimum work).
// Row-major operands map to cuBLAS's column-major by computing C^T = op(B)^T op(A)^T.
// Tested by tests/train/test_train_backend_ops.cpp (rows linear_*, attention_*; GPU machines).
#include "engine/backend/cuda/cuda_train_backend.h"
#include "kernels/cuda/train_ops.cuh"

namespace precis {

bool CudaTrainBackend::gemm(const char* op, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                            const float* A, int64_t lda, int64_t sA, const float* B, int64_t ldb, int64_t sB,
                            float beta, float* C, int64_t ldc, int64_t sC, int64_t batch) {
  if (m <= 0 || n <= 0 || batch <= 0) return true;
  constexpr int64_t kIntMax = 2147483647;
  if (!require(m <= kIntMax && n <= kIntMax && k <= kIntMax && lda <= kIntMax && ldb <= kIntMax && ldc <= kIntMax,
               op, "matrix too large for a 32-bit cuBLAS call"))
    return false;
  const cublasOperation_t opA = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opB = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (batch == 1)
    return checkBlas(cublasSgemm(blas_, opB, opA, int(n), int(m), int(k), &alpha, B, int(ldb), A, int(lda), &beta, C,
                                 int(ldc)),
                     op, "cublasSgemm");
  return checkBlas(cublasSgemmStridedBatched(blas_, opB, opA, int(n), int(m), int(k), &alpha, B, int(ldb), sB, A,
                                             int(lda), sA, &beta, C, int(ldc), sC, int(batch)),
                   op, "cublasSgemmStridedBatched");
}

void CudaTrainBackend::linearForward(const float* x, const float* w, float* y, int64_t n, int64_t in, int64_t out) {
  // y (n, out) = x (n, in) W (out, in)^T
  if (begin("linear_forward")) gemm("linear_forward", false, true, n, out, in, 1.f, x, in, 0, w, in, 0, 0.f, y, out, 0, 1);
}
void CudaTrainBackend::linearBackwardInput(const float* dy, const float* w, float* dx, int64_t n, int64_t in,
                                           int64_t out) {
  // dx (n, in) += dy (n, out) W (out, in)
  if (begin("linear_backward_input"))
    gemm("linear_backward_input", false, false, n, in, out, 1.f, dy, out, 0, w, in, 0, 1.f, dx, in, 0, 1);
}
void CudaTrainBackend::linearBackwardWeight(const float* dy, const float* x, float* dw, int64_t n, int64_t in,
                                            int64_t out) {
  // dW (out, in) += dy (n, out)^T x (n, in)
  if (begin("linear_backward_weight"))
    gemm("linear_backward_weight", true, false, out, in, n, 1.f, dy, out, 0, x, in, 0, 1.f, dw, in, 0, 1);
}

void CudaTrainBackend::attentionForward(const float* q, const float* k, const float* v, const cpu::TrainAttnShape& s,
                                        float* probs, float* out) {
  const char* op = "attention_forward";
  if (!begin(op) || !require(s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads == 0, op, "n_heads must be a multiple of n_kv_heads"))
    return;
  const int64_t T = s.T, hd = s.head_dim, H = s.n_heads, qs = H * hd, ks = int64_t(s.n_kv_heads) * hd;
  const int group = s.n_heads / s.n_kv_heads;
  for (int64_t h = 0; h < H; ++h) {  // S_bh (T, T) = Q_bh (T, hd) K_bg (T, hd)^T
    const int64_t g = h / group;
    if (!gemm(op, false, true, T, T, hd, 1.f, q + h * hd, qs, T * qs, k + g * hd, ks, T * ks, 0.f, probs + h * T * T, T,
              H * T * T, s.B))
      return;
  }
  if (!check(cuda::launchCausalSoftmax(stream_, probs, s.B * H * T, T, s.scale), op, "causal softmax")) return;
  for (int64_t h = 0; h < H; ++h) {  // O_bh (T, hd) = P_bh (T, T) V_bg (T, hd)
    const int64_t g = h / group;
    if (!gemm(op, false, false, T, hd, T, 1.f, probs + h * T * T, T, H * T * T, v + g * hd, ks, T * ks, 0.f,
              out + h * hd, qs, T * qs, s.B))
      return;
  }
}

void CudaTrainBackend::attentionBackward(const float* dout, const float* q, const float* k, const float* v,
                                         const float* probs, const cpu::TrainAttnShape& s, float* dq, float* dk,
                                         float* dv) {
  const char* op = "attention_backward";
  if (!begin(op) || !require(s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads == 0, op, "n_heads must be a multiple of n_kv_heads"))
    return;
  const int64_t T = s.T, hd = s.head_dim, H = s.n_heads, qs = H * hd, ks = int64_t(s.n_kv_heads) * hd;
  const int group = s.n_heads / s.n_kv_heads;
  auto* dp = static_cast<float*>(scratch(dp_, size_t(s.B * H * T * T) * sizeof(float), op));
  if (!dp) return;
  for (int64_t h = 0; h < H; ++h) {
    const int64_t g = h / group;
    const float first = h % group == 0 ? 0.f : 1.f;  // the group's first head overwrites dK/dV
    // dP_bh (T, T) = dO_bh (T, hd) V_bg (T, hd)^T
    if (!gemm(op, false, true, T, T, hd, 1.f, dout + h * hd, qs, T * qs, v + g * hd, ks, T * ks, 0.f, dp + h * T * T, T,
              H * T * T, s.B))
      return;
    // dV_bg (T, hd) (+)= P_bh (T, T)^T dO_bh (T, hd)
    if (!gemm(op, true, false, T, hd, T, 1.f, probs + h * T * T, T, H * T * T, dout + h * hd, qs, T * qs, first,
              dv + g * hd, ks, T * ks, s.B))
      return;
  }
  if (!check(cuda::launchCausalSoftmaxBackward(stream_, probs, dp, s.B * H * T, T, s.scale), op, "softmax backward"))
    return;
  for (int64_t h = 0; h < H; ++h) {
    const int64_t g = h / group;
    const float first = h % group == 0 ? 0.f : 1.f;
    // dQ_bh (T, hd) = dS_bh (T, T) K_bg (T, hd)
    if (!gemm(op, false, false, T, hd, T, 1.f, dp + h * T * T, T, H * T * T, k + g * hd, ks, T * ks, 0.f, dq + h * hd,
              qs, T * qs, s.B))
      return;
    // dK_bg (T, hd) (+)= dS_bh (T, T)^T Q_bh (T, hd)
    if (!gemm(op, true, false, T, hd, T, 1.f, dp + h * T * T, T, H * T * T, q + h * hd, qs, T * qs, first, dk + g * hd,
              ks, T * ks, s.B))
      return;
  }
}

}  // namespace precis
