// Per-element numerics of training shared by the CPU twins (kernels/cpu/train_ops.cpp,
// engine/train/adamw.cpp) and the CUDA training kernels (kernels/cuda/train_*.cu): SwiGLU and its
// derivative, the RMSNorm backward element, the RoPE angle and pair rotation, the gradient of the
// distillation/cross-entropy loss with respect to one logit, and one AdamW element update.
// __host__ __device__ under nvcc. Unlike numerics.h these use exp/sqrt/sin/cos, so the GPU may
// differ from the CPU by a few ulps (the conformance tolerances of tests/train/
// test_train_backend_ops.cpp allow for it).
// Tested by tests/train/test_train_ops.cpp (through the CPU kernels, against finite differences)
// and tests/train/test_train_backend_ops.cpp (CUDA vs CPU).
#pragma once
#include <math.h>

#include "kernels/common/numerics.h"  // PRECIS_HD

namespace precis {

// silu(g) * u, written as in the CPU forward: g / (1 + exp(-g)) * u.
PRECIS_HD float swigluValue(float g, float u) {
  return g / (1.f + expf(-g)) * u;
}

// d/dg and d/du of h = silu(g) * u, times dh.
PRECIS_HD void swigluGrad(float dh, float g, float u, float* dg, float* du) {
  const float sig = 1.f / (1.f + expf(-g));
  const float silu = g * sig;
  *du = dh * silu;
  *dg = dh * u * (sig * (1.f + g * (1.f - sig)));
}

// RMSNorm backward of one element, y_i = x_i r w_i with r = rstd of the row:
//   dx_i = r w_i dy_i - c x_i  with c = r^3 sum_j(dy_j w_j x_j) / dim;   dw_i = dy_i x_i r
PRECIS_HD float rmsNormDx(double r, float w, float dy, double c, float x) {
  return static_cast<float>(r * w * dy - c * x);
}
PRECIS_HD float rmsNormDw(double r, float dy, float x) {
  return static_cast<float>(double(dy) * x * r);
}

// RoPE frequency of pair i of a head: theta^(-2i / head_dim), formed in double, stored as float
// (the training forward turns by angle = float(pos) * freq, in float).
PRECIS_HD float ropeFreq(float theta, int i, int head_dim) {
  return static_cast<float>(1.0 / pow(double(theta), double(2 * i) / double(head_dim)));
}
// (a, b) <- (a c - b s, a s + b c). The backward passes s = -sin: the transpose of a rotation.
PRECIS_HD void ropeRotatePair(float* a, float* b, float c, float s) {
  const float x = *a, y = *b;
  *a = x * c - y * s;
  *b = x * s + y * c;
}

// d loss / d z_i of  loss = alpha T^2 KL(softmax(t/T) || softmax(z/T)) + (1 - alpha) CE(softmax(z),
// label):
//   alpha T (qT_i - tT_i) + (1 - alpha) (q1_i - [i == label])
// qT, tT: student and teacher softmax at temperature T; q1: student softmax at T = 1. The soft term
// counts only with a teacher and alpha != 0, the hard term only with a label and alpha != 1.
PRECIS_HD double distillGradElement(double alpha, double T, double qT, double tT, double q1,
                                    bool soft, bool hard, bool is_label) {
  double g = 0.0;
  if (soft) g += alpha * T * (qT - tT);
  if (hard) g += (1.0 - alpha) * (q1 - (is_label ? 1.0 : 0.0));
  return g;
}

// One AdamW step of one weight (torch.optim.AdamW's order of operations, in double):
//   p *= decay; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= step_size m / (sqrt(v)/bc2_sqrt +
//   eps)
// with decay = 1 - lr wd (1 for tensors not decayed), step_size = lr / (1 - b1^t),
// bc2_sqrt = sqrt(1 - b2^t).
struct AdamWElementParams {
  double b1 = 0.9, b2 = 0.95, eps = 1e-8, decay = 1.0, step_size = 0.0, bc2_sqrt = 1.0;
};
PRECIS_HD void adamwElement(float* p, float* m, float* v, float g, const AdamWElementParams& a) {
  const double gi = g;
  const double mi = a.b1 * double(*m) + (1.0 - a.b1) * gi;
  const double vi = a.b2 * double(*v) + (1.0 - a.b2) * gi * gi;
  *m = static_cast<float>(mi);
  *v = static_cast<float>(vi);
  const double denom = sqrt(vi) / a.bc2_sqrt + a.eps;
  *p = static_cast<float>(double(*p) * a.decay - a.step_size * mi / denom);
}

}  // namespace precis
