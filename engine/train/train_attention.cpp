// Training attention on sgemm (see train_attention.h). Each head's (T, T) score matrix is handled
// in blocks of kBlock rows: block [r0, r1) multiplies against keys [0, r1) only. Entries above the
// diagonal inside a block are computed by the sgemm and then overwritten with zeros, so probs and
// dscores hold exact zeros there, which the products over columns rely on.
#include "engine/train/train_attention.h"

#include <cblas.h>

#include <algorithm>

#include "kernels/cpu/train_softmax.h"

namespace precis::train {
namespace {

constexpr int64_t kBlock = 32;

// The pointers of one (sequence, query head): strided views into the (B*T, heads*hd) activations.
struct HeadView {
  int64_t q_off, kv_off, p_off;  // offsets of the head's first row in q/out, k/v, probs
};

HeadView headView(const cpu::TrainAttnShape& s, int64_t b, int64_t h, int64_t kvh) {
  const int64_t hd = s.head_dim, qs = int64_t(s.n_heads) * hd, ks = int64_t(s.n_kv_heads) * hd;
  return {b * s.T * qs + h * hd, b * s.T * ks + kvh * hd, (b * s.n_heads + h) * s.T * s.T};
}

}  // namespace

void attentionForward(const float* q, const float* k, const float* v, const cpu::TrainAttnShape& s,
                      float* probs, float* out, int64_t g0, int64_t g1) {
  const int hd = s.head_dim, group = s.n_heads / s.n_kv_heads;
  const int qs = s.n_heads * hd, ks = s.n_kv_heads * hd;
  const int64_t T = s.T;
  for (int64_t g = g0; g < g1; ++g) {
    const int64_t b = g / s.n_kv_heads, kvh = g % s.n_kv_heads;
    for (int hq = 0; hq < group; ++hq) {
      const HeadView hv = headView(s, b, kvh * group + hq, kvh);
      const float* Q = q + hv.q_off;   // (T, hd), row stride qs
      const float* K = k + hv.kv_off;  // (T, hd), row stride ks
      const float* V = v + hv.kv_off;
      float* P = probs + hv.p_off;  // (T, T)
      float* O = out + hv.q_off;
      for (int64_t r0 = 0; r0 < T; r0 += kBlock) {
        const int64_t r1 = std::min(T, r0 + kBlock);
        // S[r0:r1, 0:r1] = scale * Q[r0:r1] K[0:r1]^T
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(r1 - r0), int(r1), hd, s.scale,
                    Q + r0 * qs, qs, K, ks, 0.f, P + r0 * T, int(T));
        for (int64_t t = r0; t < r1; ++t) cpu::causalSoftmaxRow(P + t * T, t, T, 1.f);  // scaled by the product
        // O[r0:r1] = P[r0:r1, 0:r1] V[0:r1]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(r1 - r0), hd, int(r1), 1.f,
                    P + r0 * T, int(T), V, ks, 0.f, O + r0 * qs, qs);
      }
    }
  }
}

void attentionBackward(const float* dout, const float* q, const float* k, const float* v,
                       const float* probs, const cpu::TrainAttnShape& s, float* dq, float* dk,
                       float* dv, float* dscores, int64_t g0, int64_t g1) {
  const int hd = s.head_dim, group = s.n_heads / s.n_kv_heads;
  const int qs = s.n_heads * hd, ks = s.n_kv_heads * hd;
  const int64_t T = s.T;
  for (int64_t g = g0; g < g1; ++g) {
    const int64_t b = g / s.n_kv_heads, kvh = g % s.n_kv_heads;
    for (int hq = 0; hq < group; ++hq) {
      const HeadView hv = headView(s, b, kvh * group + hq, kvh);
      const float* dO = dout + hv.q_off;  // (T, hd), row stride qs
      const float* Q = q + hv.q_off;
      const float* K = k + hv.kv_off;  // (T, hd), row stride ks
      const float* V = v + hv.kv_off;
      const float* P = probs + hv.p_off;  // (T, T)
      float* dS = dscores + hv.p_off;
      float* dQ = dq + hv.q_off;
      float* dK = dk + hv.kv_off;
      float* dV = dv + hv.kv_off;
      // The group's query heads share K and V: the first overwrites dK/dV, the others add.
      const float beta = hq == 0 ? 0.f : 1.f;
      for (int64_t r0 = 0; r0 < T; r0 += kBlock) {
        const int64_t r1 = std::min(T, r0 + kBlock);
        // dP[r0:r1, 0:r1] = dO[r0:r1] V[0:r1]^T
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(r1 - r0), int(r1), hd, 1.f,
                    dO + r0 * qs, qs, V, ks, 0.f, dS + r0 * T, int(T));
        // dS[t, u] = scale * P[t, u] (dP[t, u] - sum_u' P[t, u'] dP[t, u'])
        for (int64_t t = r0; t < r1; ++t) {
          const float* pr = P + t * T;
          float* ds = dS + t * T;
          double pdp = 0.0;
          for (int64_t u = 0; u <= t; ++u) pdp += double(pr[u]) * ds[u];
          const float c = static_cast<float>(pdp);
          for (int64_t u = 0; u <= t; ++u) ds[u] = pr[u] * (ds[u] - c) * s.scale;
          std::fill(ds + t + 1, ds + r1, 0.f);
        }
        // dQ[r0:r1] = dS[r0:r1, 0:r1] K[0:r1]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(r1 - r0), hd, int(r1), 1.f,
                    dS + r0 * T, int(T), K, ks, 0.f, dQ + r0 * qs, qs);
      }
      // Keys [c0, c1) receive from queries [c0, T): dV += P^T dO, dK += dS^T Q over that slab.
      for (int64_t c0 = 0; c0 < T; c0 += kBlock) {
        const int64_t c1 = std::min(T, c0 + kBlock);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(c1 - c0), hd, int(T - c0), 1.f,
                    P + c0 * T + c0, int(T), dO + c0 * qs, qs, beta, dV + c0 * ks, ks);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(c1 - c0), hd, int(T - c0), 1.f,
                    dS + c0 * T + c0, int(T), Q + c0 * qs, qs, beta, dK + c0 * ks, ks);
      }
    }
  }
}

}  // namespace precis::train
