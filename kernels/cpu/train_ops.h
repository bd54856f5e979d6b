// CPU kernels of training: forward ops that save what their backward needs, and the backward of
// every op of the Llama family (RMSNorm, RoPE, causal GQA attention, SwiGLU, softmax losses).
// Plain fp32 loops (double accumulation where a sum feeds a division); each works on a range of
// rows or heads so the engine can split it across threads. Weight matmuls use OpenBLAS sgemm
// (engine/train/train_gemm.h). They are the CPU twins a GPU training backend is checked against.
// Tested by tests/train/test_train_ops.cpp (every backward against central finite differences in
// double) and tests/train/test_train_torch.cpp (a whole model against PyTorch autograd).
#pragma once
#include <cstdint>

namespace precis::cpu {

// y[r] = x[r] * rstd[r] * w; rstd[r] = 1/sqrt(mean(x[r]^2) + eps)     x, y (rows, dim); rstd (rows)
void rmsNormForwardRows(const float* x, const float* w, float eps, float* y, float* rstd, int64_t dim,
                        int64_t r0, int64_t r1);
// dx[r] += d/dx; dw += d/dw (dw is accumulated: give each thread its own dw, or one range).
// dy, x, dx (rows, dim); rstd (rows) from the forward.
void rmsNormBackwardRows(const float* dy, const float* x, const float* w, const float* rstd, float* dx,
                         float* dw, int64_t dim, int64_t r0, int64_t r1);

// In-place RoPE (forward with sign = +1, backward with sign = -1: the transpose of a rotation is the
// rotation by the opposite angle) of rows [r0, r1).   x (rows, n_heads * head_dim); pos (rows)
void ropeRotateRows(float* x, const int32_t* pos, int64_t n_heads, int head_dim, float theta,
                    bool half_style, float sign, int64_t r0, int64_t r1);

// Causal grouped-query attention over B sequences of T tokens, for the (sequence, kv-head) groups
// [g0, g1) (g = b * n_kv_heads + kvh), each covering its n_heads/n_kv_heads query heads.
// q, out (B*T, n_heads*hd); k, v (B*T, n_kv_heads*hd); probs (B, n_heads, T, T) saved for backward.
struct TrainAttnShape {
  int64_t B, T;
  int n_heads, n_kv_heads, head_dim;
  float scale;
};
void attentionForwardGroups(const float* q, const float* k, const float* v, const TrainAttnShape& s,
                            float* probs, float* out, int64_t g0, int64_t g1);
// dq, dk, dv are overwritten for the groups' rows/columns.   dout like out; scratch: T floats.
void attentionBackwardGroups(const float* dout, const float* q, const float* k, const float* v,
                             const float* probs, const TrainAttnShape& s, float* dq, float* dk, float* dv,
                             float* scratch, int64_t g0, int64_t g1);

// h = silu(g) * u for elements [i0, i1).               g, u, h (n)
void swigluForward(const float* g, const float* u, float* h, int64_t i0, int64_t i1);
// dg = dh * u * silu'(g); du = dh * silu(g)            all (n)
void swigluBackward(const float* dh, const float* g, const float* u, float* dg, float* du, int64_t i0,
                    int64_t i1);
// The same pair with the forward saving sig = sigmoid(g) (n) so that the backward needs no exp:
// h = g * sig * u;  dg = dh * u * sig * (1 + g (1 - sig)); du = dh * g * sig.
void swigluForwardSaveSigmoid(const float* g, const float* u, float* h, float* sig, int64_t i0, int64_t i1);
void swigluBackwardFromSigmoid(const float* dh, const float* g, const float* u, const float* sig, float* dg,
                               float* du, int64_t i0, int64_t i1);

// Distillation / cross-entropy loss of one row of student logits z (V), per the classic recipe:
//   loss = alpha * T^2 * KL(softmax(t/T) || softmax(z/T)) + (1 - alpha) * CE(softmax(z), label)
// teacher may be null (then alpha must be 0). label < 0 drops the CE term's row (weight 0).
// Writes dz = d loss / d z scaled by `grad_scale` (e.g. 1/rows for a mean) when dz is non-null.
// Also reports the plain (T = 1) statistics of the row: ce = -log p_student(label),
// kl1 = KL(softmax(t) || softmax(z)) and whether the arg-maxes agree.
struct LossRowStats {
  double loss = 0, ce = 0, kl1 = 0;
  bool top1_agree = false;
};
struct DistillParams {
  float alpha = 0.f;        // weight of the soft-label term
  float temperature = 1.f;  // T
};
LossRowStats distillLossRow(const float* z, const float* teacher, int32_t label, int64_t V,
                            const DistillParams& p, float grad_scale, float* dz, double* scratch);

}  // namespace precis::cpu
