// CudaTrainBackend's matrix products on cuBLAS (see cuda_train_backend.h): the three products of a
// linear layer, and causal GQA attention as per-head strided-batched GEMMs (batched over the B
// sequences) around the softmax kernels of kernels/cuda/train_softmax.cu:
//   forward  S = Q K^T (scaled in the softmax), P = causal_softmax(S) (saved), O = P V
//   backward dP = dO V^T, dV += P^T dO, dS = P (dP - rowsum(P dP)) scale, dQ = dS K, dK += dS^T Q
// The descriptors (operands, leading dimensions, strides, transposes) come from
// engine/train/gemm_plan.h, which tests/train/test_gemm_plan.cpp runs through OpenBLAS on the CPU;
// here each is one cublasSgemm / cublasSgemmStridedBatched call. Full T x T products are computed
// and the softmax masks the upper triangle (simple; twice the minimum work).
// Tested by tests/train/test_train_backend_ops.cpp (rows linear, attention; GPU machines).
#include "engine/backend/cuda/cuda_train_backend.h"
#include "engine/train/gemm_plan.h"
#include "kernels/cuda/train_ops.cuh"

namespace precis {

bool CudaTrainBackend::gemm(const char* op, const gemm_plan::ColMajorGemm& g) {
  if (g.m <= 0 || g.n <= 0 || g.batch <= 0) return true;
  constexpr int64_t kIntMax = 2147483647;
  if (!require(g.m <= kIntMax && g.n <= kIntMax && g.k <= kIntMax && g.lda <= kIntMax &&
                   g.ldb <= kIntMax && g.ldc <= kIntMax && g.batch <= kIntMax,
               op, "matrix too large for a 32-bit cuBLAS call"))
    return false;
  const cublasOperation_t ta = g.transa ? CUBLAS_OP_T : CUBLAS_OP_N,
                          tb = g.transb ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (g.batch == 1)
    return checkBlas(cublasSgemm(blas_, ta, tb, int(g.m), int(g.n), int(g.k), &g.alpha, g.A,
                                 int(g.lda), g.B, int(g.ldb), &g.beta, g.C, int(g.ldc)),
                     op, "cublasSgemm");
  return checkBlas(cublasSgemmStridedBatched(blas_, ta, tb, int(g.m), int(g.n), int(g.k), &g.alpha,
                                             g.A, int(g.lda), g.strideA, g.B, int(g.ldb), g.strideB,
                                             &g.beta, g.C, int(g.ldc), g.strideC, int(g.batch)),
                   op, "cublasSgemmStridedBatched");
}

bool CudaTrainBackend::gemms(const char* op, const std::vector<gemm_plan::ColMajorGemm>& list) {
  for (const gemm_plan::ColMajorGemm& g : list)
    if (!gemm(op, g)) return false;
  return true;
}

void CudaTrainBackend::linearForward(const float* x, const float* w, float* y, int64_t n,
                                     int64_t in, int64_t out) {
  if (begin("linear_forward"))
    gemm("linear_forward", gemm_plan::linearForward(x, w, y, n, in, out));
}
void CudaTrainBackend::linearBackwardInput(const float* dy, const float* w, float* dx, int64_t n,
                                           int64_t in, int64_t out) {
  if (begin("linear_backward_input"))
    gemm("linear_backward_input", gemm_plan::linearBackwardInput(dy, w, dx, n, in, out));
}
void CudaTrainBackend::linearBackwardWeight(const float* dy, const float* x, float* dw, int64_t n,
                                            int64_t in, int64_t out) {
  if (begin("linear_backward_weight"))
    gemm("linear_backward_weight", gemm_plan::linearBackwardWeight(dy, x, dw, n, in, out));
}

void CudaTrainBackend::attentionForward(const float* q, const float* k, const float* v,
                                        const cpu::TrainAttnShape& s, float* probs, float* out) {
  const char* op = "attention_forward";
  if (!begin(op) || !require(s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads == 0, op,
                             "n_heads must be a multiple of n_kv_heads"))
    return;
  if (!gemms(op, gemm_plan::attentionScores(q, k, s, probs))) return;
  if (!check(cuda::launchCausalSoftmax(stream_, probs, s.B * s.n_heads * s.T, s.T, s.scale), op,
             "causal softmax"))
    return;
  gemms(op, gemm_plan::attentionOutput(probs, v, s, out));
}

void CudaTrainBackend::attentionBackward(const float* dout, const float* q, const float* k,
                                         const float* v, const float* probs,
                                         const cpu::TrainAttnShape& s, float* dq, float* dk,
                                         float* dv) {
  const char* op = "attention_backward";
  if (!begin(op) || !require(s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads == 0, op,
                             "n_heads must be a multiple of n_kv_heads"))
    return;
  const int64_t rows = s.B * s.n_heads * s.T;
  auto* dp = static_cast<float*>(scratch(dp_, size_t(rows * s.T) * sizeof(float), op));
  if (!dp || !gemms(op, gemm_plan::attentionBackwardValues(dout, v, probs, s, dp, dv))) return;
  if (!check(cuda::launchCausalSoftmaxBackward(stream_, probs, dp, rows, s.T, s.scale), op,
             "softmax backward"))
    return;
  gemms(op, gemm_plan::attentionBackwardQK(dp, q, k, s, dq, dk));
}

}  // namespace precis
